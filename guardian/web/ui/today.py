"""Staff's own pages: "today" (on duty or on call now, the next shifts, pages waiting for
their acknowledgement, their hours and calendar link) and the inbox (what they were sent,
newest first, with read state).

What the pages show comes from the same functions as the API: the schedule's pure
arithmetic with the overrides in force, the pages' storage, the delivery log."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import qrcode
from aiohttp import web
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage

from guardian.acks.links import ack_token
from guardian.decide.escalation import chain_people
from guardian.policy.model import Policy
from guardian.policy.names import category_name, person_zone, team_name
from guardian.schedule.views import PersonShift, person_shifts
from guardian.storage.calendar_links import generation
from guardian.storage.db import utcnow
from guardian.storage.inbox import held_for_digest, inbox, mark_read, unread_count
from guardian.storage.models import Page
from guardian.storage.overrides import active_overrides
from guardian.storage.pages import list_pages
from guardian.types import PageStatus, Role
from guardian.web.calendar import calendar_token
from guardian.web.keys import engine_key, settings_key
from guardian.web.overrides import policy_of
from guardian.web.ui.render import see_other
from guardian.web.ui.sessions import Visitor, page, signed_in
from guardian.web.ui.staff import local_time

routes = web.RouteTableDef()

AHEAD = dt.timedelta(days=14)
MAX_SHIFTS = 10
INBOX_PAGE = 50
DAYS_SHOWN = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _mine(page_: Page, policy: Policy, staff_id: str) -> bool:
    """A page waits for this person when it names them (now or later in its chain)."""
    return (staff_id == page_.person or staff_id == page_.last_resort
            or staff_id in {str(step["person"]) for step in page_.plan}
            or (page_.team in policy.team_index
                and staff_id in chain_people(policy, page_.team)))


def qr_svg(text: str) -> Markup:
    """`text` as a QR code, an SVG to put in the page as it is (a phone's camera reads the
    calendar address off a laptop's screen). Hidden from screen readers: the page's
    caption says what it is, and the address is on the page as text."""
    image = qrcode.make(text, image_factory=SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'width="[^"]*" height="[^"]*"',
                 'class="qr" aria-hidden="true" focusable="false"', svg, count=1)
    return Markup(svg)  # noqa: S704 (our own address, drawn by qrcode)


def _hours(policy: Policy, staff_id: str) -> dict[str, list[tuple[str, str]]]:
    """Working and quiet hours as (day, windows) rows, for the page."""
    person = policy.people.get(staff_id)
    if person is None:
        return {"working": [], "quiet": []}
    return {"working": [(d, ", ".join(w)) for d, w in person.working_hours.to_spec().items()],
            "quiet": [(d, ", ".join(w)) for d, w in person.quiet_hours.to_spec().items()]}


@routes.get("/today", name="ui_today")
@signed_in(Role.staff)
async def today(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    engine = request.app[engine_key]
    now = utcnow()
    me = visitor.staff_id
    overrides = await active_overrides(engine, start=now, end=now + AHEAD)
    shifts = person_shifts(policy, me, now, now + AHEAD, overrides)
    zone = person_zone(policy, me)

    def shift_row(shift: PersonShift) -> dict[str, str]:
        # A shift that runs past the window the page looks at has no end shown ("…").
        return {"team": team_name(policy, shift.team), "role": shift.role,
                "start": shift.start.astimezone(zone).strftime("%d/%m %H:%M"),
                "end": "…" if shift.end >= now + AHEAD
                else shift.end.astimezone(zone).strftime("%d/%m %H:%M")}

    current = [shift_row(s) for s in shifts if s.start <= now < s.end]
    upcoming = [shift_row(s) for s in shifts if s.start > now][:MAX_SHIFTS]
    secret = request.app[settings_key].secret_key
    waiting = [{"category": category_name(policy, p.category, visitor.lang),
                "team": team_name(policy, p.team),
                "opened": local_time(policy, me, p.created_at),
                "link": f"/ack/{ack_token(secret, p.id or 0, me)}",
                "mine_now": p.person == me}
               for p in await list_pages(engine=engine, status=PageStatus.open.value)
               if _mine(p, policy, me)]
    async with engine.connect() as conn:
        current_generation = await generation(conn=conn, kind="person", ident=me)
    token = calendar_token(secret, "person", me, current_generation)
    calendar = f"{request.app[settings_key].base_url}/ical/person/{me}/{token}.ics"
    return page(request, visitor, "today.html", {
        "current": current, "upcoming": upcoming, "pages": waiting,
        "unread": await unread_count(engine=engine, recipient=me, now=now),
        "calendar": calendar, "hours": _hours(policy, me), "zone": str(zone),
        "calendar_qr": qr_svg(calendar),
        "days_ahead": AHEAD.days})


@routes.get("/inbox", name="ui_inbox")
@signed_in(Role.staff)
async def inbox_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    engine = request.app[engine_key]
    now = utcnow()
    me = visitor.staff_id
    raw = request.query.get("before", "")
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else None
    found = await inbox(engine=engine, recipient=me, now=now, before_id=before,
                        limit=INBOX_PAGE + 1)
    items = [{
        "id": n.id, "kind": n.kind, "unread": n.read_at is None,
        "when": local_time(policy, me, n.created_at),
        "category": category_name(policy, n.category, visitor.lang)
        if n.kind in ("deliver", "page") else "",
        "text": str(n.payload.get("text") or "") if not n.payload.get("held") else "",
        "held": bool(n.payload.get("held")),
        "event": str(n.payload.get("event") or ""),
        "team": str(n.payload.get("team") or ""),
        "target": str(n.payload.get("target") or ""),
        "link": f"/messages/{n.message_id}" if n.message_id and not n.payload.get("held")
        else "",
    } for n in found[:INBOX_PAGE]]
    held, first_due = await held_for_digest(engine=engine, recipient=me, now=now)
    return page(request, visitor, "inbox.html", {
        "items": items, "unread": await unread_count(engine=engine, recipient=me, now=now),
        "held": held, "digest_at": local_time(policy, me, first_due) if first_due else "",
        "older": urlencode({"before": found[INBOX_PAGE - 1].id})
        if len(found) > INBOX_PAGE else "",
        "marked": request.query.get("marked", "")})


@routes.post("/inbox/read", name="ui_inbox_read")
@signed_in(Role.staff)
async def inbox_read(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """Mark everything in the inbox read."""
    done = await mark_read(engine=request.app[engine_key], recipient=visitor.staff_id,
                           now=utcnow())
    return see_other(f"/inbox?{urlencode({'marked': done})}")
