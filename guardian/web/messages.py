"""Ingest (`POST /api/v1/messages`) and read (`GET /api/v1/messages/{id}`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from guardian import metrics
from guardian.config.settings import Settings
from guardian.errors import ApiError, FieldError, not_found
from guardian.schemas import (
    AcceptedMessage,
    AssessmentPublic,
    AuthorIn,
    IngestResponse,
    MessageIn,
    MessagePublic,
    MessagesRetryIn,
    StageEventPublic,
)
from guardian.storage.audit import audit
from guardian.storage.messages import get_message, retry_parked
from guardian.storage.notifications import was_notified
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.bodies import field_path, invalid, read_model, read_payload, validation_errors
from guardian.web.keys import (
    clock_key,
    engine_key,
    ingest_key,
    principal_key,
    settings_key,
    triage_key,
    worker_key,
)
from guardian.web.params import message_id as parse_message_id

routes = web.RouteTableDef()


def _validate(item: Any, prefix: str, max_text: int) -> tuple[MessageIn | None, list[FieldError]]:
    if not isinstance(item, dict):
        return None, [FieldError(prefix or "body", "must be a JSON object with the message's "
                                 "fields.")]
    try:
        message = MessageIn.model_validate(item)
    except ValidationError as exc:
        return None, validation_errors(exc, prefix)
    problems = []
    if not message.text.strip():
        problems.append(FieldError(field_path(prefix, ("text",)), "must not be empty."))
    elif len(message.text) > max_text:
        problems.append(FieldError(field_path(prefix, ("text",)),
                                   f"is {len(message.text)} characters long; the limit is "
                                   f"{max_text}."))
    return message, problems


def messages_of(payload: Any, settings: Settings) -> list[MessageIn]:
    """The messages of an ingest body (one object or a list), or the 4xx naming every
    problem: ingest and the signed webhook (guardian/web/hooks.py) take the same body."""
    single = isinstance(payload, dict)
    items = [payload] if single else payload
    if not isinstance(items, list):
        raise ApiError(422, "invalid", "The body must be one message object or a list of them.",
                       [FieldError("body", "must be an object or a list.")])
    if not items:
        raise ApiError(422, "invalid", "The list of messages is empty.",
                       [FieldError("body", "must hold at least one message.")])
    if len(items) > settings.max_batch:
        raise ApiError(413, "too_many", f"{len(items)} messages in one request; the limit is "
                       f"{settings.max_batch}.", [FieldError("body", "too many messages.")])
    messages: list[MessageIn] = []
    problems: list[FieldError] = []
    for index, item in enumerate(items):
        message, item_problems = _validate(item, "" if single else f"[{index}]",
                                           settings.max_text_chars)
        problems += item_problems
        if message is not None:
            messages.append(message)
    if problems:
        raise invalid(problems, "Nothing was stored.")
    return messages


@routes.post("/api/v1/messages", name="ingest")
@requires(Role.ingest)
async def ingest(request: web.Request) -> web.Response:
    """Store one message or a list, then answer 202 with their ids."""
    messages = messages_of(await read_payload(request), request.app[settings_key])
    now = request.app[clock_key]()
    # Before the transaction: triage may read the overrides (SQLite has one connection).
    priorities = await request.app[triage_key].priorities(messages, now)
    worker = request.app.get(worker_key)
    # No worker here to wake: the new messages are announced to those of other processes.
    stored = await request.app[ingest_key].store(messages=messages, now=now,
                                                 priorities=priorities, notify=worker is None)
    new = sum(1 for s in stored if not s.duplicate)
    metrics.INGESTED.inc(new)
    metrics.DUPLICATES.inc(len(stored) - new)
    if new and worker is not None:
        worker.wake()
    response = IngestResponse(
        ids=[s.id for s in stored],
        messages=[AcceptedMessage(id=s.id, source=s.source, external_id=s.external_id,
                                  duplicate=s.duplicate) for s in stored],
    )
    return web.json_response(text=response.model_dump_json(), status=202)


@routes.post("/api/v1/messages/retry", name="retry_messages")
@requires(Role.admin)
async def retry_messages(request: web.Request) -> web.Response:
    """Put parked messages (failed after their attempts) back in the queue; audited."""
    data = await read_model(request, MessagesRetryIn)
    async with request.app[engine_key].begin() as conn:
        done = await retry_parked(conn=conn, now=request.app[clock_key](),
                                  ids=None if data.failed else data.ids)
        await audit(conn=conn, actor=request[principal_key].actor, action="messages.retry",
                    subject="messages", details={"ids": done})
    return web.json_response({"retried": done})


@routes.get("/api/v1/messages/{id}", name="message")
@requires(Role.moderator, Role.staff)
async def read_message(request: web.Request) -> web.Response:
    """One message with its stage and the history of its stages.

    Staff (the link in their notifications) see only messages they were notified of, and
    only what a notification shows: the masked text, no scores, no decision, and no link
    to the original post when the message was hostile. Moderators get the masked text
    too: the original only by claiming its review item (`GET /api/v1/review/{id}`),
    counted against their exposure and audited."""
    ident = parse_message_id(request)
    found = await get_message(engine=request.app[engine_key], message_id=ident)
    if found is None:
        raise not_found(f"Message {ident}")
    message, events = found
    principal = request[principal_key]
    if principal.role == Role.moderator:
        # The raw text of a hostile message only through a claim on its review item,
        # where reading it counts against the day's exposure and is audited.
        hostile = message.harassment_level not in (None, "none")
        message = message.model_copy(update={
            "text": message.masked_text if message.masked_text is not None else message.text,
            "url": None if hostile else message.url})
    if principal.role == Role.staff:
        if principal.staff_id is None or not await was_notified(
                engine=request.app[engine_key], recipient=principal.staff_id,
                message_id=message.id or 0):
            raise not_found(f"Message {ident}")  # as if it did not exist
        hostile = message.harassment_level not in (None, "none")
        message = message.model_copy(update={
            "text": message.masked_text if message.masked_text is not None else message.text,
            "url": None if hostile else message.url, "assessment": None, "decision": None,
            "last_error": None})
    public = MessagePublic(
        id=message.id or 0, source=message.source, external_id=message.external_id,
        author=AuthorIn(handle=message.author_handle, name=message.author_name),
        text=message.text, lang=message.lang, mentions=message.mentions,
        in_reply_to=message.in_reply_to, url=message.url, created_at=message.created_at,
        received_at=message.received_at, stage=message.stage, attempts=message.attempts,
        failed=message.failed_at is not None, last_error=message.last_error,
        history=[StageEventPublic(stage=e.stage, completed_at=e.completed_at,
                                  duration_ms=e.duration_ms) for e in events],
        assessment=AssessmentPublic.model_validate(
            {**message.assessment, "masked_text": message.masked_text or ""})
        if message.assessment else None,
        decision=message.decision,
    )
    return web.json_response(text=public.model_dump_json())
