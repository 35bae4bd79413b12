"""The admin's desk: API tokens, the people who can sign in, channel health, connectors,
the pipeline's queue, the outbox's backlog, parked messages, and the policy in force.

Every action is what the CLI and the API already do, through the same functions
(guardian.storage.tokens, .accounts, .messages, guardian.notify.channels_check, the policy
store), audited under the admin's own name (`admin:<staff id>`, as an admin token bound to
them is). No secret is ever shown: channel URLs as `redact` masks them (a `{env:NAME}`
names a secret, never holds it), a new token or invitation link once, in the answer to the
form that made it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from guardian.config.secrets import secret_source
from guardian.connectors.status import connector_report
from guardian.errors import ApiError
from guardian.notify.channels import missing_secrets
from guardian.policy.model import Policy
from guardian.policy.urls import redact
from guardian.policy_files.loader import Problem
from guardian.storage.accounts import (
    INVITATION_DAYS,
    create_invitation,
    end_all_sessions,
    list_accounts,
    sign_in_states,
)
from guardian.storage.audit import audit
from guardian.storage.connectors import connector_states
from guardian.storage.db import utcnow
from guardian.storage.messages import (
    count_by_stage,
    list_parked,
    oldest_waiting,
    pending_count,
    retry_parked,
)
from guardian.storage.notifications import backlog, count_by_status, last_deliveries
from guardian.storage.tokens import TokenNameTaken, create_token, list_tokens, revoke_token
from guardian.types import PERSONAL_ROLES, Role
from guardian.web.auth import Principal, binding_problem
from guardian.web.keys import engine_key, policy_key, settings_key, worker_key
from guardian.web.overrides import policy_of
from guardian.web.ui.channels import ChannelRow, channel_rows, failing, test_channels
from guardian.web.ui.render import see_other
from guardian.web.ui.sessions import Visitor, page, person_name, roles_of, signed_in

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PARKED_SHOWN = 100
TOKEN_NAME_CHARS = 128   # api_tokens.name
MAX_INVITATION_DAYS = 30  # as `guardian people invite --days`
ROLES = (Role.ingest, Role.staff, Role.moderator, Role.hr, Role.report, Role.admin)


def _me(visitor: Visitor) -> str:
    """The admin as the audit log names them: as an admin token bound to them would."""
    return visitor.principal(Role.admin).actor


def _zone(policy: Policy | None) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(policy.town.timezone if policy is not None else "UTC")


def _when(value: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    """An instant in the town's time zone, to the minute ("" for none)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _minutes(seconds: float) -> int:
    return max(0, int(seconds // 60))


def _whole(raw: object, *, low: int, high: int) -> int | None:
    """A whole number in [low, high] from a form or a query, else None."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _admin_page(request: web.Request, visitor: Visitor, template: str, section: str,
                context: dict[str, Any], status: int = 200) -> web.Response:
    policy = request.app[policy_key].policy
    return page(request, visitor, template, {
        "section": section, "has_connectors": bool(policy and policy.connectors),
        "zone": policy.town.timezone if policy is not None else "UTC", **context}, status)


# --- the overview ---------------------------------------------------------------------------

@dataclass
class Glance:
    """The overview's figures, each with whether it needs the admin now."""

    policy_ok: bool = True
    policy_errors: int = 0
    loaded_at: str = ""
    rejected_at: str = ""
    queue_depth: int = 0
    queue_oldest_minutes: int = 0
    queue_behind: bool = False
    parked: int = 0
    backlog: int = 0
    backlog_oldest_minutes: int = 0
    failed_notifications: int = 0
    failing_channels: int = 0
    missing_secrets: int = 0
    connectors: int = 0
    troubled_connectors: list[str] = field(default_factory=list)
    live_tokens: int = 0
    people: int = 0
    with_password: int = 0


@routes.get("/admin", name="ui_admin")
@signed_in(Role.admin)
async def overview(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    store = request.app[policy_key]
    engine = request.app[engine_key]
    settings = request.app[settings_key]
    zone, now = _zone(policy), utcnow()
    counts = await count_by_stage(engine=engine)
    oldest = await oldest_waiting(engine=engine)
    waiting = await backlog(engine=engine, now=now)
    deliveries = await last_deliveries(engine=engine)
    environ = secret_source(settings)
    report = (connector_report(policy.connectors, await connector_states(engine=engine),
                               environ, now) if policy.connectors else [])
    accounts = await list_accounts(engine=engine)
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    glance = Glance(
        policy_ok=store.rejected is None, policy_errors=len(store.errors),
        loaded_at=_when(store.loaded_at, zone), rejected_at=_when(store.rejected_at, zone),
        queue_depth=pending_count(counts), queue_oldest_minutes=_minutes(age),
        queue_behind=age > policy.queue.warn_after_minutes * 60,
        parked=counts.get("failed", 0),
        backlog=sum(n for _, _, n, _ in waiting),
        backlog_oldest_minutes=_minutes(max(((now - o).total_seconds()
                                             for _, _, _, o in waiting), default=0.0)),
        failed_notifications=(await count_by_status(engine=engine)).get("failed", 0),
        failing_channels=sum(1 for d in deliveries if failing(d.last_ok, d.last_failure)),
        missing_secrets=len({(p.id, name) for p in policy.staff for c in p.channels
                             for name in missing_secrets(c, environ)}),
        connectors=len(report),
        troubled_connectors=[e["id"] for e in report
                             if e["state"] in ("failing", "missing secrets")],
        live_tokens=len(await list_tokens(engine=engine)),
        people=len(policy.staff),
        with_password=sum(1 for a in accounts
                          if a.password_hash and a.staff_id in policy.people))
    return _admin_page(request, visitor, "admin.html", "overview", {"glance": glance})


# --- tokens ---------------------------------------------------------------------------------

def _token_problem(role: Role, staff_id: str | None, policy: Policy) -> str | None:
    """Why this token may not be created (a code the page words), or None: what
    `guardian tokens create` checks, then the rule every request of the token will meet
    (`binding_problem`), so that nobody holds a token that would be refused."""
    if role in PERSONAL_ROLES and staff_id is None:
        return "person_needed"
    if role == Role.ingest and staff_id is not None:
        return "machine"
    if staff_id is not None and staff_id not in policy.people:
        return "unknown_person"
    if binding_problem(Principal(token_id=0, name="new", role=role, staff_id=staff_id),
                       policy) is not None:
        return "not_moderator"
    return None


async def _tokens_page(request: web.Request, visitor: Visitor, *, status: int = 200,
                       **context: Any) -> web.Response:
    policy = policy_of(request)
    zone = _zone(policy)
    show_revoked = request.query.get("all") == "1"
    found = await list_tokens(engine=request.app[engine_key], include_revoked=show_revoked)
    rows = [{"id": t.id, "name": t.name, "role": t.role, "prefix": t.prefix + "…",
             "person": person_name(policy, t.staff_id) if t.staff_id else "",
             "created": _when(t.created_at, zone), "revoked": _when(t.revoked_at, zone)}
            for t in found]
    people = sorted(((s.id, s.name) for s in policy.staff), key=lambda kv: kv[1])
    return _admin_page(request, visitor, "admin_tokens.html", "tokens", {
        "tokens": rows, "roles": [r.value for r in ROLES], "people": people,
        "show_revoked": show_revoked, "created": None, "error": None,
        "form": {"name": "", "role": "", "staff_id": ""},
        "revoked": _whole(request.query.get("revoked"), low=1, high=2**62),
        "name_chars": TOKEN_NAME_CHARS, **context}, status)


@routes.get("/admin/tokens", name="ui_admin_tokens")
@signed_in(Role.admin)
async def tokens_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _tokens_page(request, visitor)


@routes.post("/admin/tokens", name="ui_admin_token_create")
@signed_in(Role.admin)
async def token_create(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """The new token, shown in this answer only (the database keeps its hash)."""
    policy = policy_of(request)
    data = await request.post()
    name = str(data.get("name", "")).strip()
    raw_role = str(data.get("role", ""))
    staff_id = str(data.get("staff_id", "")).strip() or None
    form = {"name": name[:TOKEN_NAME_CHARS], "role": raw_role, "staff_id": staff_id or ""}
    error: str | None = None
    if not name:
        error = "name_missing"
    elif len(name) > TOKEN_NAME_CHARS:
        error = "name_long"
    elif raw_role not in {r.value for r in ROLES}:
        error = "role"
    else:
        error = _token_problem(Role(raw_role), staff_id, policy)
    if error is None:
        try:
            token_id, token = await create_token(
                engine=request.app[engine_key], name=name, role=Role(raw_role),
                staff_id=staff_id, actor=_me(visitor))
        except TokenNameTaken:
            error = "name_taken"
        else:
            log.info("token %s (%s) created by %s", token_id, raw_role, _me(visitor))
            return await _tokens_page(request, visitor, created={
                "id": token_id, "name": name, "role": raw_role, "token": token})
    return await _tokens_page(request, visitor, status=422, error=error, form=form)


@routes.post("/admin/tokens/{id}/revoke", name="ui_admin_token_revoke")
@signed_in(Role.admin)
async def token_revoke(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    token_id = _whole(request.match_info["id"], low=1, high=2**62)
    if token_id is None:
        raise ApiError(404, "not_found", "There is no such token.")
    count = await revoke_token(engine=request.app[engine_key], id_or_name=str(token_id),
                               actor=_me(visitor))
    if count == 0:
        raise ApiError(404, "not_found", f"No live token has the id {token_id}: it does not "
                       "exist or is revoked already.")
    return see_other(f"/admin/tokens?revoked={token_id}")


# --- people ---------------------------------------------------------------------------------

async def _people_page(request: web.Request, visitor: Visitor, **context: Any
                       ) -> web.Response:
    policy = policy_of(request)
    zone, now = _zone(policy), utcnow()
    engine = request.app[engine_key]
    accounts = {a.staff_id: a for a in await list_accounts(engine=engine)}
    states = await sign_in_states(engine=engine, now=now)
    rows = []
    for person in policy.staff:
        account = accounts.get(person.id)
        state = states.get(person.id)
        rows.append({
            "id": person.id, "name": person.name,
            "roles": [r.value for r in ROLES if r in roles_of(policy, person.id)],
            "password_set": _when(account.password_set_at if account else None, zone),
            "lang": account.lang if account and account.lang else "",
            "sessions": state.sessions if state else 0,
            "last_seen": _when(state.last_seen_at if state else None, zone),
            "invited_until": _when(state.invitation_expires_at if state else None, zone)})
    q = request.query
    return _admin_page(request, visitor, "admin_people.html", "people", {
        "people": rows, "invited": None, "days": INVITATION_DAYS,
        "max_days": MAX_INVITATION_DAYS,
        "signed_out": q.get("signed_out", "") if q.get("signed_out") in policy.people else "",
        "signed_out_name": person_name(policy, q.get("signed_out", "")),
        "sessions_ended": _whole(q.get("sessions"), low=0, high=10**6) or 0, **context})


@routes.get("/admin/people", name="ui_admin_people")
@signed_in(Role.admin)
async def people_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _people_page(request, visitor)


def _person_of(policy: Policy, raw: object) -> str:
    staff_id = str(raw or "").strip()
    if staff_id not in policy.people:
        raise ApiError(404, "not_found", f"There is no staff member {staff_id[:64]!r} in the "
                       "policy.")
    return staff_id


@routes.post("/admin/people/invite", name="ui_admin_invite")
@signed_in(Role.admin)
async def invite(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """A one-time link for the person to set a password (as `guardian people invite`),
    shown in this answer only: the admin sends it on a channel they trust."""
    policy = policy_of(request)
    data = await request.post()
    staff_id = _person_of(policy, data.get("staff_id"))
    days = _whole(str(data.get("days", INVITATION_DAYS)).strip(), low=1,
                  high=MAX_INVITATION_DAYS)
    if days is None:
        raise ApiError(422, "invalid", f"`days` must be a whole number from 1 to "
                       f"{MAX_INVITATION_DAYS}.")
    token = await create_invitation(engine=request.app[engine_key], staff_id=staff_id,
                                    created_by=_me(visitor), now=utcnow(), days=days)
    link = f"{request.app[settings_key].base_url}/invitation/{token}"
    return await _people_page(request, visitor, invited={
        "staff_id": staff_id, "name": person_name(policy, staff_id), "link": link,
        "days": days})


@routes.post("/admin/people/signout", name="ui_admin_signout")
@signed_in(Role.admin)
async def signout_person(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """End every session of a person now (a lost phone, someone leaving)."""
    staff_id = _person_of(policy_of(request), (await request.post()).get("staff_id"))
    count = await end_all_sessions(engine=request.app[engine_key], staff_id=staff_id,
                                   actor=_me(visitor), now=utcnow())
    return see_other("/admin/people?" + urlencode({"signed_out": staff_id,
                                                   "sessions": count}))


# --- channels -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonChannels:
    id: str
    name: str
    channels: list[ChannelRow]


async def _channels_page(request: web.Request, visitor: Visitor, **context: Any
                         ) -> web.Response:
    policy = policy_of(request)
    settings = request.app[settings_key]
    zone = _zone(policy)
    environ = secret_source(settings)
    logged = {(d.recipient, d.channel_index): d
              for d in await last_deliveries(engine=request.app[engine_key])}
    people = []
    for person in policy.staff:
        rows = channel_rows(person, logged, environ, lambda at: _when(at, zone))
        people.append(PersonChannels(person.id, person.name, rows))
    return _admin_page(request, visitor, "admin_channels.html", "channels", {
        "people": people, "tested": None,
        "deliver_to": redact(settings.deliver_to) if settings.deliver_to else "", **context})


@routes.get("/admin/channels", name="ui_admin_channels")
@signed_in(Role.admin)
async def channels_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _channels_page(request, visitor)


@routes.post("/admin/channels/test", name="ui_admin_channels_test")
@signed_in(Role.admin)
async def channels_test(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """A short test message on each of a person's channels, as `guardian channels test`:
    through apprise directly, not the outbox; each result with its URL masked."""
    policy = policy_of(request)
    staff_id = _person_of(policy, (await request.post()).get("staff_id"))
    person = policy.people[staff_id]
    results = await test_channels(person, request.app[settings_key])
    async with request.app[engine_key].begin() as conn:
        await audit(conn=conn, actor=_me(visitor), action="channels.test",
                    subject=f"person:{staff_id}",
                    details={"ok": sum(r.ok for r in results),
                             "failed": sum(not r.ok for r in results)})
    return await _channels_page(request, visitor, tested={
        "staff_id": staff_id, "name": person.name, "results": results})


# --- the pipeline: queue, outbox, parked messages -----------------------------------------

@routes.get("/admin/messages", name="ui_admin_messages")
@signed_in(Role.admin)
async def messages_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    engine = request.app[engine_key]
    zone, now = _zone(policy), utcnow()
    counts = await count_by_stage(engine=engine)
    oldest = await oldest_waiting(engine=engine)
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    waiting = sorted(await backlog(engine=engine, now=now), key=lambda r: r[3])
    channels = {p.id: p.channels for p in policy.staff}
    outbox = [{"recipient": recipient, "name": person_name(policy, recipient),
               "channel": index + 1,
               "shown": redact(channels[recipient][index])
               if index < len(channels.get(recipient, ())) else "",
               "count": count, "oldest_minutes": _minutes((now - due).total_seconds())}
              for recipient, index, count, due in waiting]
    parked = await list_parked(engine=engine, limit=PARKED_SHOWN)
    return _admin_page(request, visitor, "admin_messages.html", "messages", {
        "stages": {k: v for k, v in counts.items() if k != "failed"},
        "depth": pending_count(counts), "oldest_minutes": _minutes(age),
        "warn_minutes": policy.queue.warn_after_minutes,
        "behind": age > policy.queue.warn_after_minutes * 60,
        "statuses": await count_by_status(engine=engine), "outbox": outbox,
        "parked": [{"id": m.id, "source": m.source, "external_id": m.external_id,
                    "stage": m.stage, "attempts": m.attempts,
                    "received": _when(m.received_at, zone),
                    "failed": _when(m.failed_at, zone),
                    "error": (m.last_error or "")[:300]} for m in parked],
        "parked_total": counts.get("failed", 0), "parked_shown": PARKED_SHOWN,
        "retried": _whole(request.query.get("retried"), low=0, high=10**9)})


@routes.post("/admin/messages/retry", name="ui_admin_retry")
@signed_in(Role.admin)
async def retry(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """Re-drive parked messages (one, or every one) as `POST /api/v1/messages/retry`:
    back in the queue at once, attempts counted afresh; audited."""
    data = await request.post()
    every = data.get("all") == "1"
    ids = [i for v in data.getall("ids", [])
           if (i := _whole(v, low=1, high=2**62)) is not None]
    if not every and not ids:
        raise ApiError(422, "invalid", "Choose a parked message to re-drive, or all of them.")
    async with request.app[engine_key].begin() as conn:
        done = await retry_parked(conn=conn, now=utcnow(), ids=None if every else ids)
        await audit(conn=conn, actor=_me(visitor), action="messages.retry",
                    subject="messages", details={"ids": done})
    worker = request.app.get(worker_key)
    if done and worker is not None:
        worker.wake()
    return see_other(f"/admin/messages?retried={len(done)}")


# --- connectors -----------------------------------------------------------------------------

@routes.get("/admin/connectors", name="ui_admin_connectors")
@signed_in(Role.admin)
async def connectors_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    zone, now = _zone(policy), utcnow()
    report = (connector_report(policy.connectors,
                               await connector_states(engine=request.app[engine_key]),
                               secret_source(request.app[settings_key]), now)
              if policy.connectors else [])

    def local(raw: str | None) -> str:
        return _when(dt.datetime.fromisoformat(raw), zone) if raw else ""

    rows = [{**entry, "last_event": local(entry["last_event_at"]),
             "last_fetch": local(entry["last_fetch_at"]),
             "wait": local(entry["wait_until"]),
             "lag_minutes": _minutes(entry["lag_seconds"])
             if entry["lag_seconds"] is not None else None} for entry in report]
    return _admin_page(request, visitor, "admin_connectors.html", "connectors",
                       {"connectors": rows})


# --- the policy -----------------------------------------------------------------------------

def policy_state(request: web.Request) -> dict[str, Any]:
    """The policy in force and the last load attempt, as the admin's and HR's policy pages
    show it: when it was loaded, whether newer files were refused, every error and warning
    with its file (by its name in the policies' directory) and line, and the summary. No
    secret: the problems' sentences never quote one (the loader masks channel URLs)."""
    policy = policy_of(request)
    store = request.app[policy_key]
    zone = _zone(policy)

    def name(file: str) -> str:
        path = Path(file)
        return str(path.relative_to(store.directory)) if path.is_relative_to(
            store.directory) else file

    def shown(problems: list[Problem]) -> list[dict[str, Any]]:
        return [{"file": name(p.file), "line": p.line, "message": p.message}
                for p in problems]

    return {
        "directory": str(store.directory), "loaded_at": _when(store.loaded_at, zone),
        "rejected_at": _when(store.rejected_at, zone), "rejected": store.rejected is not None,
        "errors": shown(store.errors), "warnings": shown(store.warnings),
        "files": [name(f) for f in store.current.files],
        "summary": policy.summary(), "town": policy.town.name}


@routes.get("/admin/policy", name="ui_admin_policy")
@signed_in(Role.admin)
async def policy_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    reloaded = request.query.get("reloaded", "")
    return _admin_page(request, visitor, "admin_policy.html", "policy", {
        **policy_state(request),
        "reloaded": reloaded if reloaded in ("loaded", "refused") else ""})


@routes.post("/admin/policy/reload", name="ui_admin_policy_reload")
@signed_in(Role.admin)
async def policy_reload(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """Read the policy files now (as SIGHUP does; the service also does when they change).
    Files with errors leave the policy in force as it was, and the page lists the errors."""
    store = request.app[policy_key]
    loaded = await asyncio.to_thread(store.reload)
    outcome = "loaded" if loaded else "refused"
    async with request.app[engine_key].begin() as conn:
        await audit(conn=conn, actor=_me(visitor), action="policy.reload", subject="policy",
                    details={"loaded": loaded, "errors": len(store.errors)})
    return see_other(f"/admin/policy?reloaded={outcome}")
