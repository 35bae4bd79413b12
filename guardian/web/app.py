"""The aiohttp application: `init_app()` builds it; `cleanup_ctx` owns its resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from guardian.auth import TokenVerifier
from guardian.config import Settings
from guardian.pipeline import Worker, WorkerConfig
from guardian.policy.loader import load_policy
from guardian.scoring_status import resolve_scorer
from guardian.storage.db import create_engine, masked_url
from guardian.storage.migrate import upgrade
from guardian.web import messages, observe, openapi
from guardian.web.access import access_of
from guardian.web.middleware import auth_middleware, error_middleware
from guardian.web.typedefs import (
    engine_key,
    policy_key,
    scorer_key,
    settings_key,
    verifier_key,
    worker_key,
)

log = logging.getLogger(__name__)


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(batch_size=settings.worker_batch,
                        poll_seconds=settings.worker_poll_seconds,
                        lease_seconds=settings.lease_seconds,
                        max_attempts=settings.max_attempts)


def init_app(settings: Settings, *, migrate: bool = True, run_worker: bool = True
             ) -> web.Application:
    """The whole service: API, policies and (unless `run_worker` is false) a pipeline worker."""
    app = web.Application(
        middlewares=[error_middleware, auth_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[settings_key] = settings
    app[scorer_key] = resolve_scorer(settings.scorer)
    for table in (messages.routes, observe.routes, openapi.routes):
        app.add_routes(table)
    for route in app.router.routes():
        if access_of(route.handler) is None:
            raise RuntimeError(f"route {route.resource} declares no access rule")

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        log.info("database %s", masked_url(settings.database_url))
        if migrate:
            await upgrade(engine)
        app[engine_key] = engine
        app[verifier_key] = TokenVerifier(engine, settings.token_cache_seconds)
        yield
        await engine.dispose()

    async def policies(app: web.Application) -> AsyncIterator[None]:
        result = load_policy(settings.policies_dir)
        for problem in result.problems:
            log.log(logging.ERROR if problem.severity == "error" else logging.WARNING,
                    "policy: %s", problem)
        app[policy_key] = result
        yield

    async def worker(app: web.Application) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        worker = Worker(app[engine_key], config=worker_config(settings))
        app[worker_key] = worker
        task = asyncio.create_task(worker.run(), name="guardian-worker")
        yield
        worker.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)

    app.cleanup_ctx.extend([database, policies, worker])
    return app
