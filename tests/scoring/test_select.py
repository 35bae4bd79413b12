"""The service with Detoxify: an offline checkpoint is found, loaded once and used."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from guardian.config.settings import Settings
from guardian.types import Role
from guardian.web.app import init_app
from tests.conftest import AiohttpClient, bearer, message, with_settings
from tests.detoxify_tiny import build_tiny_checkpoint


async def test_the_service_scores_with_detoxify_when_its_weights_are_present(
        aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path,
        tokens: dict[Role, str]) -> None:
    checkpoint, config_dir = build_tiny_checkpoint(tmp_path / "tiny", "multilingual")
    client = await aiohttp_client(init_app(with_settings(
        settings, detoxify_variant="multilingual", detoxify_checkpoint=checkpoint,
        detoxify_config_dir=config_dir)))
    health = await (await client.get("/health")).json()
    scorer = health["checks"]["scorer"]
    assert scorer["info"]["active"] == "detoxify"
    assert scorer["info"]["variant"] == "multilingual"
    assert "es" in scorer["info"]["languages"]
    assert scorer["detail"] == "detoxify multilingual is active."

    posted = await client.post("/api/v1/messages", headers=bearer(tokens[Role.ingest]),
                               json=message("d1", text="La farola sigue rota, sois unos "
                                            "inútiles"))
    message_id = (await posted.json())["ids"][0]
    body: dict[str, Any] = {}
    for _ in range(200):
        body = await (await client.get(f"/api/v1/messages/{message_id}",
                                       headers=bearer(tokens[Role.moderator]))).json()
        if body["assessment"] is not None:
            break
        await asyncio.sleep(0.05)
    assessment = body["assessment"]
    assert assessment["scorer"]["name"] == "detoxify"
    assert assessment["scorer"]["variant"] == "multilingual"
    # Random weights decide nothing useful; the lexicon still catches the insult.
    assert assessment["masked_text"] == "La farola sigue rota, sois unos [insulto]"
    assert all(0.0 <= v <= 1.0 for v in assessment["labels"].values())


# --- choosing the scorer: `load_model` and `ScorerStatus`, directly ------------------------
# (Imports inside the tests: this section is appended to the module above.)

def test_lite_is_used_when_asked_for_and_its_limitations_are_said(tmp_path: Path) -> None:
    from guardian.scoring.lite import LIMITATIONS
    from guardian.scoring.select import load_model

    model, status = load_model(Settings(scorer="lite", models_dir=tmp_path / "models"))
    assert model.name == "lite"
    assert (status.choice, status.active) == ("lite", "lite")
    assert status.languages == ("en", "es")
    assert status.limitations == LIMITATIONS
    assert "English and Spanish only" in (status.limitations or "")
    # Asked for on purpose: nothing to warn about, and no attributor beside it.
    assert status.warning is None and status.attributor is None


def test_the_choice_passed_in_wins_over_the_setting(tmp_path: Path) -> None:
    from guardian.scoring.select import load_model

    settings = Settings(scorer="detoxify", models_dir=tmp_path / "models")
    model, status = load_model(settings, "lite")
    assert model.name == "lite" and status.choice == "lite" and status.warning is None


def test_auto_without_weights_falls_back_to_lite_and_says_how_to_fix_it(
        tmp_path: Path) -> None:
    import logging

    from guardian.scoring.lite import LIMITATIONS
    from guardian.scoring.select import load_model

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("guardian.scoring.select")
    handler = Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        model, status = load_model(Settings(scorer="auto", models_dir=tmp_path / "models"))
    finally:
        logger.removeHandler(handler)
    assert model.name == "lite"
    assert (status.choice, status.active) == ("auto", "lite")
    assert status.warning is not None
    assert "`guardian models pull multilingual`" in status.warning
    assert str(tmp_path / "models" / "multilingual") in status.warning
    assert "Until then the lite scorer runs." in status.warning
    assert status.limitations == LIMITATIONS and LIMITATIONS in status.warning
    # The operator sees it in the log too.
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "guardian models pull multilingual" in records[0].getMessage()


def test_auto_names_the_variant_to_pull(tmp_path: Path) -> None:
    from guardian.scoring.select import load_model

    _, status = load_model(Settings(scorer="auto", detoxify_variant="original",
                                    models_dir=tmp_path / "models"))
    assert status.active == "lite"
    assert "`guardian models pull original`" in (status.warning or "")


def test_detoxify_without_weights_refuses_to_start_and_names_the_fix(tmp_path: Path) -> None:
    import pytest

    from guardian.errors import ScorerUnavailable
    from guardian.scoring.select import load_model

    settings = Settings(scorer="detoxify", models_dir=tmp_path / "models")
    with pytest.raises(ScorerUnavailable) as raised:
        load_model(settings)
    text = str(raised.value)
    assert text.startswith("Detoxify multilingual weights are not at ")
    assert str(tmp_path / "models" / "multilingual") in text
    assert "run `guardian models pull multilingual`" in text
    assert "GUARDIAN_DETOXIFY_CHECKPOINT" in text and "GUARDIAN_DETOXIFY_CONFIG_DIR" in text
    assert text.endswith(".")


def test_half_pulled_weights_count_as_missing(tmp_path: Path) -> None:
    """A checkpoint without its config directory (an interrupted pull, a copy missing a
    folder) is no Detoxify: `auto` says so, `detoxify` refuses."""
    import pytest

    from guardian.errors import ScorerUnavailable
    from guardian.scoring.select import load_model

    pulled = tmp_path / "models" / "multilingual"
    pulled.mkdir(parents=True)
    (pulled / "checkpoint.ckpt").write_bytes(b"not really weights")
    _, status = load_model(Settings(scorer="auto", models_dir=tmp_path / "models"))
    assert status.active == "lite" and "guardian models pull" in (status.warning or "")

    offline = tmp_path / "offline.ckpt"
    offline.write_bytes(b"not really weights")
    with pytest.raises(ScorerUnavailable, match="guardian models pull original") as raised:
        load_model(Settings(scorer="detoxify", detoxify_variant="original",
                            models_dir=tmp_path / "models", detoxify_checkpoint=offline,
                            detoxify_config_dir=tmp_path / "no-such-dir"))
    assert str(offline) in str(raised.value)


def test_auto_with_weights_runs_detoxify_without_a_warning(tmp_path: Path) -> None:
    from guardian.scoring.select import load_model

    checkpoint, config_dir = build_tiny_checkpoint(tmp_path / "tiny", "original")
    model, status = load_model(Settings(
        scorer="auto", detoxify_variant="original", models_dir=tmp_path / "models",
        detoxify_checkpoint=checkpoint, detoxify_config_dir=config_dir))
    assert model.name == "detoxify"
    assert (status.choice, status.active, status.variant) == ("auto", "detoxify", "original")
    assert status.languages == ("en",)
    assert status.warning is None and status.limitations is None
    # The lite model stays beside it, to find the words to mask.
    assert status.attributor is not None and status.attributor.name == "lite"
