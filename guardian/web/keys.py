"""Every `web.AppKey` of the application, in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.engine.loop import Loop
from guardian.engine.scoring_stage import ScoringState
from guardian.engine.triage import Triage
from guardian.policy_files.store import PolicyStore
from guardian.scoring.select import ScorerStatus
from guardian.storage.messages import Ingest
from guardian.web.auth import Principal, TokenVerifier

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
verifier_key = web.AppKey("verifier", TokenVerifier)
# `POST /api/v1/messages`'s way to the database (its own connections on PostgreSQL).
ingest_key = web.AppKey("ingest", Ingest)
policy_key = web.AppKey("policy", PolicyStore)
# The pipeline's loop in this process (when it runs one): ingest wakes it.
worker_key = web.AppKey("worker", Loop)
# How soon each message is worked on (emergencies first), for every door of this app.
triage_key = web.AppKey("triage", Triage)
scorer_key = web.AppKey("scorer", ScorerStatus)
scoring_key = web.AppKey("scoring", ScoringState)
# The service's clock: the wall clock, or a test's controlled one (the engine's jobs and
# ingest read it).
clock_key: web.AppKey[Callable[[], dt.datetime]] = web.AppKey("clock")

principal_key = web.RequestKey("principal", Principal)
