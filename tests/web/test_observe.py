"""/health, /metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.schemas import MessageIn
from guardian.storage.db import utcnow
from guardian.storage.messages import store_messages
from guardian.types import Role
from guardian.web.access import is_web_page
from guardian.web.app import init_app
from guardian.web.openapi import build_openapi
from tests.conftest import AiohttpClient, Client, Database, bearer, message, with_settings


async def test_health_reports_each_part_without_secrets(client: Client) -> None:
    response = await client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"backlog", "channels", "connectors", "database",
                                   "migrations", "queue", "scorer", "policies", "worker"}
    assert body["checks"]["migrations"]["info"]["current"] == body["checks"]["migrations"][
        "info"]["head"]
    assert body["checks"]["policies"]["info"]["summary"]["staff"] == 8
    # The scorer says plainly what it is and what it cannot do.
    scorer = body["checks"]["scorer"]
    assert scorer["info"]["active"] == "lite"
    assert scorer["info"]["languages"] == ["en", "es"]
    assert "guardian models pull multilingual" in scorer["detail"]
    assert "Detoxify is much better" in scorer["info"]["limitations"]


async def test_health_never_shows_the_database_password(
        aiohttp_client: AiohttpClient, settings: Settings, database: Database,
        caplog: pytest.LogCaptureFixture) -> None:
    if database.kind == "sqlite":
        url = database.url
        secret = "development-only"
    else:
        # Trust authentication ignores the password, so this URL still connects.
        secret = "s3cret-Pa55word"
        url = make_url(database.url).set(password=secret).render_as_string(
            hide_password=False)
    caplog.set_level(logging.DEBUG)
    client = await aiohttp_client(init_app(with_settings(settings, database_url=url),
                                           run_worker=False))
    text = await (await client.get("/health")).text()
    assert secret not in text
    assert settings.secret_key not in text
    assert secret not in caplog.text


async def test_health_is_503_when_policies_do_not_load(
        aiohttp_client: AiohttpClient, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "staff.yaml").write_text("staff:\n  - id: ana\n    name: Ana\n")
    client = await aiohttp_client(init_app(with_settings(settings, policies_dir=tmp_path),
                                           run_worker=False))
    response = await client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "degraded"
    policies = body["checks"]["policies"]
    assert policies["ok"] is False
    assert any("staff.yaml:2" in e for e in policies["info"]["errors"])


async def test_metrics_show_stages_queue_depth_and_latency(
        live_client: Client, tokens: dict[Role, str]) -> None:
    await live_client.post("/api/v1/messages", json=[message("1"), message("2")],
                           headers=bearer(tokens[Role.ingest]))
    text = ""
    for _ in range(100):
        text = await (await live_client.get("/metrics", headers=bearer(tokens[Role.admin]))
                      ).text()
        if 'guardian_messages{stage="notified"} 2.0' in text:
            break
        await asyncio.sleep(0.05)
    assert 'guardian_messages{stage="notified"} 2.0' in text
    assert 'guardian_messages{stage="received"} 0.0' in text
    assert "guardian_queue_depth 0.0" in text
    assert 'guardian_stage_seconds_bucket{le="0.001",stage="scored"}' in text
    assert "guardian_pipeline_seconds_count" in text
    assert "guardian_messages_ingested_total" in text
    # Each engine job's rounds and work, by name (the loop counts them).
    assert 'guardian_job_work_total{job="pipeline"}' in text
    assert 'guardian_job_round_seconds_count{job="sender"}' in text
    assert "_created" not in text


async def test_openapi_is_valid_and_matches_the_routes(client: Client,
                                                       tokens: dict[Role, str]) -> None:
    response = await client.get("/api/v1/openapi.json", headers=bearer(tokens[Role.staff]))
    document = await response.json()
    validate(document)
    assert document == build_openapi(client.app)
    served = {(r.method.lower(), r.resource.canonical) for r in client.app.router.routes()
              if r.method != "HEAD" and r.resource is not None
              and not is_web_page(r.handler)}  # web pages are for people, not the API
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert served == documented
    assert document["paths"]["/health"]["get"]["security"] == []
    assert document["paths"]["/api/v1/messages"]["post"]["x-roles"] == ["admin", "ingest"]
    assert document["paths"]["/metrics"]["get"]["x-roles"] == ["admin"]
    flag = document["paths"]["/api/v1/messages/{id}/flag"]["post"]
    assert flag["x-roles"] == ["admin", "hr", "moderator", "staff"]
    assert flag["requestBody"]["required"] is False and "202" in flag["responses"]
    # The links in notifications open pages for people (guardian/web/ui), not the API.
    assert not {"/flag/{token}", "/m/{token}", "/ack/{token}"} & set(document["paths"])
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


async def test_health_warns_of_channel_secrets_that_are_not_set(
        aiohttp_client: AiohttpClient, settings: Settings) -> None:
    """The example town's mail channels need SMTP_PASSWORD, which the tests do not set:
    /health says so at once (people and variable names only), and stays ok; with every
    notification redirected (GUARDIAN_DELIVER_TO, development), it is no warning."""
    live = await aiohttp_client(init_app(with_settings(settings, deliver_to=""),
                                         run_worker=False))
    response = await live.get("/health")
    body = await response.json()
    channels = body["checks"]["channels"]
    assert response.status == 200 and channels["ok"] is True
    assert channels["detail"].startswith("warning")
    assert "antonio: SMTP_PASSWORD" in channels["info"]["missing"]
    redirected = await aiohttp_client(init_app(settings, run_worker=False))
    detail = (await (await redirected.get("/health")).json())["checks"]["channels"]["detail"]
    assert not detail.startswith("warning") and "GUARDIAN_DELIVER_TO" in detail


async def test_a_backlog_on_a_failing_channel_shows_in_health_and_metrics(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    from guardian.storage import outbox
    from guardian.storage.db import utcnow
    due = utcnow() - dt.timedelta(minutes=30)
    async with engine.begin() as conn:
        made = await outbox.enqueue(conn=conn, recipient="antonio", kind="deliver",
                                    body="La farola", due_at=due, idempotency_key="d:1")
        await conn.execute(outbox.notifications_table.update()
                           .where(outbox.notifications_table.c.id == made.id)
                           .values(attempts=2, last_error="connection refused"))
    body = await (await client.get("/health")).json()
    backlog = body["checks"]["backlog"]
    assert backlog["info"]["channels"]["json"]["count"] == 1
    assert backlog["info"]["channels"]["json"]["oldest_seconds"] >= 29 * 60
    assert "json 1 (oldest 3" in backlog["detail"]
    text = await (await client.get("/metrics", headers=bearer(tokens[Role.admin]))).text()
    assert 'guardian_notification_backlog{channel="json"} 1.0' in text


async def test_health_and_metrics_tell_how_far_behind_the_pipeline_is(
        client: Client, engine: AsyncEngine, tokens: dict[Role, str]) -> None:
    """Back-pressure told honestly: the depth and the oldest waiting message's age, a
    warning past the policy's `queue.warn_after_minutes` (5 by default), never a 503 (a
    busy service still takes messages in)."""
    quiet = (await (await client.get("/health")).json())["checks"]["queue"]
    assert quiet["detail"] == "no message waits." and quiet["info"]["depth"] == 0
    async with engine.begin() as conn:
        await store_messages(conn=conn, now=utcnow() - dt.timedelta(minutes=12), messages=[
            MessageIn.model_validate(message(str(n))) for n in range(3)])
    answer = await client.get("/health")
    assert answer.status == 200
    queue = (await answer.json())["checks"]["queue"]
    assert queue["info"]["depth"] == 3
    assert 12 * 60 <= queue["info"]["oldest_seconds"] < 13 * 60
    assert queue["detail"].startswith("warning: behind: 3 message(s) waiting, the oldest "
                                      "for 12 min")
    scraped = await (await client.get("/metrics", headers=bearer(tokens[Role.admin]))).text()
    [oldest] = [line for line in scraped.splitlines()
                if line.startswith("guardian_queue_oldest_seconds ")]
    assert 12 * 60 <= float(oldest.split()[1]) < 13 * 60
    assert "guardian_queue_depth 3.0" in scraped
