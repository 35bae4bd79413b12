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
