"""Who is at the browser: the session cookie, the person it names, what they may do, and
the two kinds of page (`signed_in(role)` and `open_page`) every handler is one of.

The cookie holds a random session id (the database keeps its SHA-256); it is `HttpOnly`,
`SameSite=Lax`, and `Secure` when Guardian's public URL is https. Whether a person may act
in a role is the rule API tokens follow (`guardian.web.auth.binding_problem`), checked
against the policy in force on every request: someone taken off the moderators loses the
queue at the next reload, signed in or not."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import ValidationError

from guardian.errors import ApiError
from guardian.policy.model import Policy
from guardian.storage.accounts import find_session, get_account
from guardian.storage.db import utcnow
from guardian.types import Role
from guardian.web.access import Handler, public, session, web_page
from guardian.web.auth import Principal, binding_problem
from guardian.web.keys import engine_key, policy_key, settings_key
from guardian.web.ui import csrf
from guardian.web.ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language
from guardian.web.ui.render import html, render, see_other

log = logging.getLogger(__name__)

COOKIE = "guardian_session"
PRE_COOKIE = "guardian_form"      # binds the forms shown before signing in
LANG_COOKIE = "guardian_lang"     # the language chosen before signing in

VisitorHandler = Callable[[web.Request, "Visitor"], Awaitable[web.StreamResponse]]
OpenHandler = Callable[[web.Request, "Guest"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Visitor:
    """A signed-in person."""

    staff_id: str
    name: str
    lang: str
    session_id: str
    csrf: str
    roles: frozenset[Role]

    def principal(self, role: Role) -> Principal:
        """As the API would see a token of theirs in `role`: the same audit actor (so the
        exposure count is one, whether they read by API or here)."""
        return Principal(token_id=0, name=f"web:{self.staff_id}", role=role,
                         staff_id=self.staff_id)


@dataclass(frozen=True)
class Guest:
    """Someone not signed in (the sign-in and invitation pages)."""

    lang: str
    csrf: str
    form_cookie: str | None  # a new pre-session cookie to set, when there was none


def role_problem(policy: Policy | None, staff_id: str, role: Role) -> str | None:
    """Why `staff_id` may not act as `role` now, or None. Staff and moderators follow the
    API tokens' rule word for word; HR and admins are the policy's own lists."""
    if policy is None:
        return "The duty policy did not load; fix it (see /health) and try again."
    problem = binding_problem(Principal(token_id=0, name="web", role=role,
                                        staff_id=staff_id), policy)
    if problem is not None:
        return problem
    if role == Role.hr and staff_id not in policy.moderation.hr:
        return f"`{staff_id}` is not listed in moderation.hr."
    if role == Role.report and staff_id not in (*policy.moderation.hr,
                                                *policy.moderation.report_readers):
        return (f"`{staff_id}` is not listed in moderation.hr or "
                "moderation.report_readers.")
    if role == Role.admin and staff_id not in policy.delivery.admins:
        return f"`{staff_id}` is not listed in delivery.admins."
    if staff_id not in policy.people:
        return f"`{staff_id}` is not in the duty policy."
    return None


def roles_of(policy: Policy | None, staff_id: str) -> frozenset[Role]:
    return frozenset(r for r in (Role.staff, Role.moderator, Role.hr, Role.admin, Role.report)
                     if role_problem(policy, staff_id, r) is None)


def _policy(request: web.Request) -> Policy | None:
    return request.app[policy_key].policy


def person_name(policy: Policy | None, staff_id: str) -> str:
    if policy is not None:
        person = policy.staff_by_id().get(staff_id)
        if person is not None:
            return person.name
    return staff_id


def person_languages(policy: Policy | None, staff_id: str) -> list[str]:
    if policy is not None:
        person = policy.staff_by_id().get(staff_id)
        if person is not None:
            return list(person.languages)
    return []


async def current_visitor(request: web.Request) -> Visitor | None:
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 128:
        return None
    engine = request.app[engine_key]
    found = await find_session(engine=engine, session_id=raw, now=utcnow())
    if found is None:
        return None
    policy = _policy(request)
    account = await get_account(engine=engine, staff_id=found.staff_id)
    lang = choose_language(account.lang if account else None,
                           person_languages(policy, found.staff_id))
    secret = request.app[settings_key].secret_key
    return Visitor(staff_id=found.staff_id, name=person_name(policy, found.staff_id),
                   lang=lang, session_id=raw,
                   csrf=csrf.token_for(secret, raw, "session"),
                   roles=roles_of(policy, found.staff_id))


def guest_of(request: web.Request) -> Guest:
    chosen = request.cookies.get(LANG_COOKIE)
    lang = chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
    cookie = request.cookies.get(PRE_COOKIE, "")
    new = None
    if not cookie or len(cookie) > 128:
        cookie = new = secrets.token_urlsafe(24)
    secret = request.app[settings_key].secret_key
    return Guest(lang=lang, csrf=csrf.token_for(secret, cookie, "pre"), form_cookie=new)


def secure_cookies(request: web.Request) -> bool:
    return request.app[settings_key].base_url.startswith("https://")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Lax", path="/",
                        secure=secure_cookies(request), max_age=max_age)


def page(request: web.Request, who: Visitor | Guest, template: str,
         context: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    """A page in the visitor's language, with their CSRF token for its forms."""
    visitor = who if isinstance(who, Visitor) else None
    response = html(render(who.lang, template, {
        "visitor": visitor, "csrf": who.csrf, "path": request.path_qs,
        **(context or {})}), status)
    if isinstance(who, Guest) and who.form_cookie is not None:
        set_cookie(request, response, PRE_COOKIE, who.form_cookie)
    return response


def problem_page(request: web.Request, who: Visitor | Guest, status: int, message: str,
                 *, kind: str = "error") -> web.Response:
    """A refusal in plain words (`kind` picks the heading: error, csrf, forbidden...)."""
    return page(request, who, "problem.html", {"status": status, "message": message,
                                               "kind": kind}, status)


def _back_to_sign_in(request: web.Request) -> web.Response:
    return see_other(f"/signin?next={quote(request.path_qs, safe='')}")


def _errors(exc: ValidationError) -> str:
    return " ".join(f"`{'.'.join(str(p) for p in e['loc'])}` {e['msg']}."
                    for e in exc.errors())


def signed_in(role: Role | None) -> Callable[[VisitorHandler], Handler]:
    """A page for a signed-in person who may act as `role` now (None: anyone signed in,
    to sign out or choose a language). Without a session, a GET
    goes to the sign-in page (and back after it) and a POST is refused; every POST needs
    the session's CSRF token."""

    def wrap(handler: VisitorHandler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            visitor = await current_visitor(request)
            if visitor is None:
                if request.method in ("GET", "HEAD"):
                    return _back_to_sign_in(request)
                return problem_page(request, guest_of(request), 403, "", kind="signed_out")
            if request.method == "POST" and not await csrf.is_valid(request, visitor.csrf):
                return problem_page(request, visitor, 403, "", kind="csrf")
            problem = (role_problem(_policy(request), visitor.staff_id, role)
                       if role is not None else None)
            if problem is not None:
                return problem_page(request, visitor, 403, problem, kind="forbidden")
            try:
                return await handler(request, visitor)
            except ApiError as exc:
                return problem_page(request, visitor, exc.status, exc.message)
            except ValidationError as exc:
                return problem_page(request, visitor, 422, _errors(exc))
            except web.HTTPException:
                raise
            except Exception:
                # A page, not the API's JSON, even for our own mistakes.
                log.exception("unexpected error on %s %s", request.method, request.path)
                return problem_page(request, visitor, 500, "", kind="internal")

        return web_page(session(guarded))

    return wrap


def open_page(handler: OpenHandler) -> Handler:
    """A page anyone may open (signing in, an invitation); its POSTs need the pre-session
    cookie's CSRF token."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        guest = guest_of(request)
        if request.method == "POST" and (guest.form_cookie is not None or
                                         not await csrf.is_valid(request, guest.csrf)):
            return problem_page(request, guest, 403, "", kind="csrf")
        try:
            return await handler(request, guest)
        except ApiError as exc:
            return problem_page(request, guest, exc.status, exc.message)

    return web_page(public(guarded))
