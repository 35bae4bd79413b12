"""`/health` (no token, no secrets) and `/metrics` (Prometheus, admin token)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from guardian import __version__, metrics
from guardian.config.secrets import secret_source
from guardian.connectors.status import connector_report
from guardian.notify.channels import missing_secrets
from guardian.policy.model import Policy
from guardian.schemas import HealthCheck, HealthResponse
from guardian.storage.connectors import connector_states
from guardian.storage.db import dialect_name, utcnow
from guardian.storage.messages import count_by_stage, oldest_waiting, pending_count
from guardian.storage.migrate import current_revision, head_revision
from guardian.storage.notifications import backlog, count_by_status
from guardian.types import Role
from guardian.web.access import public, requires
from guardian.web.keys import (
    clock_key,
    engine_key,
    policy_key,
    scorer_key,
    scoring_key,
    settings_key,
    worker_key,
)

routes = web.RouteTableDef()


async def _database(app: web.Application) -> tuple[HealthCheck, HealthCheck]:
    engine = app[engine_key]
    dialect = dialect_name(app[settings_key].database_url)
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            current = await current_revision(engine)
    except Exception as exc:
        down = HealthCheck(ok=False, detail=f"{dialect} is not answering: {type(exc).__name__}.",
                           info={"dialect": dialect})
        return down, HealthCheck(ok=False, detail="unknown: the database is not answering.")
    head = head_revision()
    database = HealthCheck(ok=True, detail=f"{dialect} answers.", info={"dialect": dialect})
    migrations = HealthCheck(
        ok=current == head,
        detail="up to date." if current == head else
        f"at {current or 'nothing'}, expected {head}: run `guardian db upgrade`.",
        info={"current": current, "head": head},
    )
    return database, migrations


async def _backlog(app: web.Application, policy: Policy | None
                   ) -> dict[str, dict[str, float]]:
    """Per channel scheme: notifications due and not sent after failures, and the age in
    seconds of the oldest (a channel down shows here before anyone complains)."""
    now = utcnow()
    rows = await backlog(engine=app[engine_key], now=now)
    settings = app[settings_key]
    found: dict[str, dict[str, float]] = {}
    for recipient, index, count, oldest in rows:
        person = policy.people.get(recipient) if policy is not None else None
        channels = ([settings.deliver_to] if settings.deliver_to else
                    list(person.channels) if person is not None else [])
        label = metrics.channel_label(channels[index]) if index < len(channels) else "unknown"
        entry = found.setdefault(label, {"count": 0, "oldest_seconds": 0.0})
        entry["count"] += count
        entry["oldest_seconds"] = max(entry["oldest_seconds"], (now - oldest).total_seconds())
    return found


def _channels_check(app: web.Application, policy: Policy | None) -> HealthCheck:
    """Channels whose `{env:NAME}` secrets are not set: they will fail when used, so say so
    now (names of people and variables only, never a value). A warning, not a failure:
    the service runs, and the other channels work."""
    if policy is None:
        return HealthCheck(ok=True, detail="no policy loaded: nothing to check.")
    environ = secret_source(app[settings_key])
    missing = sorted({f"{person.id}: {name}" for person in policy.staff
                      for channel in person.channels
                      for name in missing_secrets(channel, environ)})
    if not missing:
        return HealthCheck(ok=True, detail="every channel's {env:…} secret is set.")
    if app[settings_key].deliver_to:
        return HealthCheck(ok=True, detail=f"people's channels are not used (every "
                           f"notification goes to GUARDIAN_DELIVER_TO); {len(missing)} of "
                           "their secrets would be missing.", info={"missing": missing[:50]})
    return HealthCheck(ok=True, detail=f"warning: {len(missing)} channel secret(s) are not "
                       "set in the environment or the secrets file; those channels will fail "
                       "(`guardian channels test ID` to try one).",
                       info={"missing": missing[:50]})


async def _connectors_check(app: web.Application, policy: Policy | None) -> HealthCheck:
    """The feeds: a failing one is a warning (the service runs; citizens can still be
    heard on the others), said with its error so an admin can act."""
    if policy is None or not policy.connectors:
        return HealthCheck(ok=True, detail="no connectors in the policy.")
    try:
        states = await connector_states(engine=app[engine_key])
    except Exception:  # the database check says what is wrong with it
        states = []
    report = connector_report(policy.connectors, states,
                              secret_source(app[settings_key]), app[clock_key]())
    for entry in report:
        if entry["lag_seconds"] is not None:
            metrics.CONNECTOR_LAG.labels(connector=entry["id"]).set(entry["lag_seconds"])
    troubled = [f"{e['id']} {e['state']}" for e in report
                if e["state"] in ("failing", "missing secrets")]
    detail = (f"{len(report)} connector(s); " + ("all well." if not troubled else
                                                 "warning: " + ", ".join(troubled) + "."))
    return HealthCheck(ok=True, detail=detail, info={"connectors": report})


async def _queue_check(app: web.Application, policy: Policy | None,
                       counts: dict[str, int] | None = None) -> HealthCheck:
    """The pipeline's back-pressure: how many messages wait and how long the oldest has.
    A warning past the policy's `queue.warn_after_minutes`, not a failure: the service
    still takes messages in (a load balancer must not take it out of rotation for being
    busy)."""
    engine = app[engine_key]
    try:
        depth = pending_count(counts if counts is not None
                              else await count_by_stage(engine=engine))
        oldest = await oldest_waiting(engine=engine)
    except Exception:  # the database check says what is wrong with it
        return HealthCheck(ok=True, detail="unknown: the database did not answer.")
    age = max((app[clock_key]() - oldest).total_seconds(), 0.0) if oldest else 0.0
    metrics.QUEUE_DEPTH.set(depth)
    metrics.QUEUE_OLDEST.set(age)
    limit = (policy.queue.warn_after_minutes if policy is not None else 5) * 60
    info = {"depth": depth, "oldest_seconds": round(age, 1), "warn_after_seconds": limit}
    if depth == 0:
        return HealthCheck(ok=True, detail="no message waits.", info=info)
    detail = f"{depth} message(s) waiting; the oldest for {int(age)} s."
    if age > limit:
        detail = (f"warning: behind: {depth} message(s) waiting, the oldest for "
                  f"{int(age // 60)} min (more than the policy's {limit // 60}); add workers "
                  "or check the scorer.")
    return HealthCheck(ok=True, detail=detail, info=info)


@routes.get("/health", name="health")
@public
async def health(request: web.Request) -> web.Response:
    """Database, migrations, scorer, policies and worker; 503 when something is wrong."""
    app = request.app
    database, migrations = await _database(app)
    scorer = app[scorer_key]
    store = app[policy_key]
    if store.policy is None:
        detail = f"not loaded: {len(store.errors)} error(s); run `guardian policies check`."
    elif store.rejected is not None:
        # Still healthy: the last good policy is in force, but HR must fix the files.
        detail = (f"the files changed at {store.rejected_at:%Y-%m-%d %H:%M:%S}Z have "
                  f"{len(store.errors)} error(s); the policy loaded at "
                  f"{store.loaded_at:%Y-%m-%d %H:%M:%S}Z stays in force.")
    else:
        detail = f"loaded at {store.loaded_at:%Y-%m-%d %H:%M:%S}Z."
    policies = HealthCheck(
        ok=store.policy is not None,
        detail=detail,
        info={
            "summary": store.policy.summary() if store.policy else {},
            "errors": [str(p) for p in store.errors[:20]],
            "warnings": [str(p) for p in store.warnings[:20]],
            "loaded_at": store.loaded_at.isoformat() if store.loaded_at else None,
        },
    )
    waiting = await _backlog(app, store.policy)
    checks = {
        "backlog": HealthCheck(
            ok=True, detail=("no notification waits on a failing channel." if not waiting
                             else "waiting on failing channels: " + ", ".join(
                                 f"{label} {int(v['count'])} (oldest "
                                 f"{int(v['oldest_seconds'] // 60)} min)"
                                 for label, v in sorted(waiting.items())) + "."),
            info={"channels": waiting}),
        "channels": _channels_check(app, store.policy),
        "connectors": await _connectors_check(app, store.policy),
        "queue": await _queue_check(app, store.policy),
        "database": database,
        "migrations": migrations,
        "scorer": HealthCheck(
            ok=True,
            detail=scorer.warning or f"{scorer.active} {scorer.variant} is active.",
            info={"active": scorer.active, "variant": scorer.variant, "version": scorer.version,
                  "languages": list(scorer.languages), "limitations": scorer.limitations,
                  "own_process": scoring_key in app and app[scoring_key].process is not None},
        ),
        "policies": policies,
        "worker": HealthCheck(ok=True, detail="running in this process." if worker_key in app
                              else "not in this process (run `guardian worker`)."),
    }
    ok = all(c.ok for c in checks.values())
    body = HealthResponse(status="ok" if ok else "degraded", version=__version__, checks=checks)
    return web.json_response(text=body.model_dump_json(), status=200 if ok else 503)


@routes.get("/metrics", name="metrics")
@requires(Role.admin)
async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format; queue and outbox gauges are read from the database at each
    scrape."""
    counts = await count_by_stage(engine=request.app[engine_key])
    for stage, n in counts.items():
        metrics.MESSAGES_BY_STAGE.labels(stage=stage).set(n)
    await _queue_check(request.app, request.app[policy_key].policy, counts)  # the gauges
    for status, n in (await count_by_status(engine=request.app[engine_key])).items():
        metrics.NOTIFICATIONS_BY_STATUS.labels(status=status).set(n)
    metrics.NOTIFICATION_BACKLOG.clear()
    metrics.NOTIFICATION_BACKLOG_OLDEST.clear()
    await _connectors_check(request.app, request.app[policy_key].policy)  # the lag gauges
    for label, entry in (await _backlog(request.app, request.app[policy_key].policy)).items():
        metrics.NOTIFICATION_BACKLOG.labels(channel=label).set(entry["count"])
        metrics.NOTIFICATION_BACKLOG_OLDEST.labels(channel=label).set(entry["oldest_seconds"])
    return web.Response(body=generate_latest(metrics.REGISTRY),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})
