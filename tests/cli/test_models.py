"""`guardian models pull` with files copied by hand, and the scorer warning said once."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from guardian.scoring import detox
from tests.commands import GUARDIAN, env_for, run
from tests.conftest import ROOT
from tests.detoxify_tiny import build_tiny_checkpoint


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download fails the test: a copy made by hand is never fetched again."""
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("guardian models pull downloaded over a copy made by hand")

    monkeypatch.setattr(detox, "_download", refuse)
    monkeypatch.setattr(detox, "_fetch_config", refuse)


def _copy_by_hand(models: Path, variant: str, files: tuple[Path, Path]) -> Path:
    target = models / variant
    target.mkdir(parents=True)
    shutil.copy(files[0], target / "checkpoint.ckpt")
    shutil.copytree(files[1], target / "hf")
    return target


def test_pull_checks_and_records_a_copy_made_by_hand(tmp_path: Path, no_download: None
                                                     ) -> None:
    target = _copy_by_hand(tmp_path / "models", "original",
                           build_tiny_checkpoint(tmp_path / "tiny", "original"))
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"),
                  GUARDIAN_DETOXIFY_VARIANT="original")
    pulled = run("models", "pull", "original", env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.startswith(f"original: the files copied into {target} are the "
                                    "original model's")
    assert "nothing was downloaded" in pulled.stdout
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["variant"] == "original" and manifest["copied_by_hand"] is True
    # Recorded, the copy is what the scorer loads; pulled again, it is simply ready.
    scored = run("score", "--scorer", "detoxify", "kalomi ne", env=env)
    assert scored.returncode == 0, scored.stderr
    assert "scorer: detoxify original" in scored.stdout and "warning" not in scored.stderr
    again = run("models", "pull", "original", env=env)
    assert again.returncode == 0 and again.stdout.startswith("original is ready in ")


@pytest.mark.parametrize(("variant", "said"), [
    ("original", "original/hf/config.json is missing: copy the config.json and tokenizer "
                 "files of bert-base-uncased into "),
    ("multilingual", "multilingual/checkpoint.ckpt looks like the Detoxify original "
                     "checkpoint"),
], ids=["no config.json", "another variant"])
def test_pull_refuses_a_broken_copy_in_one_sentence(tmp_path: Path, no_download: None,
                                                    variant: str, said: str) -> None:
    # An original checkpoint and config: without its config.json, or in multilingual/.
    target = _copy_by_hand(tmp_path / "models", variant,
                           build_tiny_checkpoint(tmp_path / "tiny", "original"))
    if variant == "original":
        (target / "hf" / "config.json").unlink()
    refused = run("models", "pull", variant, env=env_for(
        GUARDIAN_MODELS_DIR=str(tmp_path / "models")))
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path / 'models'}/{said}") and line.endswith(".")
    assert not (target / "manifest.json").exists()


def test_score_without_weights_warns_once(tmp_path: Path) -> None:
    """The lite fallback is said once: by the command, not again by the scorer's log through
    Python's last-resort handler (a real process: pytest's own log handlers would hide it)."""
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    shown = subprocess.run([*GUARDIAN, "score", "hola"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120, check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.count("guardian models pull multilingual") == 1, shown.stderr
    assert shown.stderr.startswith("warning: Detoxify multilingual weights are not at ")
