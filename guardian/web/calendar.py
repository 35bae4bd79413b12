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
from guardian.schedule.views import names_of

# iCal feeds cover this much around now: a week back, two months ahead.
CALENDAR_PAST = dt.timedelta(days=7)
CALENDAR_AHEAD = dt.timedelta(days=62)


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
           stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start.astimezone(dt.UTC))
    event.add("dtend", end.astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("description", description)
    return event


def person_calendar(policy: Policy, person_id: str, now: dt.datetime,
                    overrides: Sequence[Override]) -> bytes:
    """A person's duty and on-call shifts, in every team they appear in."""
    start, end = now - CALENDAR_PAST, now + CALENDAR_AHEAD
    member = policy.people[person_id]
    calendar = _calendar(f"Guardian: {member.name}")
    for team in policy.teams:
        for role, label in (("duty", "On duty"), ("on_call", "On call")):
            for shift in team_shifts(policy, team.id, start, end, role=role,  # type: ignore[arg-type]
                                     overrides=overrides):
                if person_id not in shift.people:
                    continue
                calendar.add_component(_event(
                    f"{person_id}-{team.id}-{role}-{int(shift.start.timestamp())}@guardian",
                    f"{label}: {team.name}", shift.start, shift.end,
                    "Because: " + ", ".join(str(s) for s in shift.sources), now))
    return bytes(calendar.to_ical())


def team_calendar(policy: Policy, team_id: str, now: dt.datetime,
                  overrides: Sequence[Override]) -> bytes:
    """A team's shifts with who is on; gaps appear as events too, so they are seen."""
    start, end = now - CALENDAR_PAST, now + CALENDAR_AHEAD
    team = policy.team_index[team_id]
    calendar = _calendar(f"Guardian: {team.name}")
    for role, label in (("duty", "On duty"), ("on_call", "On call")):
        for shift in team_shifts(policy, team_id, start, end, role=role,  # type: ignore[arg-type]
                                 overrides=overrides):
            if role == "on_call" and shift.gap and not team.on_call:
                continue
            names = ", ".join(p["name"] for p in names_of(policy, shift.people)) or "NO ONE"
            calendar.add_component(_event(
                f"{team_id}-{role}-{int(shift.start.timestamp())}@guardian",
                f"{label}: {names}", shift.start, shift.end,
                "Because: " + ", ".join(str(s) for s in shift.sources), now))
    return bytes(calendar.to_ical())
