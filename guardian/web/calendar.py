"""Calendar feeds (iCal) of a person's or a team's shifts, and the unguessable tokens in
their links."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

import icalendar

from guardian.policy.model import Policy
from guardian.schedule.duty import team_shifts
from guardian.schedule.overrides import Override
from guardian.schedule.views import names_of, person_shifts

# iCal feeds cover this much around now: a week back, two months ahead.
CALENDAR_PAST = dt.timedelta(days=7)
CALENDAR_AHEAD = dt.timedelta(days=62)
# Shifts are worked out from a start on a fixed 28-day grid, well before the feed's own
# window, and shown whole: so a shift's start, hence its UID, does not move from one
# fetch to the next (calendar apps would otherwise see new events each time).
_GRID = dt.timedelta(days=28)
_GRID_EPOCH = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)   # a Monday
# A person's own shifts remind them this long before (teams' feeds carry no alarm).
REMINDER = dt.timedelta(minutes=30)


def feed_span(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Where a feed fetched at `now` works shifts out from and to: the window's start
    taken back to the grid (and a grid step more, so a shift that began before the window
    is seen whole), its end a grid step after the window's."""
    steps = (now - CALENDAR_PAST - _GRID_EPOCH) // _GRID
    return _GRID_EPOCH + (steps - 1) * _GRID, now + CALENDAR_AHEAD + _GRID


def _shown(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> bool:
    """Whether a shift overlaps the feed's window (a week back, two months ahead)."""
    return end > now - CALENDAR_PAST and start < now + CALENDAR_AHEAD


def calendar_token(secret: str, kind: str, ident: str, generation: int = 0) -> str:
    """The secret part of a calendar link: anyone with the link can read that calendar,
    so each is unguessable and specific. Revoking one link raises its `generation`
    (`POST /api/v1/calendar-links/revoke`); changing GUARDIAN_SECRET_KEY revokes them all."""
    text = f"ical:{kind}:{ident}" + (f":{generation}" if generation else "")
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def calendar_token_valid(secret: str, kind: str, ident: str, token: str,
                         generation: int = 0) -> bool:
    # compare_digest refuses non-ASCII strings (TypeError): such a token is simply wrong.
    return token.isascii() and hmac.compare_digest(
        calendar_token(secret, kind, ident, generation), token)


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Guardian//duty//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(uid: str, summary: str, start: dt.datetime, end: dt.datetime, description: str,
           stamp: dt.datetime, reminder: dt.timedelta | None = None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start.astimezone(dt.UTC))
    event.add("dtend", end.astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("description", description)
    if reminder is not None:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", -reminder)
        event.add_component(alarm)
    return event


def person_calendar(policy: Policy, person_id: str, now: dt.datetime,
                    overrides: Sequence[Override]) -> bytes:
    """A person's duty and on-call shifts, in every team they appear in, each with a
    reminder before it starts."""
    member = policy.people[person_id]
    calendar = _calendar(f"Guardian: {member.name}")
    labels = {"duty": "On duty", "on_call": "On call"}
    for shift in person_shifts(policy, person_id, *feed_span(now), overrides):
        if not _shown(shift.start, shift.end, now):
            continue
        team = policy.team_index[shift.team]
        calendar.add_component(_event(
            f"{person_id}-{team.id}-{shift.role}-{int(shift.start.timestamp())}@guardian",
            f"{labels[shift.role]}: {team.name}", shift.start, shift.end,
            "Because: " + ", ".join(str(s) for s in shift.sources), now, REMINDER))
    return bytes(calendar.to_ical())


def team_calendar(policy: Policy, team_id: str, now: dt.datetime,
                  overrides: Sequence[Override]) -> bytes:
    """A team's shifts with who is on; gaps appear as events too, so they are seen."""
    start, end = feed_span(now)
    team = policy.team_index[team_id]
    calendar = _calendar(f"Guardian: {team.name}")
    for role, label in (("duty", "On duty"), ("on_call", "On call")):
        for shift in team_shifts(policy, team_id, start, end, role=role,  # type: ignore[arg-type]
                                 overrides=overrides):
            if role == "on_call" and shift.gap and not team.on_call:
                continue
            if not _shown(shift.start, shift.end, now):
                continue
            names = ", ".join(p["name"] for p in names_of(policy, shift.people)) or "NO ONE"
            calendar.add_component(_event(
                f"{team_id}-{role}-{int(shift.start.timestamp())}@guardian",
                f"{label}: {names}", shift.start, shift.end,
                "Because: " + ", ".join(str(s) for s in shift.sources), now))
    return bytes(calendar.to_ical())
