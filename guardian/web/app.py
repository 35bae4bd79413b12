"""The aiohttp application: `init_app()` builds it; `cleanup_ctx` owns its resources."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from guardian.config.settings import Settings
from guardian.engine.build import build as build_engine
from guardian.engine.scoring_stage import ScoringState
from guardian.engine.timeline import DutyTimeline
from guardian.engine.triage import Triage
from guardian.policy_files.store import PolicyStore
from guardian.storage.db import create_engine, masked_url, utcnow
from guardian.storage.messages import Ingest
from guardian.storage.migrate import upgrade
from guardian.web import (
    duty,
    escalations,
    flags,
    hooks,
    messages,
    notifications,
    observe,
    open311,
    openapi,
    overrides,
    pages,
    privacy,
    replies,
    report,
    requests,
    review,
    whatif,
)
from guardian.web.access import access_of, is_web_page
from guardian.web.auth import TokenVerifier
from guardian.web.keys import (
    clock_key,
    engine_key,
    ingest_key,
    policy_key,
    scorer_key,
    scoring_key,
    settings_key,
    triage_key,
    verifier_key,
    worker_key,
)
from guardian.web.middleware import auth_middleware, error_middleware
from guardian.web.proxies import forwarded_middleware
from guardian.web.ui.site import setup_ui

log = logging.getLogger(__name__)


async def _watch(store: PolicyStore, every: float) -> None:
    """Reload the policy when its files change (editors, `git pull`, a mounted volume)."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(store.reload_if_changed)
        except Exception:
            log.exception("policy watch failed; retrying")


def init_app(settings: Settings, *, migrate: bool = True, run_worker: bool = True,
             handle_signals: bool = False,
             clock: Callable[[], dt.datetime] = utcnow) -> web.Application:
    """The whole service: API, policies and (unless `run_worker` is false) a pipeline worker.

    `handle_signals` (set by `guardian serve`) reloads the policy on SIGHUP. `clock`: what
    ingest and the engine's jobs take for now (a test drives it; `guardian simulate`'s
    agreement with the live service is tested that way).
    """
    # Behind a trusted reverse proxy, the client's address first (rate limits, audit).
    forwarded = ([forwarded_middleware(settings.trusted_proxies)]
                 if settings.trusted_proxies else [])
    app = web.Application(
        middlewares=[*forwarded, error_middleware, auth_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[settings_key] = settings
    app[clock_key] = clock
    for table in (messages.routes, observe.routes, openapi.routes, overrides.routes,
                  duty.routes, pages.routes, review.routes, notifications.routes,
                  replies.routes, flags.routes, escalations.routes, privacy.routes,
                  hooks.routes, requests.routes, open311.routes, report.routes):
        app.add_routes(table)
    app.add_routes(whatif.routes)  # HR's policy what-if
    setup_ui(app)  # the web pages for people (sign-in, the moderators' queue)
    for route in app.router.routes():
        if access_of(route.handler) is None:
            raise RuntimeError(f"route {route.resource} declares no access rule")
        key = (route.method.lower(), route.resource.canonical if route.resource else "")
        if (route.method != "HEAD" and key not in openapi.OPERATIONS
                and not is_web_page(route.handler)):
            raise RuntimeError(f"route {key} is not described in web/openapi.py")

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        log.info("database %s", masked_url(settings.database_url))
        if migrate:
            await upgrade(engine)
        app[engine_key] = engine
        app[verifier_key] = TokenVerifier(engine, settings.token_cache_seconds)
        app[ingest_key] = ingest = Ingest(engine)
        yield
        await ingest.close()
        await engine.dispose()

    async def policies(app: web.Application) -> AsyncIterator[None]:
        store = PolicyStore(settings.policies_dir)
        app[policy_key] = store
        # Its own timeline (rebuilt in the background about once a minute): who is on call,
        # for triage.
        app[triage_key] = triage = Triage(
            lambda: store.policy, DutyTimeline(app[engine_key], lambda: store.policy).availability)
        loop = asyncio.get_running_loop()
        if handle_signals:
            loop.add_signal_handler(signal.SIGHUP, store.reload)
        watcher = asyncio.create_task(_watch(store, settings.policy_poll_seconds),
                                      name="guardian-policy-watch")
        yield
        watcher.cancel()
        await triage.close()
        if handle_signals:
            loop.remove_signal_handler(signal.SIGHUP)

    async def scoring(app: web.Application) -> AsyncIterator[None]:
        state = await ScoringState.start(settings, app[policy_key].policy)
        app[scorer_key] = state.status
        app[scoring_key] = state
        app[policy_key].on_change(state.use_policy)
        status = state.status
        log.info("scorer: %s %s (%s)%s", status.active, status.variant, status.version,
                 " in a process of its own" if state.process is not None else "")
        yield
        state.close()

    async def worker(app: web.Application) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        store = app[policy_key]
        jobs = build_engine(app[engine_key], settings, lambda: store.policy, app[scoring_key],
                            clock=clock)
        app[worker_key] = jobs.pipeline[0]
        task = asyncio.create_task(jobs.run(), name="guardian-engine")
        yield
        jobs.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)

    app.cleanup_ctx.extend([database, policies, scoring, worker])
    return app
