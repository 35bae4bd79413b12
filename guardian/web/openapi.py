"""The OpenAPI 3.1 document: the app's routes, their declared roles, the pydantic schemas.

Each route needs an entry in `OPERATIONS` (the app refuses to start without one), and its
roles come from the handler's own `@requires`, so the document cannot drift from the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from guardian import __version__
from guardian.schemas import (
    AuditEventPublic,
    AuthorStatusPublic,
    ErrorResponse,
    ExposurePublic,
    FlaggedItemPublic,
    FlagIn,
    HealthResponse,
    IngestResponse,
    MessageIn,
    MessagePublic,
    MessagesRetryIn,
    NotificationListPublic,
    NotificationPublic,
    OverrideIn,
    OverridePublic,
    RequestMoveIn,
    RequestPublic,
    ReviewBulkIn,
    ReviewDecisionIn,
    ReviewItemDetail,
    ReviewItemPublic,
    SwapIn,
)
from guardian.types import Role
from guardian.web.access import access_of, is_web_page, requires
from guardian.web.open311 import documentation as open311_documentation
from guardian.web.replies import REPLY_FORM_SCHEMA, REPLY_RESPONSE_SCHEMA, ReplyIn
from guardian.web.report import REPORT_SCHEMA, WEEK_QUERY
from guardian.web.whatif import RESPONSE_SCHEMA, WhatIfIn

routes = web.RouteTableDef()

_ERRORS = {
    "400": "Malformed JSON.",
    "401": "No token, or an unknown or revoked one.",
    "403": "The token's role may not do this.",
    "404": "No such thing.",
    "405": "Not with this method.",
    "409": "The thing changed meanwhile, or is no longer in a state that allows this.",
    "413": "Body or batch larger than the limits.",
    "415": "Not `application/json`.",
    "422": "A field is invalid; `errors` names each one.",
    "429": "Too many tries: wait, or use another way (the message says which).",
    "503": "The duty policy is not loaded (or, for a hook, its secret is not set).",
}


@dataclass(frozen=True)
class Operation:
    summary: str
    ok: str = "200"
    response: type[BaseModel] | dict[str, Any] | None = None
    request: type[BaseModel] | dict[str, Any] | None = None
    errors: tuple[str, ...] = ()
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Other statuses answered with the success body, and what they mean.
    same_body: dict[str, str] = field(default_factory=dict)
    # The operation's own errors: pages opened from a notification answer them as a page.
    errors_content_type: str = "application/json"
    form: dict[str, Any] | None = None  # the request may also be a form with these fields
    body_required: bool = True
    # The operation's own error body where it is not ErrorResponse (Open311's); the
    # middleware's errors (a NUL in the path, a body too large) stay ErrorResponse.
    errors_schema: dict[str, Any] | None = None


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _schema(thing: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    return thing if isinstance(thing, dict) else _ref(thing)


def _list_of(model: type[BaseModel], key: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": _ref(model)}}}


_WRITE = ("400", "401", "403", "415", "422")
_HOOK_RESPONSE: dict[str, Any] = {
    "type": "object", "required": ["stored", "received"],
    "properties": {"stored": {"type": "integer", "description": "New messages stored."},
                   "received": {"type": "integer", "description": "Messages read."}}}
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("post", "/api/v1/messages"): Operation(
        "Store one message or a list; idempotent on (source, external_id).", ok="202",
        response=IngestResponse,
        request={"oneOf": [_ref(MessageIn), {"type": "array", "items": _ref(MessageIn),
                                             "minItems": 1}]},
        errors=(*_WRITE, "413")),
    ("get", "/api/v1/messages/{id}"): Operation(
        "One message, its stage, its assessment and the history of its stages.",
        response=MessagePublic, errors=("401", "403", "404", "422")),
    ("post", "/api/v1/messages/{id}/flag"): Operation(
        "Say a message was abusive: it goes to the moderators' review queue (reason "
        "`flagged`; no strike until a moderator confirms). Staff: only messages they were "
        "notified of (others are 404). 202 with the review item; a repeat by the same "
        "person is 200 with the same item.", ok="202", request=FlagIn,
        response=FlaggedItemPublic, errors=(*_WRITE, "404"), body_required=False,
        same_body={"200": "Already flagged by this person: the same review item."}),
    ("get", "/api/v1/messages/{id}/status"): Operation(
        "Where a citizen's request is: received, acknowledged, in_progress, resolved or "
        "closed. Staff: requests of their teams or that they were told about (others 404).",
        response=RequestPublic, errors=("401", "403", "404", "422")),
    ("post", "/api/v1/messages/{id}/status"): Operation(
        "Move a request on; closing needs a `reason`. With `reply` (default), the citizen "
        "hears the policy's template for the new status, where it has one and the request "
        "may be answered (never a held or abusive message). 409 when the move is not "
        "allowed from where the request is.", request=RequestMoveIn,
        response=RequestPublic, errors=(*_WRITE, "404", "409")),
    ("get", "/hooks/{id}"): Operation(
        "WhatsApp Cloud API's subscription handshake: `hub.challenge` echoed when "
        "`hub.verify_token` matches the connector's (docs/connectors.md).",
        response={"type": "string"}, content_type="text/plain", errors=("403", "404", "405"),
        query={"hub.mode": "`subscribe`.", "hub.verify_token": "The connector's token.",
               "hub.challenge": "Echoed back."}),
    ("post", "/hooks/{id}"): Operation(
        "A pushed feed's delivery, authenticated by the connector's secret, no token: "
        "`webhook` (the ingest body, signed with `X-Guardian-Timestamp` and "
        "`X-Guardian-Signature`; 202), `whatsapp` (`X-Hub-Signature-256`) or `telegram` "
        "(`X-Telegram-Bot-Api-Secret-Token`; 200). Stored as ingest stores, idempotently.",
        ok="202", response=_HOOK_RESPONSE, request={"type": ["object", "array"]},
        same_body={"200": "A WhatsApp or Telegram delivery, read and stored."},
        errors=("400", "401", "404", "413", "415", "422", "503")),
    ("get", "/api/v1/openapi.json"): Operation("This document.", response={"type": "object"},
                                               errors=("401",)),
    ("get", "/health"): Operation(
        "Database, migrations, scorer, policies, worker; 503 when something is wrong.",
        response=HealthResponse,
        same_body={"503": "Degraded: the same document, saying what is wrong."}),
    ("get", "/metrics"): Operation("Prometheus metrics.", response={"type": "string"},
                                   errors=("401", "403"), content_type="text/plain"),
    ("get", "/api/v1/overrides"): Operation(
        "Overrides of a team (or all) overlapping a period.",
        response=_list_of(OverridePublic, "overrides"), errors=("401", "403", "422"),
        query={"team": "Team id.", "from": "ISO 8601 instant.", "to": "ISO 8601 instant.",
               "status": "`all` to include declined and cancelled ones."}),
    ("post", "/api/v1/overrides"): Operation(
        "Replace, add or remove a person for a period, with a reason (audited).", ok="201",
        request=OverrideIn, response=OverridePublic, errors=(*_WRITE, "503")),
    ("delete", "/api/v1/overrides/{id}"): Operation(
        "Cancel an override (HR) or withdraw one's own swap proposal (staff).",
        response=OverridePublic, errors=("401", "403", "404", "409", "422")),
    ("post", "/api/v1/swaps"): Operation(
        "Ask another person to take one's duty for a period.", ok="201", request=SwapIn,
        response=OverridePublic, errors=(*_WRITE, "503")),
    ("post", "/api/v1/swaps/{id}/accept"): Operation(
        "The person asked (or HR) accepts: the swap becomes an active override.",
        response=OverridePublic, errors=("401", "403", "404", "409", "422")),
    ("post", "/api/v1/swaps/{id}/approve"): Operation(
        "HR approves a swap both colleagues agreed on (`swaps.require_approval`).",
        response=OverridePublic, errors=("401", "403", "404", "409", "422")),
    ("post", "/api/v1/swaps/{id}/decline"): Operation(
        "The person asked (or HR) declines.", response=OverridePublic,
        errors=("401", "403", "404", "409", "422")),
    ("get", "/api/v1/oncall"): Operation(
        "Who is on duty and on call, per team, at an instant (default now), and why.",
        response={"type": "object"}, errors=("401", "403", "422", "503"),
        query={"team": "Only this team.", "at": "ISO 8601 instant (default: now)."}),
    ("get", "/api/v1/teams/{id}/shifts"): Operation(
        "A team's shifts in a period of at most 92 days; gaps are shifts with no people.",
        response={"type": "object"}, errors=("401", "403", "422", "503"),
        query={"from": "ISO 8601 instant (required).", "to": "ISO 8601 instant (required).",
               "role": "`duty` (default) or `on_call`."}),
    ("get", "/api/v1/calendar-links"): Operation(
        "The secret iCal link of a person or a team.", response={"type": "object"},
        errors=("401", "403", "422", "503"),
        query={"person": "A staff id.", "team": "A team id."}),
    ("get", "/ical/person/{id}/{token}.ics"): Operation(
        "A person's duty as iCal; the secret link is the credential.",
        response={"type": "string"}, errors=("404",), content_type="text/calendar"),
    ("get", "/ical/team/{id}/{token}.ics"): Operation(
        "A team's shifts as iCal, gaps included; the secret link is the credential.",
        response={"type": "string"}, errors=("404",), content_type="text/calendar"),
    ("post", "/api/v1/messages/retry"): Operation(
        "Put parked messages (failed after their attempts) back in the queue: `ids`, or "
        "every one with `failed: true`; audited.", response={"type": "object"},
        request=MessagesRetryIn, errors=_WRITE),
    ("post", "/api/v1/calendar-links/revoke"): Operation(
        "Revoke a calendar link (`{\"person\": id}` or `{\"team\": id}`): the links given "
        "out so far stop working; the new one is answered. Staff their own, HR any.",
        response={"type": "object"}, errors=_WRITE),
    ("post", "/api/v1/privacy/export"): Operation(
        "Everything kept about an author (`{\"author\": \"twitter:@vecina\"}`): right of "
        "access.", response={"type": "object"}, errors=_WRITE),
    ("post", "/api/v1/privacy/erase"): Operation(
        "Erase an author's messages and their traces; audited without the author in "
        "clear: right to erasure.", response={"type": "object"}, errors=_WRITE),
    ("get", "/api/v1/escalations"): Operation(
        "What moderators escalated, newest first, masked: HR and moderators see all, a "
        "team's members what went to their team.", response={"type": "object"},
        errors=("401", "403", "422"),
        query={"to": "`hr` or a team id.", "limit": "1-500 (default 100)."}),
    ("get", "/api/v1/pages"): Operation(
        "Pages, newest first.", response={"type": "object"}, errors=("401", "403", "422"),
        query={"status": "open, acknowledged or exhausted."}),
    ("get", "/api/v1/pages/{id}"): Operation(
        "A page with its events: paged, escalated, last resort, acknowledged.",
        response={"type": "object"}, errors=("401", "403", "404", "422")),
    ("post", "/api/v1/pages/{id}/ack"): Operation(
        "Acknowledge a page: its escalation stops.", response={"type": "object"},
        errors=("401", "403", "404", "409", "422")),
    ("post", "/api/v1/replies"): Operation(
        "For SMS gateways and chat bridges: an inbound reply; a page's reply code in it "
        "(`ACK 12-4f9a2b7c`) acknowledges the page. 422 when there is no code or it is not "
        "valid (the same whether or not the page exists).",
        request=ReplyIn.model_json_schema(), form=REPLY_FORM_SCHEMA,
        response=REPLY_RESPONSE_SCHEMA, errors=(*_WRITE, "413", "429")),
    ("get", "/api/v1/audit"): Operation(
        "Audit log, newest first.", response=_list_of(AuditEventPublic, "events"),
        errors=("401", "403", "422"), query={"before": "Page back from this event id."}),
    ("get", "/api/v1/review"): Operation(
        "The review queue, masked text only; `assignable` says whether the caller may claim.",
        response={"type": "object", "properties": {
            "items": {"type": "array", "items": ReviewItemPublic.model_json_schema()},
            "next_cursor": {"type": ["integer", "null"]},
            "exposure": {"type": "object"}}},
        errors=("401", "403", "422", "503"),
        query={"status": "open, claimed, decided (comma-separated; default open,claimed).",
               "level": "none, rude, abusive, threat (comma-separated).",
               "category": "Category id.", "target": "Staff or team id.",
               "older_than": "Minutes: only items queued at least this long ago.",
               "newer_than": "Minutes: only items queued at most this long ago.",
               "order": "`oldest` (default) or `newest` first.",
               "limit": "Items per page, 1-200 (default 50).",
               "cursor": "`next_cursor` of the previous page."}),
    ("get", "/api/v1/review/{id}"): Operation(
        "One item; the raw text only for the moderator holding the claim (counts toward "
        "their daily exposure).", response=ReviewItemDetail.model_json_schema(),
        errors=("401", "403", "404", "422", "503")),
    ("post", "/api/v1/review/{id}/claim"): Operation(
        "Claim an item for 15 minutes; 409 if someone else holds it or the caller reached "
        "the daily exposure limit.", response=ReviewItemPublic.model_json_schema(),
        errors=("401", "403", "404", "409", "422", "503")),
    ("post", "/api/v1/review/{id}/release"): Operation(
        "Give a claimed item back to the queue.", response=ReviewItemPublic.model_json_schema(),
        errors=("401", "403", "404", "409", "422", "503")),
    ("post", "/api/v1/review/{id}/decide"): Operation(
        "Dismiss, confirm, escalate, mute or block (audited); the author's sanctions follow.",
        request=ReviewDecisionIn.model_json_schema(), response={"type": "object", "properties": {
            "item": ReviewItemPublic.model_json_schema(),
            "author": {"anyOf": [AuthorStatusPublic.model_json_schema(), {"type": "null"}]}}},
        errors=(*_WRITE, "404", "409", "503")),
    ("post", "/api/v1/review/bulk"): Operation(
        "One decision for up to 1,000 items; those already decided or claimed by others are "
        "skipped, with why.", request=ReviewBulkIn.model_json_schema(),
        response={"type": "object", "properties": {
            "decided": {"type": "array", "items": {"type": "integer"}},
            "skipped": {"type": "array", "items": {"type": "object"}},
            "authors": {"type": "array", "items": AuthorStatusPublic.model_json_schema()}}},
        errors=(*_WRITE, "503")),
    ("get", "/api/v1/moderators/me/exposure"): Operation(
        "Abusive or threatening items the caller has read today (UTC), and the limit.",
        response=ExposurePublic.model_json_schema(), errors=("401", "403", "503")),
    ("get", "/api/v1/notifications"): Operation(
        "The delivery log, newest first, each notification with its attempts (channel URLs "
        "masked); staff see only their own.", response=NotificationListPublic,
        errors=("401", "403", "422"),
        query={"recipient": "A staff id (staff tokens: only their own).",
               "status": "pending, sent, failed, waiting, digested, cancelled "
                         "(comma-separated).",
               "kind": "deliver, digest, page, storm_notice, admin_alert, test "
                       "(comma-separated).",
               "message_id": "Only notifications about this message.",
               "page_id": "Only notifications of this page.",
               "since": "ISO 8601 instant with a zone: created at or after.",
               "until": "ISO 8601 instant with a zone: created before.",
               "limit": "Notifications per page, 1-500 (default 50).",
               "before": "`next_before` of the previous page."}),
    ("get", "/api/v1/notifications/{id}"): Operation(
        "One notification with its attempts; staff: only their own (others' are 404).",
        response=NotificationPublic, errors=("401", "403", "404", "422")),
}
OPERATIONS.update({
    ("get", "/api/v1/report/wellbeing"): Operation(
        "The wellbeing report of one ISO week (docs/report.md): per person, per team and "
        "for the town, contacts kept from quiet hours, pages at night and who acknowledged "
        "them, abuse shielded and held, storms, on-call weeks in a row, moderators' "
        "exposure.", response=REPORT_SCHEMA, errors=("400", "401", "403", "503"),
        query=WEEK_QUERY),
    ("get", "/api/v1/report/wellbeing.csv"): Operation(
        "The same figures as CSV: the town, each team, each person, one line each.",
        response={"type": "string"}, content_type="text/csv",
        errors=("400", "401", "403", "503"), query=WEEK_QUERY),
})
OPERATIONS[("post", "/api/v1/policy/what-if")] = Operation(
    "The policy what-if: changed policy files (`files`, by name; JSON, or the files as "
    "`multipart/form-data` fields `files` with `days`) are checked as `guardian policies "
    "check` checks them, then the last `days` of stored traffic (at most `limit` messages) "
    "are replayed through the live engine under the policy in force and under the changed "
    "one: contacts, after hours, pages, digests per person, unrouted messages, and each "
    "message whose contacts changed. Errors in the files are 422, naming FILE:LINE; nothing "
    "is replayed then.", request=WhatIfIn.model_json_schema(), response=RESPONSE_SCHEMA,
    errors=("400", "401", "403", "413", "415", "422", "429", "503"))
OPERATIONS.update({key: Operation(**doc) for key, doc in open311_documentation().items()})

_MODELS: tuple[type[BaseModel], ...] = (
    MessageIn, IngestResponse, MessagePublic, ErrorResponse, HealthResponse, OverrideIn,
    OverridePublic, SwapIn, AuditEventPublic, NotificationPublic, NotificationListPublic,
    FlagIn, FlaggedItemPublic, RequestMoveIn, RequestPublic)


def _operation(method: str, path: str, roles: frozenset[Role] | str) -> dict[str, Any]:
    op = OPERATIONS[(method, path)]
    public = isinstance(roles, str)
    slug = "".join(c if c.isalnum() else "_" for c in path.strip("/").replace("{", ""))
    result: dict[str, Any] = {
        "operationId": f"{method}_{slug}".replace("__", "_").rstrip("_"),
        "summary": op.summary,
        "security": [] if public else [{"bearer": []}],
        "x-roles": [] if isinstance(roles, str) else sorted(r.value for r in roles),
        "responses": {op.ok: {"description": "Success.", "content": {
            op.content_type: {"schema": _schema(op.response or {"type": "object"})}}}},
    }
    for code, description in op.same_body.items():
        result["responses"][code] = {**result["responses"][op.ok], "description": description}
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer" if name == "id" else "string"}}
                  for name in _path_names(path)]
    parameters += [{"name": name, "in": "query", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in op.query.items()]
    if parameters:
        result["parameters"] = parameters
    if op.request is not None or op.form is not None:
        content = {"application/json": {"schema": _schema(op.request)}} if op.request else {}
        if op.form is not None:
            content["application/x-www-form-urlencoded"] = {"schema": op.form}
        result["requestBody"] = {"required": op.body_required, "content": content}
    # Every operation may answer 400 for a path or query no text can hold (NUL, unpaired
    # surrogates: the error middleware refuses them before any handler).
    for code in sorted({*op.errors, "400"}):
        description = _ERRORS[code]
        content = {"application/json": {"schema": _ref(ErrorResponse)}}
        if code == "400" and "400" not in op.errors:
            description = "A path or query holding a NUL character or an unpaired surrogate."
        elif op.errors_schema is not None:
            content[op.errors_content_type] = {"schema": {"anyOf": [
                op.errors_schema, _ref(ErrorResponse)]}}
        elif op.errors_content_type != "application/json":
            content = {op.errors_content_type: {"schema": {"type": "string"}}}
        result["responses"][code] = {"description": description, "content": content}
    return result


def _path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The document for `app`'s routes; KeyError names a route without an `OPERATIONS` entry."""
    schemas: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None or is_web_page(route.handler):
            continue
        path, method = route.resource.canonical, route.method.lower()
        access = access_of(route.handler)
        assert access is not None
        paths.setdefault(path, {})[method] = _operation(method, path, access)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Guardian", "version": __version__,
                 "description": "Moderation and staff-wellbeing guard for a town hall's "
                                "public social feed."},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "`guardian tokens create`"}},
        },
        "paths": dict(sorted(paths.items())),
    }


@routes.get("/api/v1/openapi.json", name="openapi")
@requires(*Role)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app))
