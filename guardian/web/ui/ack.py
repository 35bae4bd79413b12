"""The acknowledgement page: what the "Confirma que te encargas" link of a page opens.

One language (the paged person's), names from the policy rather than ids, the masked
message, and what happens next: who is paged, and when, if nobody acknowledges; after
the button, that the escalation stopped. Opening the link changes nothing (chat apps open
links to preview them); the button acknowledges.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from guardian.acks.links import AckClaim, LinkError, flag_token, read_ack_token
from guardian.policy.model import Policy
from guardian.policy.names import category_name, person_name, team_name
from guardian.storage.db import utcnow
from guardian.storage.messages import read_message
from guardian.storage.models import Page
from guardian.storage.pages import acknowledge, get_page
from guardian.web.access import public, web_page
from guardian.web.keys import engine_key, policy_key, settings_key
from guardian.web.ui.sessions import guest_of
from guardian.web.ui.staff import language_of, link_page, local_time, shown_text

routes = web.RouteTableDef()


def next_steps(page: Page, policy: Policy | None, staff_id: str) -> list[dict[str, str]]:
    """Who is paged after the current step if nobody acknowledges, in order, each with the
    time on the reader's clock; the last resort closes the list. Step k+1 is due at
    `due_at`; each later one its predecessor's `delay_minutes` after that."""
    steps: list[dict[str, str]] = []
    at = page.due_at
    for index in range(page.step + 1, len(page.plan)):
        step = page.plan[index]
        steps.append({"name": person_name(policy, str(step["person"])),
                      "at": local_time(policy, staff_id, at), "last_resort": ""})
        at += dt.timedelta(minutes=int(step.get("delay_minutes", 0)))
    if page.last_resort:
        steps.append({"name": person_name(policy, page.last_resort),
                      "at": local_time(policy, staff_id, at), "last_resort": "yes"})
    return steps


async def _claimed_page(request: web.Request) -> tuple[Page, AckClaim]:
    """The page a link names and the link's claim; LinkError says why there is none."""
    claim = read_ack_token(request.app[settings_key].secret_key, request.match_info["token"])
    async with request.app[engine_key].connect() as conn:
        found = await get_page(conn=conn, page_id=claim.page_id)
    if found is None:
        raise LinkError("This page no longer exists.", "gone")
    return found, claim


async def _context(request: web.Request, page: Page, claim: AckClaim, lang: str,
                   now: dt.datetime) -> dict[str, Any]:
    policy = request.app[policy_key].policy
    text, hidden = "", False
    message_link = ""
    if page.message_id is not None:
        async with request.app[engine_key].connect() as conn:
            message = await read_message(conn=conn, message_id=page.message_id)
        if message is not None:
            text, hidden = shown_text(message)
            token = flag_token(request.app[settings_key].secret_key, page.message_id,
                               claim.person)
            message_link = f"/m/{token}"
    if page.message_id is None:  # a page of its own (a moderators' escalation): its reason
        text = page.reason
    acked_by = page.acked_by or ""
    kind, _, who = acked_by.partition(":")
    return {
        "page": page, "text": text, "hidden": hidden, "message_link": message_link,
        "category": category_name(policy, page.category, lang),
        "team": team_name(policy, page.team),
        "paged": person_name(policy, page.person),
        "me": claim.person == page.person,
        "next_steps": next_steps(page, policy, claim.person),
        "minutes_to_next": max(1, int((page.due_at - now).total_seconds() + 59) // 60),
        "due_local": local_time(policy, claim.person, page.due_at),
        "acked_by": person_name(policy, who) if kind in ("link", "staff", "person", "web",
                                                         "reply") and who else acked_by,
        "acked_at": local_time(policy, claim.person, page.acked_at) if page.acked_at else "",
        "acked_now": request.query.get("done") == "acked",
    }


async def _refused(request: web.Request, exc: LinkError) -> web.Response:
    return link_page(guest_of(request).lang, "link_refused.html",
                     {"kind": exc.kind, "what": "page"}, 404)


@routes.get("/ack/{token}", name="ack_link")
@web_page
@public
async def ack_link(request: web.Request) -> web.StreamResponse:
    try:
        found, claim = await _claimed_page(request)
    except LinkError as exc:
        return await _refused(request, exc)
    lang = await language_of(request, claim.person)
    return link_page(lang, "ack.html", await _context(request, found, claim, lang, utcnow()))


@routes.post("/ack/{token}", name="ack_link_confirm")
@web_page
@public
async def ack_link_confirm(request: web.Request) -> web.StreamResponse:
    """Acknowledge from the link: the signed token names the page and the person. The
    answer is the page again, which says the escalation stopped (or who had already
    acknowledged: 409)."""
    try:
        found, claim = await _claimed_page(request)
    except LinkError as exc:
        return await _refused(request, exc)
    now = utcnow()
    async with request.app[engine_key].begin() as conn:
        acked = await acknowledge(conn=conn, page_id=found.id or 0,
                                  actor=f"link:{claim.person}", now=now)
    lang = await language_of(request, claim.person)
    if acked is None:
        async with request.app[engine_key].connect() as conn:
            found = await get_page(conn=conn, page_id=found.id or 0) or found
        return link_page(lang, "ack.html", await _context(request, found, claim, lang, now),
                         409)
    context = await _context(request, acked, claim, lang, now)
    context["acked_now"] = True
    return link_page(lang, "ack.html", context)

