"""Every `web.AppKey` of the application, in one place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.auth import Principal, TokenVerifier
from guardian.config import Settings
from guardian.pipeline import Worker
from guardian.policy.store import PolicyStore
from guardian.scoring.select import ScorerStatus
from guardian.scoring.stage import ScoringState

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
verifier_key = web.AppKey("verifier", TokenVerifier)
policy_key = web.AppKey("policy", PolicyStore)
worker_key = web.AppKey("worker", Worker)
scorer_key = web.AppKey("scorer", ScorerStatus)
scoring_key = web.AppKey("scoring", ScoringState)

principal_key = web.RequestKey("principal", Principal)
