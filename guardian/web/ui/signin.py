"""Signing in and out: the password form, the invitation that sets a password, sign-out
(this browser, or everywhere), the language switch, and the home page."""

from __future__ import annotations

import math

from aiohttp import web

from guardian.storage.accounts import (
    MIN_PASSWORD_CHARS,
    SESSION_HOURS,
    accept_invitation,
    end_all_sessions,
    end_session,
    open_invitation,
    open_session,
    set_language,
    sign_in,
)
from guardian.storage.db import utcnow
from guardian.types import Role
from guardian.web.access import public, web_page
from guardian.web.keys import engine_key, policy_key
from guardian.web.ui import csrf
from guardian.web.ui.i18n import LANGUAGES
from guardian.web.ui.render import see_other
from guardian.web.ui.sessions import (
    COOKIE,
    LANG_COOKIE,
    Guest,
    Visitor,
    current_visitor,
    guest_of,
    open_page,
    page,
    person_name,
    problem_page,
    set_cookie,
    signed_in,
)

routes = web.RouteTableDef()


def safe_next(raw: object) -> str:
    """Where to go after signing in: a path of ours only (never another site)."""
    if isinstance(raw, str) and raw.startswith("/") and not raw.startswith(("//", "/\\")):
        return raw
    return "/"


def _address(request: web.Request) -> str:
    return (request.remote or "unknown")[:64]


def _signed_in_response(request: web.Request, session_id: str, to: str) -> web.Response:
    response = see_other(to)
    set_cookie(request, response, COOKIE, session_id, max_age=SESSION_HOURS * 3600)
    return response


@routes.get("/", name="ui_home")
@signed_in(None)
async def home(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """Moderators go straight to their queue, staff to their day; anyone else (someone
    the policy no longer lists) sees what is here for them."""
    if Role.moderator in visitor.roles:
        return see_other("/moderation")
    if Role.staff in visitor.roles:
        return see_other("/today")
    return page(request, visitor, "home.html")


@routes.get("/signin", name="ui_signin")
@open_page
async def signin_form(request: web.Request, guest: Guest) -> web.StreamResponse:
    visitor = await current_visitor(request)
    if visitor is not None:
        return see_other(safe_next(request.query.get("next")))
    return page(request, guest, "signin.html",
                {"next": safe_next(request.query.get("next")), "staff_id": "",
                 "error": None})


@routes.post("/signin", name="ui_signin_post")
@open_page
async def signin_post(request: web.Request, guest: Guest) -> web.StreamResponse:
    form = await request.post()
    staff_id = str(form.get("staff_id", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    to = safe_next(form.get("next"))
    policy = request.app[policy_key].policy
    known = policy is not None and staff_id in policy.people
    result = await sign_in(engine=request.app[engine_key], staff_id=staff_id,
                           password=password, address=_address(request), now=utcnow(),
                           known=known)
    if result.session_id is not None:
        return _signed_in_response(request, result.session_id, to)
    context = {"next": to, "staff_id": staff_id, "error": result.refused,
               "minutes": math.ceil(result.retry_after.total_seconds() / 60)
               if result.retry_after else 0}
    response = page(request, guest, "signin.html", context,
                    429 if result.refused == "limited" else 401)
    if result.retry_after is not None:
        response.headers["Retry-After"] = str(int(result.retry_after.total_seconds()))
    return response


@routes.get("/invitation/{token}", name="ui_invitation")
@open_page
async def invitation_form(request: web.Request, guest: Guest) -> web.StreamResponse:
    """Opening the link changes nothing (chat apps preview links); the form sets the
    password."""
    found = await open_invitation(engine=request.app[engine_key],
                                  token=request.match_info["token"], now=utcnow())
    if found is None:
        return problem_page(request, guest, 404, "", kind="invitation")
    name = person_name(request.app[policy_key].policy, found.staff_id)
    return page(request, guest, "invitation.html",
                {"name": name, "staff_id": found.staff_id, "error": None,
                 "min_chars": MIN_PASSWORD_CHARS})


@routes.post("/invitation/{token}", name="ui_invitation_post")
@open_page
async def invitation_post(request: web.Request, guest: Guest) -> web.StreamResponse:
    engine = request.app[engine_key]
    token = request.match_info["token"]
    found = await open_invitation(engine=engine, token=token, now=utcnow())
    if found is None:
        return problem_page(request, guest, 404, "", kind="invitation")
    form = await request.post()
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    error = ("short" if len(password) < MIN_PASSWORD_CHARS else
             "long" if len(password) > 1024 else "different" if password != again else None)
    if error is not None:
        name = person_name(request.app[policy_key].policy, found.staff_id)
        return page(request, guest, "invitation.html",
                    {"name": name, "staff_id": found.staff_id, "error": error,
                     "min_chars": MIN_PASSWORD_CHARS}, 422)
    now = utcnow()
    staff_id = await accept_invitation(engine=engine, token=token, password=password, now=now)
    if staff_id is None:  # used by another tab meanwhile
        return problem_page(request, guest, 404, "", kind="invitation")
    session_id = await open_session(engine=engine, staff_id=staff_id,
                                    address=_address(request), now=now)
    return _signed_in_response(request, session_id, "/")


@routes.post("/signout", name="ui_signout")
@signed_in(None)
async def signout(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    await end_session(engine=request.app[engine_key], session_id=visitor.session_id,
                      now=utcnow())
    response = see_other("/signin")
    response.del_cookie(COOKIE, path="/")
    return response


@routes.post("/signout/everywhere", name="ui_signout_everywhere")
@signed_in(None)
async def signout_everywhere(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    await end_all_sessions(engine=request.app[engine_key], staff_id=visitor.staff_id,
                           actor=f"person:{visitor.staff_id}", now=utcnow())
    response = see_other("/signin")
    response.del_cookie(COOKIE, path="/")
    return response


@routes.post("/language", name="ui_language")
@web_page
@public
async def language(request: web.Request) -> web.StreamResponse:
    """The language switch on every page: kept with the account when signed in, in a
    cookie before. Its form carries the session's token, or the pre-session one."""
    visitor = await current_visitor(request)
    guest = guest_of(request)
    expected = visitor.csrf if visitor is not None else guest.csrf
    if (visitor is None and guest.form_cookie is not None) or not await csrf.is_valid(
            request, expected):
        return problem_page(request, visitor or guest, 403, "", kind="csrf")
    form = await request.post()
    lang = str(form.get("lang", ""))
    if lang not in LANGUAGES:
        return problem_page(request, visitor or guest, 422, f"`lang` must be one of: "
                            f"{', '.join(LANGUAGES)}.")
    if visitor is not None:
        await set_language(engine=request.app[engine_key], staff_id=visitor.staff_id,
                           lang=lang, now=utcnow())
    response = see_other(safe_next(form.get("next")))
    set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response
