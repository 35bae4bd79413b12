"""OnnxDetoxifyModel on the tiny checkpoints: the same scores as torch, its files and when
they are made again, the setting that picks it."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from pathlib import Path

import pytest

from guardian.config.settings import Settings, load_settings
from guardian.errors import ConfigError
from guardian.scoring import detox_onnx
from guardian.scoring.detox import DetoxifyModel, ModelUnavailable
from guardian.scoring.detox_onnx import OnnxDetoxifyModel
from guardian.scoring.types import Model
from guardian.types import LABELS, LabelScores
from tests.commands import env_for, run
from tests.detoxify_tiny import TinyVariant, build_tiny_checkpoint, tiny_words

VARIANTS: tuple[TinyVariant, ...] = ("original", "multilingual")
WORDS = tiny_words()
SHORT = ["kalomi ne", "", "Sato rukami, vize!", " ".join(WORDS[:9]),
         "Un texto corto en español.", " ".join(WORDS[50:60]), "   "]
# Longer than the tiny models' 128-token window: scored in several windows.
LONG = " ".join(WORDS + WORDS[::-1])
# ONNX fp32 against torch fp32, on every probability (measured: 3e-7).
FP32_TOLERANCE = 1e-3
# ONNX int8 against torch fp32 on the tiny models (measured on 400 random texts: at most
# 0.013 for BERT and 0.018 for XLM-R; torch's own int8 is 0.024 and 0.026 away there).
INT8_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("tiny-onnx")
    return {v: build_tiny_checkpoint(root / v, v) for v in VARIANTS}


@pytest.fixture(scope="module")
def torch_models(tiny: dict[str, tuple[Path, Path]]) -> dict[str, DetoxifyModel]:
    return {v: DetoxifyModel(v, checkpoint=ck, config_dir=cd) for v, (ck, cd) in tiny.items()}


@pytest.fixture(scope="module")
def onnx_models(tiny: dict[str, tuple[Path, Path]]
                ) -> dict[tuple[str, bool], OnnxDetoxifyModel]:
    for variant, (checkpoint, config_dir) in tiny.items():
        detox_onnx.export(variant, checkpoint, config_dir)
    return {(v, q): OnnxDetoxifyModel(v, checkpoint=ck, config_dir=cd, quantize=q,
                                      export_missing=False)
            for v, (ck, cd) in tiny.items() for q in (False, True)}


def max_difference(a: list[LabelScores], b: list[LabelScores]) -> float:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert tuple(x) == tuple(y) == LABELS
    return max(abs(x[label] - y[label]) for x, y in zip(a, b, strict=True) for label in LABELS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_fp32_scores_match_torch_on_every_label(
        onnx_models: dict[tuple[str, bool], OnnxDetoxifyModel],
        torch_models: dict[str, DetoxifyModel], variant: str) -> None:
    onnx, reference = onnx_models[(variant, False)], torch_models[variant]
    texts = [*SHORT, LONG]
    assert len(onnx.windows([LONG])[0]) > 2  # the long text is windowed
    assert max_difference(onnx.score(texts), reference.score(texts)) <= FP32_TOLERANCE
    # One text at a time, as in a single-message batch.
    assert max_difference([onnx.score([t])[0] for t in texts],
                          reference.score(texts)) <= FP32_TOLERANCE
    # Labels the checkpoint lacks are 0.0 on both (original: no sexual_explicit).
    if variant == "original":
        assert all(row["sexual_explicit"] == 0.0 for row in onnx.score(texts))


@pytest.mark.parametrize("variant", VARIANTS)
def test_fp32_matches_torch_with_small_windows_and_batches(
        tiny: dict[str, tuple[Path, Path]], onnx_models: dict[tuple[str, bool], object],
        variant: str) -> None:
    # Many windows per text, windows of one text in different passes, passes of 1 to 64.
    checkpoint, config_dir = tiny[variant]
    texts = [*SHORT, LONG, " ".join(reversed(WORDS[:70]))]
    reference = DetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir,
                              window=16, overlap=4).score(texts)
    for batch_size, threads in ((1, 2), (5, 1), (5, 3), (64, 2)):
        # Passes one after the other (1 thread) or side by side: the same scores.
        onnx = OnnxDetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir,
                                 window=16, overlap=4, batch_size=batch_size, threads=threads)
        assert (onnx.window, onnx.overlap, onnx.workers) == (16, 4, threads)
        assert max_difference(onnx.score(texts), reference) <= FP32_TOLERANCE
    # One pass (windows of one length) is cut into parts, one per core: the same scores.
    onnx = OnnxDetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir, threads=2)
    by_length: dict[int, list[str]] = {}
    for start in range(0, 190, 3):
        text = " ".join(WORDS[start:start + 8])
        by_length.setdefault(len(onnx.windows([text])[0][0]), []).append(text)
    same = max(by_length.values(), key=len)[:5]
    assert len(same) >= 3
    reference = DetoxifyModel(variant, checkpoint=checkpoint, config_dir=config_dir).score(same)
    assert len(list(onnx._batches(onnx.windows(same)[0]))) == 1
    assert max_difference(onnx.score(same), reference) <= FP32_TOLERANCE


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty_batches_and_empty_texts(
        onnx_models: dict[tuple[str, bool], OnnxDetoxifyModel],
        torch_models: dict[str, DetoxifyModel], variant: str) -> None:
    onnx = onnx_models[(variant, False)]
    assert onnx.score([]) == []
    blank = ["", " ", "\n"]
    assert max_difference(onnx.score(blank), torch_models[variant].score(blank)) <= (
        FP32_TOLERANCE)


@pytest.mark.parametrize("variant", VARIANTS)
def test_int8_stays_within_its_tolerance(
        onnx_models: dict[tuple[str, bool], OnnxDetoxifyModel],
        torch_models: dict[str, DetoxifyModel], variant: str) -> None:
    int8 = onnx_models[(variant, True)]
    texts = [*SHORT, LONG, *(" ".join(WORDS[i:i + 12]) for i in range(0, 180, 6))]
    scores = int8.score(texts)
    assert all(0.0 <= p <= 1.0 for row in scores for p in row.values())
    assert max_difference(scores, torch_models[variant].score(texts)) <= INT8_TOLERANCE


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_model_says_its_runtime(onnx_models: dict[tuple[str, bool], OnnxDetoxifyModel],
                                    torch_models: dict[str, DetoxifyModel],
                                    variant: str) -> None:
    fp32, int8 = onnx_models[(variant, False)], onnx_models[(variant, True)]
    model: Model = fp32
    assert (model.name, model.variant) == ("detoxify", variant)
    assert model.languages == torch_models[variant].languages
    base = torch_models[variant].version
    assert (fp32.version, int8.version) == (f"{base}+onnx", f"{base}+onnx-int8")
    assert (fp32.path.name, int8.path.name) == ("model.onnx", "model.int8.onnx")
    assert fp32.window == torch_models[variant].window == 128


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _other_weights(checkpoint: Path) -> None:
    """The same model with another classifier: what a new release of a checkpoint is."""
    import torch

    loaded = torch.load(checkpoint, weights_only=False)
    for key, tensor in loaded["state_dict"].items():
        if key.startswith("classifier."):
            loaded["state_dict"][key] = tensor * 1.5 + 0.1
    torch.save(loaded, checkpoint)


def test_the_export_records_its_checkpoint_and_is_made_once(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    checkpoint = tmp_path / "multilingual.ckpt"
    shutil.copy(tiny["multilingual"][0], checkpoint)
    config_dir = tiny["multilingual"][1]
    first = detox_onnx.export("multilingual", checkpoint, config_dir)
    assert first.exported and first.directory == tmp_path / "onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multilingual.ckpt", "onnx"]
    assert sorted(p.name for p in first.directory.iterdir()) == [
        "manifest.json", "model.int8.onnx", "model.onnx"]
    manifest = detox_onnx.read_manifest(first.directory)
    assert manifest["source"]["checkpoint_sha256"] == _sha256(checkpoint)
    assert manifest["source"]["config_sha256"] == _sha256(config_dir / "config.json")
    assert manifest["class_names"] == ["toxicity", "severe_toxicity", "obscene",
                                       "identity_attack", "insult", "threat",
                                       "sexual_explicit"]
    assert manifest["outputs"] == 16 and manifest["positions"] == 128
    assert manifest["max_difference_from_torch"]["model.onnx"] <= FP32_TOLERANCE
    assert manifest["max_difference_from_torch"]["model.int8.onnx"] <= INT8_TOLERANCE
    # Current: not made again; a copy of the same file (new mtime) is recognised by its hash.
    assert not detox_onnx.export("multilingual", checkpoint, config_dir).exported
    checkpoint.write_bytes(checkpoint.read_bytes())
    assert detox_onnx.stale_reason(checkpoint, config_dir, manifest) is None
    forced = detox_onnx.export("multilingual", checkpoint, config_dir, force=True)
    assert forced.exported and forced.reason == "asked to (--force)"


def test_a_changed_checkpoint_is_exported_again_at_load(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    checkpoint = tmp_path / "original.ckpt"
    shutil.copy(tiny["original"][0], checkpoint)
    config_dir = tiny["original"][1]
    with pytest.raises(ModelUnavailable, match=r"ONNX export .* is not usable \(there is "
                       r"none\): run `guardian models export original`"):
        OnnxDetoxifyModel("original", checkpoint=checkpoint, config_dir=config_dir,
                          export_missing=False)
    detox_onnx.export("original", checkpoint, config_dir)
    before = detox_onnx.read_manifest(tmp_path / "onnx")
    # Other weights under the same name: the export is another checkpoint's now.
    _other_weights(checkpoint)
    reason = detox_onnx.stale_reason(checkpoint, config_dir, before)
    assert reason == f"made from another checkpoint than {checkpoint}"
    with caplog.at_level(logging.WARNING, logger="guardian.scoring.detox_onnx"):
        model = OnnxDetoxifyModel("original", checkpoint=checkpoint, config_dir=config_dir)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert f"({reason}); exporting it now" in caplog.records[0].getMessage()
    after = detox_onnx.read_manifest(tmp_path / "onnx")
    assert after["source"]["checkpoint_sha256"] == _sha256(checkpoint) != (
        before["source"]["checkpoint_sha256"])
    reference = DetoxifyModel("original", checkpoint=checkpoint, config_dir=config_dir)
    assert max_difference(model.score(SHORT), reference.score(SHORT)) <= FP32_TOLERANCE


def test_two_processes_starting_at_once_export_once(tiny: dict[str, tuple[Path, Path]],
                                                    tmp_path: Path) -> None:
    checkpoint = tmp_path / "original.ckpt"
    shutil.copy(tiny["original"][0], checkpoint)
    results: list[detox_onnx.ExportResult] = []

    def export() -> None:
        results.append(detox_onnx.export("original", checkpoint, tiny["original"][1]))

    threads = [threading.Thread(target=export) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.exported for r in results) == [False, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onnx", "original.ckpt"]


def _as_cache(cache: Path, variant: str, checkpoint: Path, config_dir: Path) -> Path:
    target = cache / variant
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(checkpoint, target / "checkpoint.ckpt")
    shutil.copytree(config_dir, target / "hf", dirs_exist_ok=True)
    return target


def test_pull_of_a_copy_made_by_hand_exports_and_redoes_it_for_another_checkpoint(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    target = _as_cache(tmp_path, "multilingual", *tiny["multilingual"])
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path))
    pulled = run("models", "pull", "multilingual", env=env)  # adopted: nothing downloaded
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.splitlines()[-1].startswith(
        f"multilingual: ONNX Runtime files in {target / 'onnx'}: model.onnx (")
    recorded = json.loads((target / "manifest.json").read_text())
    manifest = detox_onnx.read_manifest(target / "onnx")
    assert manifest["source"]["checkpoint_sha256"] == recorded["sha256"]
    assert {"model.onnx", "model.int8.onnx"} <= {p.name for p in (target / "onnx").iterdir()}
    # The service loads the export without making it again.
    model = OnnxDetoxifyModel("multilingual", cache_dir=tmp_path, export_missing=False)
    assert model.version == f"{DetoxifyModel('multilingual', cache_dir=tmp_path).version}+onnx"
    # Pulled again: current, so not exported again.
    again = run("models", "pull", "multilingual", env=env)
    assert again.returncode == 0 and "exporting" not in again.stderr
    # Another checkpoint copied in by hand: adopted again, and exported again.
    _other_weights(target / "checkpoint.ckpt")
    (target / "manifest.json").unlink()
    redone = run("models", "pull", "multilingual", env=env)
    assert redone.returncode == 0, redone.stderr
    assert "(current export: made from another checkpoint than " in redone.stderr
    after = detox_onnx.read_manifest(target / "onnx")
    assert after["source"]["checkpoint_sha256"] == _sha256(target / "checkpoint.ckpt") != (
        manifest["source"]["checkpoint_sha256"])


def test_pull_for_the_torch_runtime_exports_nothing(tiny: dict[str, tuple[Path, Path]],
                                                    tmp_path: Path) -> None:
    target = _as_cache(tmp_path, "original", *tiny["original"])
    pulled = run("models", "pull", "original", env=env_for(
        GUARDIAN_MODELS_DIR=str(tmp_path), GUARDIAN_DETOXIFY_RUNTIME="torch"))
    assert pulled.returncode == 0, pulled.stderr
    assert (target / "manifest.json").is_file() and not (target / "onnx").exists()


def test_models_export_makes_the_files_of_an_offline_checkpoint(
        tiny: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    checkpoint = tmp_path / "offline" / "original.ckpt"
    checkpoint.parent.mkdir()
    shutil.copy(tiny["original"][0], checkpoint)
    env = env_for(GUARDIAN_MODELS_DIR=str(tmp_path / "models"),
                  GUARDIAN_DETOXIFY_VARIANT="original",
                  GUARDIAN_DETOXIFY_CHECKPOINT=str(checkpoint),
                  GUARDIAN_DETOXIFY_CONFIG_DIR=str(tiny["original"][1]))
    made = run("models", "export", env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"original: ONNX Runtime files in {checkpoint.parent / 'onnx'}"
                                  ": model.onnx (")
    assert made.stderr.startswith(f"original: exporting {checkpoint} to ONNX Runtime "
                                  "(current export: there is none)")
    again = run("models", "export", "original", env=env)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    scored = run("score", "--scorer", "detoxify", "kalomi ne", env=env)
    assert scored.returncode == 0, scored.stderr
    assert "scorer: detoxify original" in scored.stdout
    # No weights pulled and none named: the error says which command fetches them.
    missing = run("models", "export", "multilingual", env=env_for(
        GUARDIAN_MODELS_DIR=str(tmp_path / "models")))
    assert missing.returncode == 1
    assert "run `guardian models pull multilingual`" in missing.stderr


def test_the_runtime_setting_is_validated() -> None:
    base = {"GUARDIAN_ENV": "development"}
    assert load_settings(base).detoxify_runtime == "onnx"
    assert load_settings({**base, "GUARDIAN_DETOXIFY_RUNTIME": "torch"}).detoxify_runtime == (
        "torch")
    with pytest.raises(ConfigError) as caught:
        load_settings({**base, "GUARDIAN_DETOXIFY_RUNTIME": "tensorflow"})
    assert caught.value.problems == [
        "GUARDIAN_DETOXIFY_RUNTIME: expected `onnx` or `torch`, got 'tensorflow'."]


@pytest.mark.parametrize(("runtime", "quantize", "kind", "suffix"), [
    ("onnx", False, OnnxDetoxifyModel, "+onnx"),
    ("onnx", True, OnnxDetoxifyModel, "+onnx-int8"),
    ("torch", False, DetoxifyModel, ""),
])
def test_load_model_runs_the_configured_runtime(
        tiny: dict[str, tuple[Path, Path]], onnx_models: object, tmp_path: Path, runtime: str,
        quantize: bool, kind: type, suffix: str) -> None:
    from guardian.scoring.select import load_model

    checkpoint, config_dir = tiny["multilingual"]
    settings = Settings(scorer="detoxify", detoxify_variant="multilingual",
                        models_dir=tmp_path / "models", detoxify_checkpoint=checkpoint,
                        detoxify_config_dir=config_dir, detoxify_quantize=quantize,
                        detoxify_runtime=runtime)  # type: ignore[arg-type]
    model, status = load_model(settings)
    assert type(model) is kind
    assert status.active == "detoxify" and status.version == model.version
    assert model.version.endswith(f"+multilingual-{_sha256(checkpoint)[:8]}{suffix}")
