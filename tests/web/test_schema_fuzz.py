"""Schemathesis against the OpenAPI document: the real app on both databases, a bounded
number of generated requests per operation, valid and invalid, none answered with a
server error or with a status, content type or body the document does not describe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from aiohttp import ClientSession
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.config.settings import Settings
from guardian.review.queue import enqueue_review
from guardian.schemas import MessageIn
from guardian.storage import outbox
from guardian.storage.db import utcnow
from guardian.storage.messages import store_messages
from guardian.types import NotificationKind, Role
from guardian.web.app import init_app
from tests.conftest import bearer, message

# Per operation and per mode (valid, invalid): 200 requests an operation as admin, who
# may call everything, and 60 as a member of staff, who is refused most (403s documented).
EXAMPLES = {Role.admin: 100, Role.staff: 30}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _fuzz(document: dict[str, Any], base_url: str, headers: dict[str, str],
          examples: int) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @hypothesis_settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.generate])
            def check(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode == GenerationMode.NEGATIVE, operation.label
            except BaseExceptionGroup as exc:  # schemathesis reports its failures as a group
                failures.append(f"{operation.label} ({mode}): {exc}"[:2000])
    return failures


async def _seed(engine: AsyncEngine) -> None:
    """Things for ids to find: messages (one notified to Pablo, the staff token's person),
    a review item, a page."""
    async with engine.begin() as conn:
        stored = await store_messages(conn=conn, messages=[
            MessageIn.model_validate(message(str(n))) for n in range(3)])
        await enqueue_review(conn=conn, message_id=stored[0].id, reason="abusive",
                             level="abusive", category="street_lighting", target="lighting")
        await outbox.enqueue(conn=conn, recipient="pablo", kind=NotificationKind.deliver,
                             body="La farola de la calle Real no funciona", due_at=utcnow(),
                             idempotency_key=f"deliver:{stored[1].id}:pablo",
                             message_id=stored[1].id)


@pytest.mark.parametrize("role", [Role.admin, Role.staff])
async def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(
        aiohttp_server: Callable[..., Any], settings: Settings, engine: AsyncEngine,
        tokens: dict[Role, str], role: Role) -> None:
    await _seed(engine)
    server = await aiohttp_server(init_app(settings, run_worker=False))
    base = f"http://127.0.0.1:{server.port}"
    headers = bearer(tokens[role])
    async with ClientSession() as session, session.get(
            f"{base}/api/v1/openapi.json", headers=headers) as got:
        document = await got.json()
    failures = await asyncio.to_thread(_fuzz, document, base, headers, EXAMPLES[role])
    assert not failures, "\n\n".join(failures)
