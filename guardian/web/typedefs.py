"""Every `web.AppKey` of the application, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.auth import Principal, TokenVerifier
from guardian.config import Settings
from guardian.pipeline import Worker
from guardian.policy.store import PolicyStore

if TYPE_CHECKING:
    from guardian.scoring.select import ScorerStatus
    from guardian.scoring.stage import ScoringState

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
verifier_key = web.AppKey("verifier", TokenVerifier)
policy_key = web.AppKey("policy", PolicyStore)
worker_key = web.AppKey("worker", Worker)
# Typed, but imported lazily: the scoring modules pull in numpy and scikit-learn.
scorer_key: web.AppKey[ScorerStatus] = web.AppKey("scorer")
scoring_key: web.AppKey[ScoringState] = web.AppKey("scoring")

principal_key = web.RequestKey("principal", Principal)
