"""The message page for staff: what the "Ver el mensaje" link of a notification opens.

Two doors to one page. Signed in, `/messages/{id}` (a person sees the messages they were
told about and their teams' requests, as the API's rule). Without signing in, the signed
link every notification carries for its recipient, `/m/{token}` (also `/flag/{token}`, the
older flag link: the same token, the same page), which names the message and the person.

The page shows the masked text only, never the hostile original; the category and team by
their names in the policy; for a request, its status with the moves allowed from there;
and the way to say "this was abusive". Every action answers with a redirect to the page,
which says what happened (a reload repeats nothing); a refused action shows the page
again with the reason and a 4xx status, having changed nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from guardian.acks.links import FlagClaim, LinkError, read_flag_token
from guardian.decide.lifecycle import NEXT, is_request
from guardian.errors import ApiError
from guardian.policy.model import Policy
from guardian.policy.names import category_name, person_name, person_zone, team_name
from guardian.review.queue import flag_message, staff_flagger
from guardian.storage.accounts import get_account
from guardian.storage.db import utcnow
from guardian.storage.inbox import mark_read
from guardian.storage.messages import read_message
from guardian.storage.models import Message
from guardian.storage.notifications import was_notified
from guardian.storage.requests import request_state
from guardian.types import RequestStatus, ReviewStatus, Role
from guardian.web.access import public, web_page
from guardian.web.keys import engine_key, policy_key, settings_key
from guardian.web.requests import move_request
from guardian.web.ui.i18n import choose_language
from guardian.web.ui.render import html, render, see_other
from guardian.web.ui.sessions import Visitor, guest_of, page, person_languages, signed_in

routes = web.RouteTableDef()

MAX_NOTE = 500
MAX_REASON = 500
# What `?done=` may say after an action (anything else is ignored).
NOTICES = frozenset({"flagged", "flagged_again", "reviewed", "moved"})


@dataclass(frozen=True)
class Reader:
    """Who reads the page, and where its forms post."""

    staff_id: str
    lang: str
    base: str          # /messages/{id} or /m/{token}: the page itself
    flag_action: str
    status_action: str


def _policy(request: web.Request) -> Policy | None:
    return request.app[policy_key].policy


async def language_of(request: web.Request, staff_id: str) -> str:
    """The person's chosen language (their account), else their first in the policy."""
    account = await get_account(engine=request.app[engine_key], staff_id=staff_id)
    return choose_language(account.lang if account else None,
                           person_languages(_policy(request), staff_id))


def local_time(policy: Policy | None, staff_id: str, at: dt.datetime) -> str:
    """`at` on the person's clock (their time zone, else the town's)."""
    return at.astimezone(person_zone(policy, staff_id)).strftime("%d/%m/%Y %H:%M")


def shown_text(message: Message) -> tuple[str, bool]:
    """What staff may read (the masked text; nothing of a hostile message not yet masked)
    and whether parts were hidden."""
    if message.masked_text is not None:
        return message.masked_text, message.masked_text != message.text
    if message.harassment_level in (None, "none"):
        return message.text, False
    return "", True


def _actor_name(policy: Policy | None, actor: str | None) -> str:
    """"staff:antonio" → "Antonio Ruiz"; other actors (an API token's name) as they are."""
    if not actor:
        return ""
    kind, _, ident = actor.partition(":")
    if kind in ("staff", "person", "link", "web") and ident:
        return person_name(policy, ident)
    return actor


async def _context(request: web.Request, message: Message, reader: Reader,
                   error: str = "") -> dict[str, Any]:
    policy = _policy(request)
    decision = message.decision or {}
    text, hidden = shown_text(message)
    state = None
    moves: list[str] = []
    if is_request(decision):
        async with request.app[engine_key].connect() as conn:
            state = await request_state(conn=conn, message_id=message.id or 0)
        current = RequestStatus(state.status) if state else RequestStatus.received
        moves = [s.value for s in RequestStatus if s in NEXT[current]]
    done = request.query.get("done", "")
    now_status = request.query.get("status", "")
    return {
        "message": message, "text": text, "hidden": hidden, "reader": reader,
        "category": category_name(policy, decision.get("category"), reader.lang),
        "team": team_name(policy, decision.get("team")),
        "received": local_time(policy, reader.staff_id, message.received_at),
        "is_request": is_request(decision),
        "status": (state.status if state else RequestStatus.received.value),
        "changed_by": _actor_name(policy, state.changed_by) if state else "",
        "changed_at": local_time(policy, reader.staff_id, state.changed_at)
        if state and state.changed_at else "",
        "moves": moves, "max_note": MAX_NOTE, "max_reason": MAX_REASON,
        "done": done if done in NOTICES else "",
        "done_status": now_status if now_status in RequestStatus.__members__ else "",
        "error": error,
    }


def _after(reader: Reader, **query: str) -> web.Response:
    return see_other(f"{reader.base}?{urlencode(query)}")


# Shows the page again with what went wrong (`error`: reason, note, conflict, status) and
# the status to answer with; nothing was changed.
Show = Callable[[str, int], Awaitable[web.Response]]


async def _flag(request: web.Request, message: Message, reader: Reader, via: str,
                show: Show) -> web.Response:
    form = await request.post()
    raw = form.get("note")
    note = raw.strip() if isinstance(raw, str) else ""
    if len(note) > MAX_NOTE:
        return await show("note", 422)
    async with request.app[engine_key].begin() as conn:
        flagged = await flag_message(conn=conn, message_id=message.id or 0,
                                     flagger=staff_flagger(reader.staff_id), via=via,
                                     note=note or None)
    if flagged is None:
        raise ApiError(404, "not_found", f"Message {message.id} no longer exists.")
    if flagged.item.status == ReviewStatus.decided.value:
        return _after(reader, done="reviewed")
    return _after(reader, done="flagged" if flagged.new else "flagged_again")


async def _move(request: web.Request, message: Message, reader: Reader, actor: str,
                show: Show) -> web.Response:
    form = await request.post()
    raw_status, raw_reason = form.get("status"), form.get("reason")
    reason = raw_reason.strip()[:MAX_REASON] if isinstance(raw_reason, str) else ""
    if not isinstance(raw_status, str) or raw_status not in RequestStatus.__members__:
        return await show("status", 422)
    if not is_request(message.decision):
        raise ApiError(404, "not_found", f"Message {message.id} is not a request.")
    new = RequestStatus(raw_status)
    if new == RequestStatus.closed and not reason:
        return await show("reason", 422)
    try:
        after, _ = await move_request(request.app, message, new, reason or None, True, actor)
    except ApiError as exc:
        if exc.status == 409:
            return await show("conflict", 409)
        raise
    return _after(reader, done="moved", status=after.status)


# -- signed in ---------------------------------------------------------------------------


def _message_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, "not_found", f"There is no message {raw[:20]!r}.")
    return int(raw)


async def _theirs(request: web.Request, visitor: Visitor) -> Message:
    """The message if this person may read it (they were told of it, or it is a request
    of their team); otherwise 404, as if it did not exist."""
    ident = _message_id(request)
    async with request.app[engine_key].connect() as conn:
        found = await read_message(conn=conn, message_id=ident)
    missing = ApiError(404, "not_found", f"There is no message {ident} for you.")
    if found is None:
        raise missing
    policy = _policy(request)
    team = policy.team_index.get(str((found.decision or {}).get("team"))) if policy else None
    if team is not None and (visitor.staff_id in team.members or visitor.staff_id == team.lead):
        return found
    if await was_notified(engine=request.app[engine_key], recipient=visitor.staff_id,
                          message_id=ident):
        return found
    raise missing


def _signed_in_reader(visitor: Visitor, message_id: int) -> Reader:
    base = f"/messages/{message_id}"
    return Reader(staff_id=visitor.staff_id, lang=visitor.lang, base=base,
                  flag_action=f"{base}/flag", status_action=f"{base}/status")


def _signed_in_show(request: web.Request, visitor: Visitor, message: Message,
                    reader: Reader) -> Show:
    async def show(error: str, status: int) -> web.Response:
        return page(request, visitor, "message.html",
                    {**await _context(request, message, reader, error), "link": False},
                    status)
    return show


def _link_show(request: web.Request, message: Message, reader: Reader) -> Show:
    async def show(error: str, status: int) -> web.Response:
        return link_page(reader.lang, "message.html",
                         await _context(request, message, reader, error), status)
    return show


@routes.get("/messages/{id}", name="ui_message")
@signed_in(Role.staff)
async def message_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    message = await _theirs(request, visitor)
    reader = _signed_in_reader(visitor, message.id or 0)
    await mark_read(engine=request.app[engine_key], recipient=visitor.staff_id,
                    now=utcnow(), message_ids=[message.id or 0])
    return page(request, visitor, "message.html",
                {**await _context(request, message, reader), "link": False})


@routes.post("/messages/{id}/flag", name="ui_message_flag")
@signed_in(Role.staff)
async def message_flag(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    message = await _theirs(request, visitor)
    reader = _signed_in_reader(visitor, message.id or 0)
    return await _flag(request, message, reader, "web",
                       _signed_in_show(request, visitor, message, reader))


@routes.post("/messages/{id}/status", name="ui_message_status")
@signed_in(Role.staff)
async def message_status(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    message = await _theirs(request, visitor)
    reader = _signed_in_reader(visitor, message.id or 0)
    return await _move(request, message, reader, f"staff:{visitor.staff_id}",
                       _signed_in_show(request, visitor, message, reader))


# -- the signed link ---------------------------------------------------------------------


def link_page(lang: str, template: str, context: dict[str, Any], status: int = 200
              ) -> web.Response:
    """A page opened from a link, outside any session: no menu, no forms but its own (the
    token in its address is what lets them act)."""
    return html(render(lang, template, {"visitor": None, "csrf": "", "path": "",
                                        "link": True, **context}), status)


async def link_refused(request: web.Request, exc: LinkError) -> web.Response:
    """A dead link, in the language of whoever opens it (the link no longer says who)."""
    return link_page(guest_of(request).lang, "link_refused.html",
                     {"kind": exc.kind, "what": "message"}, 404)


async def _linked(request: web.Request) -> tuple[Message, FlagClaim, Reader]:
    """The message a link names, its claim and the reader; LinkError says why not."""
    token = request.match_info["token"]
    claim = read_flag_token(request.app[settings_key].secret_key, token)
    async with request.app[engine_key].connect() as conn:
        found = await read_message(conn=conn, message_id=claim.message_id)
    if found is None:
        raise LinkError("This message no longer exists.", "gone")
    base = f"/m/{token}"
    reader = Reader(staff_id=claim.person, lang=await language_of(request, claim.person),
                    base=base, flag_action=f"/flag/{token}",
                    status_action=f"/flag/{token}/status")
    return found, claim, reader


@routes.get("/m/{token}", name="ui_message_link")
@routes.get("/flag/{token}", name="flag_link")
@web_page
@public
async def message_link(request: web.Request) -> web.StreamResponse:
    """Opening the link changes nothing (chat apps open links to preview them)."""
    try:
        message, _, reader = await _linked(request)
    except LinkError as exc:
        return await link_refused(request, exc)
    # Opening its page reads the notification (the link is the person's own).
    await mark_read(engine=request.app[engine_key], recipient=reader.staff_id,
                    now=utcnow(), message_ids=[message.id or 0])
    return link_page(reader.lang, "message.html", await _context(request, message, reader))


@routes.post("/flag/{token}", name="flag_link_confirm")
@web_page
@public
async def message_link_flag(request: web.Request) -> web.StreamResponse:
    """Flag from the link: the signed token names the message and the person."""
    try:
        message, _, reader = await _linked(request)
    except LinkError as exc:
        return await link_refused(request, exc)
    try:
        return await _flag(request, message, reader, "link",
                           _link_show(request, message, reader))
    except ApiError as exc:
        return link_page(reader.lang, "problem.html", {"status": exc.status,
                         "message": exc.message, "kind": "error"}, exc.status)


@routes.post("/flag/{token}/status", name="request_link_move")
@web_page
@public
async def message_link_status(request: web.Request) -> web.StreamResponse:
    """Move the request from the link (the person it was sent to is recorded as the one
    who moved it)."""
    try:
        message, claim, reader = await _linked(request)
    except LinkError as exc:
        return await link_refused(request, exc)
    try:
        return await _move(request, message, reader, f"staff:{claim.person}",
                           _link_show(request, message, reader))
    except ApiError as exc:
        return link_page(reader.lang, "problem.html", {"status": exc.status,
                         "message": exc.message, "kind": "error"}, exc.status)

