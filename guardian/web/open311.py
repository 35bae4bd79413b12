"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) under `/open311/v2`, so
FixMyStreet-compatible apps can report street problems and follow them.

Every endpoint answers in both of the specification's formats, each its own route
(`services.json` and `services.xml`...), and errors in its shape: JSON
`[{"code": 404, "description": "..."}]`, XML `<errors><error><code>…`.

- Discovery (`services`): one service per policy category, owned by a team.
- `POST requests`: a citizen's report, stored as ingest stores a message (source
  `open311`), so it goes through the same pipeline: scored, routed, delivered.
- `GET requests`, `GET requests/{id}`: where the reports that came through Open311 are,
  public as the specification has it.
- `GET tokens/{token}`: every request gets its id at once, so no token is ever issued and
  this always answers 404 (the specification allows either).

Access: discovery and the public lists are `@public` as in the specification; the POST is
`@public` as well, because GeoReport clients send an `api_key` form field rather than an
`Authorization` header: the key (a Guardian `ingest` token) is checked here, with the same
`TokenVerifier` as the bearer tokens, and a missing or wrong one answers the spec's 403.
So none of these routes is in tests/web/test_access.py's MATRIX.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from guardian import metrics
from guardian.decide.lifecycle import is_request
from guardian.policy.model import Category, Policy, Team
from guardian.schemas import AuthorIn, MessageIn
from guardian.storage.db import utcnow
from guardian.storage.messages import announce, messages_table, store_messages
from guardian.storage.models import Message, RequestState
from guardian.storage.requests import request_states_table
from guardian.types import RequestStatus, Role, instant_in_range
from guardian.web.access import public
from guardian.web.bodies import unsafe_text
from guardian.web.keys import (
    clock_key,
    engine_key,
    policy_key,
    settings_key,
    triage_key,
    verifier_key,
    worker_key,
)

routes = web.RouteTableDef()

BASE = "/open311/v2"
SOURCE = "open311"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
ANONYMOUS = "open311:anonymous"
MAX_RESULTS = 1000          # the specification's cap on one answer
DEFAULT_DAYS = 90           # and its default period
_BATCH = 500
# What a citizen may read of where a request is: neutral sentences, never the reason a
# request was closed (staff write it for staff) nor who moved it.
STATUS_NOTES = {
    RequestStatus.received: "Recibido.",
    RequestStatus.acknowledged: "Visto por el servicio responsable.",
    RequestStatus.in_progress: "En curso.",
    RequestStatus.resolved: "Resuelto.",
    RequestStatus.closed: "Cerrado.",
}
_CLOSED = frozenset({RequestStatus.resolved, RequestStatus.closed})
# Where lat/long go: the message's link is a map of the spot, which staff open from the
# notification, and which the public list reads the coordinates back from.
_MAP = "https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=19/{lat}/{long}"
_MAP_RE = re.compile(r"^https://www\.openstreetmap\.org/\?mlat=(-?[\d.]+)&mlon=(-?[\d.]+)#")
# Characters XML 1.0 cannot hold even escaped; citizen text may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# --- the documents' shapes, for the OpenAPI document (guardian/web/openapi.py) ------------

ERRORS_SCHEMA: dict[str, Any] = {
    "type": "array", "description": "GeoReport v2 errors.", "items": {
        "type": "object", "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}
SERVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "service_name", "description", "metadata", "type",
                 "keywords", "group"],
    "properties": {"service_code": {"type": "string"}, "service_name": {"type": "string"},
                   "description": {"type": "string"}, "metadata": {"type": "boolean"},
                   "type": {"enum": ["realtime", "batch", "blackbox"]},
                   "keywords": {"type": "string"}, "group": {"type": "string"}}}
DEFINITION_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["service_code", "attributes"],
    "properties": {"service_code": {"type": "string"},
                   "attributes": {"type": "array", "maxItems": 0}}}
CREATED_SCHEMA: dict[str, Any] = {
    "type": "array", "items": {
        "type": "object", "required": ["service_request_id", "service_notice", "account_id"],
        "properties": {"service_request_id": {"type": "string"},
                       "service_notice": {"type": "string"},
                       "account_id": {"type": "null"}}}}
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["service_request_id", "status", "status_notes", "service_name",
                 "service_code", "agency_responsible", "requested_datetime",
                 "updated_datetime"],
    "properties": {"service_request_id": {"type": "string"},
                   "status": {"enum": ["open", "closed"]},
                   "status_notes": {"type": "string"}, "service_name": {"type": "string"},
                   "service_code": {"type": "string"}, "description": {"type": "string"},
                   "agency_responsible": {"type": "string"},
                   "requested_datetime": {"type": "string"},
                   "updated_datetime": {"type": "string"},
                   "lat": {"type": "number"}, "long": {"type": "number"}}}
_FIELD = {"type": "string"}
FORM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["api_key", "service_code", "description"],
    "properties": {name: _FIELD for name in (
        "api_key", "service_code", "description", "lat", "long", "address_string", "email",
        "first_name", "last_name", "phone", "media_url", "device_id", "account_id")}}
LIST_QUERY = {
    "service_request_id": "Request ids, comma-separated; the other filters are then ignored.",
    "service_request_ids": "The same as `service_request_id`.",
    "service_code": "Service codes, comma-separated.",
    "start_date": "W3C date-time: requested at or after (default: 90 days before end_date).",
    "end_date": "W3C date-time: requested before (default: now).",
    "status": "`open` or `closed`, comma-separated.",
}


def documentation() -> dict[tuple[str, str], dict[str, Any]]:
    """The `Operation` arguments of every route, for guardian/web/openapi.py."""
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    for fmt, content_type in (("json", "application/json"), ("xml", "application/xml")):
        def shape(schema: dict[str, Any], _json: bool = fmt == "json") -> dict[str, Any]:
            return schema if _json else {"type": "string"}

        common: dict[str, Any] = {"content_type": content_type,
                                  "errors_content_type": content_type,
                                  "errors_schema": shape(ERRORS_SCHEMA)}
        docs[("get", f"{BASE}/services.{fmt}")] = dict(
            summary="Open311 GeoReport v2: the services (one per category of the policy).",
            response=shape({"type": "array", "items": SERVICE_SCHEMA}), **common)
        docs[("get", f"{BASE}/services/{{service_code}}.{fmt}")] = dict(
            summary="Open311: a service's definition (no service has attributes); 404 for "
                    "an unknown code.", response=shape(DEFINITION_SCHEMA), errors=("404",),
            **common)
        docs[("post", f"{BASE}/requests.{fmt}")] = dict(
            summary="Open311: report a problem (a form, with an ingest token as `api_key`): "
                    "stored as a message from `open311`. 403 for a missing or wrong key; "
                    "400 for a missing field or an unknown service. Personal data (email, "
                    "phone, names) is not kept.", response=shape(CREATED_SCHEMA),
            form=FORM_SCHEMA, errors=("400", "403", "413"), **common)
        docs[("get", f"{BASE}/requests.{fmt}")] = dict(
            summary="Open311: the requests that came through Open311 (last 90 days, at most "
                    "1000), newest first.", response=shape({"type": "array",
                                                            "items": REQUEST_SCHEMA}),
            errors=("400",), query=LIST_QUERY, **common)
        docs[("get", f"{BASE}/requests/{{id}}.{fmt}")] = dict(
            summary="Open311: one request that came through Open311.",
            response=shape({"type": "array", "items": REQUEST_SCHEMA, "maxItems": 1}),
            errors=("404",), **common)
        docs[("get", f"{BASE}/tokens/{{token}}.{fmt}")] = dict(
            summary="Open311: a token's request. Ids are given at once, so no token is "
                    "issued: always 404.", response=shape({"type": "array"}),
            errors=("404",), **common)
    return docs


# --- answering in both formats ------------------------------------------------------------

class GeoError(Exception):
    """An error answered in the GeoReport shape."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass(frozen=True)
class Answer:
    root: str                                  # the XML root: services, service_requests...
    item: str                                  # each item's element: service, request...
    body: list[dict[str, Any]] | dict[str, Any]  # a dict: the root's children themselves
    status: int = 200


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            continue  # only empty lists here (a definition's attributes)
        if value is not None:
            child.text = _xml_text(value)  # ElementTree escapes <, & and quotes


def _xml(answer: Answer) -> web.Response:
    root = ET.Element(answer.root)
    if isinstance(answer.body, dict):
        _fill(root, answer.body)
    else:
        for item in answer.body:
            _fill(ET.SubElement(root, answer.item), item)
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
    return web.Response(text=text, status=answer.status, content_type="application/xml",
                        charset="utf-8")


def _render(answer: Answer, fmt: str) -> web.Response:
    if fmt == "xml":
        return _xml(answer)
    return web.json_response(answer.body, status=answer.status)


def _error(error: GeoError, fmt: str) -> web.Response:
    return _render(Answer("errors", "error", [{"code": error.status,
                                              "description": error.description}],
                          status=error.status), fmt)


Impl = Callable[[web.Request], Awaitable[Answer]]


def _handler(impl: Impl, fmt: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    @public
    async def handle(request: web.Request) -> web.Response:
        try:
            return _render(await impl(request), fmt)
        except GeoError as exc:
            return _error(exc, fmt)

    handle.__doc__ = impl.__doc__
    return handle


def _route(method: str, path: str, name: str) -> Callable[[Impl], Impl]:
    """Register `impl` at `{BASE}/{path}.json` and `.xml`."""
    def register(impl: Impl) -> Impl:
        for fmt in ("json", "xml"):
            routes.route(method, f"{BASE}/{path}.{fmt}", name=f"open311_{name}_{fmt}")(
                _handler(impl, fmt))
        return impl
    return register


# --- services -----------------------------------------------------------------------------

def _readable(category_id: str) -> str:
    """`street_lighting` → "Street lighting"."""
    return category_id.replace("_", " ").replace("-", " ").capitalize()


def _owners(policy: Policy) -> dict[str, Team]:
    return {c: team for team in policy.teams for c in team.categories}


def _service(category: Category, team: Team | None) -> dict[str, Any]:
    keywords = dict.fromkeys(k for words in category.keywords.values() for k in words)
    name = _readable(category.id)
    return {"service_code": category.id, "service_name": name,
            "description": f"{name}: {team.name}" if team else name, "metadata": False,
            "type": "realtime", "keywords": ", ".join(keywords),
            "group": team.name if team else ""}


def _policy(request: web.Request) -> Policy | None:
    return request.app[policy_key].policy


@_route("GET", "services", "services")
async def services(request: web.Request) -> Answer:
    """The services: one per category of the policy, grouped by the team that owns it."""
    policy = _policy(request)
    if policy is None:
        return Answer("services", "service", [])
    owners = _owners(policy)
    return Answer("services", "service",
                  [_service(c, owners.get(c.id)) for c in policy.categories])


@_route("GET", "services/{service_code}", "service")
async def service_definition(request: web.Request) -> Answer:
    """A service's definition: none has attributes (`metadata` is false for all)."""
    code = request.match_info["service_code"]
    policy = _policy(request)
    if policy is None or all(c.id != code for c in policy.categories):
        raise GeoError(404, f"There is no service `{code}`.")
    return Answer("service_definition", "attribute", {"service_code": code, "attributes": []})


@_route("GET", "tokens/{token}", "token")
async def token(request: web.Request) -> Answer:
    """Ids are given at once (`POST requests` answers `service_request_id`), so no token is
    ever issued, and none is found."""
    raise GeoError(404, "No such token: requests get their service_request_id at once.")


# --- reporting ----------------------------------------------------------------------------

async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type not in FORMS:
        raise GeoError(400, "Send the request as a form (application/x-www-form-urlencoded).")
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError):
        raise GeoError(400, "The form could not be read; send it as UTF-8.") from None
    fields = {name: value.strip() for name, value in form.items() if isinstance(value, str)}
    bad = sorted(name for name, value in fields.items() if unsafe_text(name + value))
    if bad:
        raise GeoError(400, f"`{bad[0]}` holds a NUL character or an unpaired surrogate.")
    return fields


async def _check_key(request: web.Request, key: str | None) -> None:
    principal = await request.app[verifier_key].verify(key) if key else None
    if principal is None or principal.role not in (Role.ingest, Role.admin):
        raise GeoError(403, "api_key is missing or not valid: it must be an ingest token.")


def _coordinate(fields: dict[str, str], name: str, limit: float) -> float | None:
    raw = fields.get(name) or None
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > limit:
        raise GeoError(400, f"`{name}` must be a number between -{limit:g} and {limit:g}.")
    return value


@_route("POST", "requests", "create")
async def create(request: web.Request) -> Answer:
    """A citizen's report, stored as a message from `open311` (the ingest path)."""
    fields = await _form(request)
    await _check_key(request, fields.get("api_key"))
    code, description = fields.get("service_code"), fields.get("description")
    if not code:
        raise GeoError(400, "service_code is required.")
    policy = _policy(request)
    if policy is None or all(c.id != code for c in policy.categories):
        raise GeoError(400, f"service_code `{code}` is not a service here; see services.json.")
    if not description:
        raise GeoError(400, "description is required: it is what the crew reads.")
    lat, long = _coordinate(fields, "lat", 90), _coordinate(fields, "long", 180)
    if (lat is None) != (long is None):
        raise GeoError(400, "lat and long go together.")
    address = fields.get("address_string")
    # The text is what staff read: the description, and where, since the crew needs the
    # place. The service_code only has to be one of ours: the pipeline routes on the text,
    # as it does every message.
    text = f"{description}\n{address}" if address else description
    limit = request.app[settings_key].max_text_chars
    if len(text) > limit:
        raise GeoError(400, f"description and address_string are {len(text)} characters "
                       f"long together; the limit is {limit}.")
    now = request.app[clock_key]()
    # GDPR: of the personal data a report may carry (email, phone, first and last name,
    # device_id), only the author handle chosen here is stored, as for any message (rate
    # limits, sanctions and the rights of access and erasure go by it); the rest is read
    # and forgotten. media_url is not fetched nor kept.
    handle = fields.get("account_id") or fields.get("email") or ANONYMOUS
    try:
        message = MessageIn(
            # The service the citizen chose travels in the id: the pipeline routes on the
            # text, but the request is followed under the service it was made for.
            source=SOURCE, external_id=f"o311-{code}-{secrets.token_hex(8)}",
            author=AuthorIn(handle=handle[:256]),
            text=text, created_at=now, lang=None,
            url=_MAP.format(lat=lat, long=long) if lat is not None else None)
    except ValidationError as exc:
        raise GeoError(400, f"The request is not valid: {exc.errors()[0]['msg']}.") from None
    engine = request.app[engine_key]
    # Before the transaction: triage may read the overrides (SQLite has one connection).
    priorities = await request.app[triage_key].priorities([message], now)
    async with engine.begin() as conn:
        [stored] = await store_messages(conn=conn, messages=[message], now=now,
                                        priorities=priorities)
        if worker_key not in request.app:
            await announce(conn)  # no worker here to wake: those of other processes
    metrics.INGESTED.inc()
    if worker_key in request.app:
        request.app[worker_key].wake()
    return Answer("service_requests", "request", [{
        "service_request_id": str(stored.id),
        "service_notice": "Recibido: lo verá el servicio responsable. Siga su estado con "
                          "este número.",
        "account_id": None}])


# --- following requests -------------------------------------------------------------------

_REQUESTED = re.compile(r"^o311-([a-z0-9][a-z0-9_-]{0,63})-[0-9a-f]{16}$")


def _item(message: Message, state: RequestState | None, policy: Policy | None
          ) -> dict[str, Any]:
    decision = message.decision or {}
    status = RequestStatus(state.status) if state else RequestStatus.received
    requested = _REQUESTED.match(message.external_id)
    code = (requested[1] if requested else
            state.category if state else str(decision.get("category") or ""))
    team_id = state.team if state else str(decision.get("team") or "")
    if not team_id and policy is not None:  # still in the pipeline: the service's team
        team_id = next((t.id for t in policy.teams if code in t.categories), "")
    team = policy.team_index.get(team_id) if policy else None
    item: dict[str, Any] = {
        "service_request_id": str(message.id),
        "status": "closed" if status in _CLOSED else "open",
        "status_notes": STATUS_NOTES[status],
        "service_name": _readable(code), "service_code": code,
        "agency_responsible": team.name if team else team_id,
        "requested_datetime": message.created_at.isoformat(timespec="seconds"),
        "updated_datetime": (state.changed_at if state else message.received_at)
        .isoformat(timespec="seconds"),
    }
    # This list is public: a text judged hostile in any degree is never republished (it
    # would hand its author an audience, and might name a member of staff); only a text
    # the scorer found harmless is, and then as staff see it.
    if message.harassment_level == "none":
        item["description"] = (message.masked_text if message.masked_text is not None
                               else message.text)
    place = _MAP_RE.match(message.url or "")
    if place:
        item["lat"], item["long"] = float(place[1]), float(place[2])
    return item


def _listed(row: dict[str, Any]) -> tuple[Message, RequestState | None]:
    state_values = {col.name: row[f"state_{col.name}"] for col in request_states_table.c}
    message = Message.model_validate({k: v for k, v in row.items()
                                      if not k.startswith("state_")})
    state = (RequestState.model_validate(state_values)
             if state_values["message_id"] is not None else None)
    return message, state


def _select() -> Any:
    s = request_states_table.c
    return (select(messages_table, *(col.label(f"state_{col.name}") for col in s))
            .select_from(messages_table.outerjoin(
                request_states_table, s.message_id == messages_table.c.id))
            .where(messages_table.c.source == SOURCE))


def _ids(raw: str) -> list[int]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > MAX_RESULTS or not all(i.isascii() and i.isdigit() and len(i) <= 18
                                         for i in ids):
        raise GeoError(400, "service_request_id must be whole numbers, comma-separated "
                            f"(at most {MAX_RESULTS}).")
    return [int(i) for i in ids]


def _instant(raw: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or not instant_in_range(value):
        raise GeoError(400, f"{name} must be a W3C date-time, e.g. 2026-05-01T00:00:00Z.")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _choices(raw: str | None, name: str, allowed: tuple[str, ...] | None = None
             ) -> set[str] | None:
    if raw is None:
        return None
    chosen = {part.strip() for part in raw.split(",") if part.strip()}
    if allowed is not None and not chosen <= set(allowed):
        raise GeoError(400, f"{name} must be one or more of: {', '.join(allowed)}.")
    return chosen


async def _rows(request: web.Request, statement: Any) -> list[tuple[Message, RequestState |
                                                                    None]]:
    """Up to MAX_RESULTS requests of `statement` (newest first), read in batches: those
    still in the pipeline and those that became requests (held or dropped ones do not)."""
    found: list[tuple[Message, RequestState | None]] = []
    before: int | None = None
    async with request.app[engine_key].connect() as conn:
        while len(found) < MAX_RESULTS:
            page = statement.order_by(messages_table.c.id.desc()).limit(_BATCH)
            if before is not None:
                page = page.where(messages_table.c.id < before)
            rows = (await conn.execute(page)).mappings().all()
            for row in rows:
                message, state = _listed(dict(row))
                # A request being decided is followed at once (open, received): the
                # citizen has its number; once decided, only what became a request.
                pending = message.decision is None and message.failed_at is None
                if pending or is_request(message.decision):
                    found.append((message, state))
            if len(rows) < _BATCH:
                break
            before = rows[-1]["id"]
    return found[:MAX_RESULTS]


@_route("GET", "requests", "requests")
async def list_requests(request: web.Request) -> Answer:
    """The requests that came through Open311, newest first.

    Only those: the other messages are posts on social networks, whose text a public
    endpoint must not republish (nor tell who wrote to the town hall)."""
    query = request.query
    raw_ids = query.get("service_request_id") or query.get("service_request_ids")
    statement = _select()
    codes = statuses = None
    if raw_ids:  # the specification: ids override every other filter
        statement = statement.where(messages_table.c.id.in_(_ids(raw_ids)))
    else:
        end = _instant(query["end_date"], "end_date") if "end_date" in query else utcnow()
        start = (_instant(query["start_date"], "start_date") if "start_date" in query
                 else end - dt.timedelta(days=DEFAULT_DAYS))
        statement = statement.where(messages_table.c.created_at >= start,
                                    messages_table.c.created_at < end)
        codes = _choices(query.get("service_code"), "service_code")
        statuses = _choices(query.get("status"), "status", ("open", "closed"))
    policy = _policy(request)
    items = []
    for message, state in await _rows(request, statement):
        item = _item(message, state, policy)
        if (codes is None or item["service_code"] in codes) and (
                statuses is None or item["status"] in statuses):
            items.append(item)
    return Answer("service_requests", "request", items)


@_route("GET", "requests/{id}", "request")
async def one_request(request: web.Request) -> Answer:
    """One request that came through Open311 (others are 404, as if they did not exist)."""
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise GeoError(404, f"There is no request `{raw}`.")
    found = await _rows(request, _select().where(messages_table.c.id == int(raw)))
    if not found:
        raise GeoError(404, f"There is no request `{raw}`.")
    message, state = found[0]
    return Answer("service_requests", "request", [_item(message, state, _policy(request))])
