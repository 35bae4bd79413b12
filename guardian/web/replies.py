"""`POST /api/v1/replies`: replies to pages, forwarded by SMS gateways and chat bridges.

A gateway (with an `ingest` token) posts what came back on its channel, as JSON
(`{"channel": "sms", "from": "+34…", "text": "ok ACK 12-4f9a2b7c"}`) or as Twilio posts an
inbound SMS (a form with `From` and `Body`). A valid reply code acknowledges the page; the
answer carries one sentence the gateway may send back to the person.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from guardian.acks.replies import MAX_REPLY_CHARS, ReplyOutcome, ReplyResult, acknowledge_reply
from guardian.errors import ApiError, FieldError
from guardian.storage.db import utcnow
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.bodies import invalid, read_payload, validation_errors
from guardian.web.keys import engine_key, settings_key

routes = web.RouteTableDef()

FORM = "application/x-www-form-urlencoded"


class ReplyIn(BaseModel):
    """An inbound reply to a page, as a gateway received it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    channel: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$"
    )] = Field(description="Where the reply came: `sms`, `whatsapp`, `telegram`, `matrix`...")
    sender: Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)] | None = (
        Field(default=None, alias="from",
              description="Who sent it (a phone number, a handle); logged, not trusted."))
    text: str = Field(max_length=MAX_REPLY_CHARS,
                      description="The reply as typed; its reply code (`ACK 12-4f9a2b7c`) "
                                  "acknowledges the page.")


REPLY_FORM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["From", "Body"],
    "description": "Twilio's inbound SMS webhook (other fields are ignored); channel `sms`, "
                   "or `whatsapp` when `From` starts with `whatsapp:`.",
    "properties": {"From": {"type": "string", "maxLength": 256},
                   "Body": {"type": "string", "maxLength": MAX_REPLY_CHARS}},
}
REPLY_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["result", "message", "page_id"],
    "properties": {
        "result": {"enum": [ReplyOutcome.acknowledged.value,
                            ReplyOutcome.already_acknowledged.value,
                            ReplyOutcome.closed.value]},
        "message": {"type": "string", "description": "One sentence for the person."},
        "page_id": {"type": "integer"}},
}


def _validated(payload: dict[str, Any], names: dict[str, str]) -> ReplyIn:
    """`payload` as a ReplyIn; field errors use the names the client sent (`names`)."""
    try:
        return ReplyIn.model_validate(payload)
    except ValidationError as exc:
        problems = [FieldError(names.get(p.field, p.field), p.message)
                    for p in validation_errors(exc)]
        raise invalid(problems) from None


async def _read_form(request: web.Request) -> tuple[ReplyIn, str]:
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "malformed_form", "The form body could not be read; send it as "
                       "UTF-8.", [FieldError("body", "is not a readable form.")]) from None
    body, sender = form.get("Body"), form.get("From")
    problems = [FieldError(name, "is required.") for name, value in
                (("Body", body), ("From", sender)) if not isinstance(value, str)]
    if problems:
        raise invalid(problems)
    assert isinstance(sender, str)
    channel = "whatsapp" if sender.lower().startswith("whatsapp:") else "sms"
    return _validated({"channel": channel, "from": sender, "text": body},
                      {"from": "From", "text": "Body", "channel": "From"}), "Body"


async def _read_json(request: web.Request) -> tuple[ReplyIn, str]:
    payload = await read_payload(request)
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid", "The body must be a JSON object with `channel`, `from` "
                       "and `text`.", [FieldError("body", "must be an object.")])
    return _validated(payload, {}), "text"


def _answer(result: ReplyResult, text_field: str) -> web.Response:
    if result.outcome == ReplyOutcome.no_code:
        raise ApiError(422, "no_code", result.message,
                       [FieldError(text_field, "holds no acknowledgement code.")])
    if result.outcome == ReplyOutcome.too_many:
        raise ApiError(429, "too_many", result.message)
    if result.outcome == ReplyOutcome.invalid_code:
        raise ApiError(422, "invalid_code", result.message,
                       [FieldError(text_field, "holds an acknowledgement code that is not "
                                               "valid.")])
    return web.json_response({"result": result.outcome.value, "message": result.message,
                              "page_id": result.page_id})


@routes.post("/api/v1/replies", name="replies")
@requires(Role.ingest)
async def replies(request: web.Request) -> web.Response:
    """An inbound reply: a page's reply code in it acknowledges the page."""
    if request.content_type == FORM:
        reply, text_field = await _read_form(request)
    elif request.content_type == "application/json":
        reply, text_field = await _read_json(request)
    else:
        raise ApiError(415, "unsupported_media_type",
                       "Send JSON (`application/json`: channel, from, text) or a form "
                       f"(`{FORM}`: Twilio's From and Body).")
    result = await acknowledge_reply(engine=request.app[engine_key],
                                     secret=request.app[settings_key].secret_key,
                                     text=reply.text, channel=reply.channel,
                                     sender=reply.sender, now=utcnow())
    return _answer(result, text_field)
