"""The wellbeing report: for one ISO week on the town's clock (Monday 00:00 to the next
Monday 00:00 in `town.timezone`), per person, per team and for the whole town, how often
Guardian kept people from being contacted in their quiet hours, how often it woke them,
how much abuse it kept from them, and what on-call duty and reading abuse cost them.

Pure: the storage layer (`guardian.storage.report`) reads the week's rows, this module
counts them; no I/O, no clock. docs/report.md says the same definitions in words:

- **kept from quiet hours**: a contact (a message, a storm notice, a schedule change, an
  alert, the weekly summary; not a page, a digest or a test) that Guardian meant to send
  while its recipient was in their quiet hours, and that reached them later instead (in
  their digest, or once their quiet hours ended) or still waits. When Guardian "meant to
  send it": when the citizen's message arrived, for what a decision queued; when it was
  queued, for the rest. Counted in the week of that instant.
- **contacted in quiet hours**: contacts other than pages sent inside the recipient's
  quiet hours (the decision contract says none; a number here is a fault to look into).
- **night pages**: a page event (paged, escalated to, told as the last resort) whose
  person was in their quiet hours then, or, for someone with no quiet hours, between 22:00
  and 07:00 on their own clock. A person's figure counts the times they were paged at
  night; a team's and the town's count the pages that woke someone at night.
- **acknowledged**: of those pages, the ones acknowledged (for a person: by them), with
  the median minutes from the page's opening to its acknowledgement.
- **shielded**: messages treated as abusive that reached staff with the abuse masked (the
  original to the moderators): a person counts those they received masked.
- **held**: hostile messages kept from staff altogether (threats held for review, abuse
  with nothing to act on, a storm's messages): a person counts those aimed at them, and
  those whose notification to them was held back when a storm started. Held wins over
  shielded for the same message and person.
- **storms**: pile-ons that started in the week, per target.
- **on-call weeks in a row**: the on-call weeks (over 84 hours on call, with the overrides
  in force: `guardian.schedule.fairness`) that end with this one.
- **exposure**: abusive items each moderator read (per UTC day: the seven days from the
  week's Monday), and the days they reached the policy's daily limit.

Quiet hours are read from the policy in force when the report is made.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from guardian.decide.decision import Decision
from guardian.policy.model import Policy
from guardian.schedule.fairness import ON_CALL_WEEK, on_call_hours
from guardian.schedule.localtime import resolve, zone
from guardian.schedule.overrides import Override
from guardian.schedule.people import in_quiet_hours
from guardian.types import FIRST_YEAR, LAST_YEAR, NotificationKind, NotificationStatus

# Contacts: what a person is told that is not a page (counted apart), a digest (its items
# are counted) or a test (asked for by an operator).
CONTACT_KINDS = frozenset({NotificationKind.deliver.value, NotificationKind.storm_notice.value,
                           NotificationKind.schedule.value, NotificationKind.admin_alert.value,
                           NotificationKind.backlog.value, NotificationKind.report.value})
# A contact asked for in quiet hours that is in one of these has not reached its person
# yet (or reached them in a digest): it was kept out of their quiet hours.
_WAITED = frozenset({NotificationStatus.waiting.value, NotificationStatus.digested.value,
                     NotificationStatus.pending.value})
PAGED_EVENTS = frozenset({"paged", "escalated", "last_resort"})
# Decision codes (guardian.decide.rules) that keep a message from staff altogether, and
# the one that sends staff the request with the abuse masked.
HELD_CODES = frozenset({"threat", "abusive_no_request", "storm"})
SHIELD_CODE = "abusive"
# "At night" for someone without quiet hours, on their own clock.
NIGHT_FROM, NIGHT_UNTIL = dt.time(22, 0), dt.time(7, 0)
# How far back consecutive on-call weeks are looked for.
ON_CALL_LOOKBACK_WEEKS = 26
WEEK_DAYS = 7

Scope = Literal["town", "team", "person"]


# --- weeks ------------------------------------------------------------------------------

class WeekError(ValueError):
    """A week that is not one: the message is a sentence for whoever typed it."""


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week on the town's clock: [start, end) as UTC instants (a week across a
    daylight-saving change is 167 or 169 hours long)."""

    year: int
    number: int
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 1)

    @property
    def days(self) -> tuple[dt.date, ...]:
        return tuple(self.monday + dt.timedelta(days=n) for n in range(WEEK_DAYS))

    def contains(self, at: dt.datetime) -> bool:
        return self.start <= at < self.end


_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def week_of(day: dt.date, tz: ZoneInfo) -> Week:
    """The ISO week of a local date."""
    monday = day - dt.timedelta(days=day.weekday())
    year, number, _ = monday.isocalendar()
    start = resolve(dt.datetime.combine(monday, dt.time()), tz)
    end = resolve(dt.datetime.combine(monday + dt.timedelta(days=WEEK_DAYS), dt.time()), tz)
    return Week(year, number, start, end)


def week_at(at: dt.datetime, tz: ZoneInfo) -> Week:
    return week_of(at.astimezone(tz).date(), tz)


def last_complete_week(now: dt.datetime, tz: ZoneInfo) -> Week:
    """The week before the one `now` is in: the last one that is over."""
    return week_of(now.astimezone(tz).date() - dt.timedelta(days=WEEK_DAYS), tz)


def shift(week: Week, weeks: int, tz: ZoneInfo) -> Week:
    return week_of(week.monday + dt.timedelta(days=WEEK_DAYS * weeks), tz)


def parse_week(text: str, tz: ZoneInfo) -> Week:
    """`2026-W49` as a week; WeekError with a sentence otherwise."""
    found = _WEEK.fullmatch(text.strip()) if text.isascii() else None
    if found is None:
        raise WeekError(f"{text[:20]!r} is not an ISO week; write it as 2026-W49.")
    year, number = int(found.group(1)), int(found.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR - 1:
        raise WeekError(f"{year} is outside the years Guardian takes ({FIRST_YEAR} to "
                        f"{LAST_YEAR - 1}).")
    try:
        monday = dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise WeekError(f"{year} has no week {number}; its weeks are numbered from 1 to "
                        f"{dt.date(year, 12, 28).isocalendar()[1]}.") from None
    return week_of(monday, tz)


# --- what the storage layer gives -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Contact:
    """A notification to a person (of the kinds in CONTACT_KINDS)."""

    id: int
    recipient: str
    kind: str
    status: str
    asked_at: dt.datetime         # when Guardian first meant to reach them
    sent_at: dt.datetime | None
    message_id: int | None = None
    held_by_storm: bool = False   # cancelled when a storm started: the moderators have it


@dataclass(frozen=True, slots=True)
class PageEventRow:
    kind: str                     # paged | escalated | last_resort | acknowledged
    person: str | None
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class PageRow:
    id: int
    team: str
    opened_at: dt.datetime
    acked_by: str | None          # the actor: `link:antonio`, `staff:antonio`, `reply:…`
    acked_at: dt.datetime | None
    events: tuple[PageEventRow, ...] = ()


@dataclass(frozen=True, slots=True)
class DecisionRow:
    message_id: int
    decision: Decision


@dataclass(frozen=True, slots=True)
class ExposureRow:
    moderator: str                # the audit actor, `moderator:maria`
    day: dt.date                  # a UTC day
    views: int


@dataclass(frozen=True)
class ReportRows:
    """Everything the report counts, for a span of weeks (each week takes its own)."""

    contacts: tuple[Contact, ...] = ()
    pages: tuple[PageRow, ...] = ()
    decisions: tuple[DecisionRow, ...] = ()
    exposure: tuple[ExposureRow, ...] = ()
    overrides: tuple[Override, ...] = ()   # in force over the on-call look-back


# --- what the report says ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Row:
    """The figures of one person, one team or the town (see the module's docstring)."""

    scope: Scope
    id: str
    name: str
    kept_from_quiet_hours: int = 0
    contacted_in_quiet_hours: int = 0
    night_pages: int = 0
    night_pages_acknowledged: int = 0
    minutes_to_acknowledge: float | None = None  # the median
    shielded: int = 0
    held: int = 0
    storms: int = 0
    on_call_hours: float | None = None           # a person's, this week
    on_call_weeks_in_row: int = 0                # a team's or the town's: the longest
    over_on_call_limit: int = 0                  # people (a person: 0 or 1)
    exposure: int | None = None                  # moderators (and the town)
    days_at_exposure_limit: int | None = None
    teams: tuple[str, ...] = ()                  # a person's teams

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scope": self.scope, "id": self.id, "name": self.name,
            **{name: getattr(self, name) for name in FIGURES}}
        if self.scope == "person":
            data["teams"] = list(self.teams)
        return data


FIGURES: tuple[str, ...] = (
    "kept_from_quiet_hours", "contacted_in_quiet_hours", "night_pages",
    "night_pages_acknowledged", "minutes_to_acknowledge", "shielded", "held", "storms",
    "on_call_hours", "on_call_weeks_in_row", "over_on_call_limit", "exposure",
    "days_at_exposure_limit")
CSV_COLUMNS: tuple[str, ...] = ("week", "scope", "id", "name", *FIGURES)


@dataclass(frozen=True, slots=True)
class NightPage:
    """A page that woke someone at night in the week."""

    page_id: int
    team: str
    opened_at: dt.datetime
    woken: tuple[tuple[str, dt.datetime], ...]   # (person, when), in order
    acknowledged_by: str | None                  # a staff id, else the actor as recorded
    acknowledged_at: dt.datetime | None
    minutes_to_acknowledge: float | None

    def to_json(self) -> dict[str, Any]:
        return {"page_id": self.page_id, "team": self.team,
                "opened_at": _iso(self.opened_at),
                "woken": [{"person": p, "at": _iso(at)} for p, at in self.woken],
                "acknowledged_by": self.acknowledged_by,
                "acknowledged_at": _iso(self.acknowledged_at),
                "minutes_to_acknowledge": self.minutes_to_acknowledge}


@dataclass(frozen=True, slots=True)
class StormRow:
    """A storm (pile-on) that started in the week."""

    target: str                  # person:<id>, team:<id> or town
    started_at: dt.datetime
    distinct_authors: int        # when it was caught
    abusive_messages: int
    held_messages: int           # the week's messages held as part of it

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "started_at": _iso(self.started_at),
                "distinct_authors": self.distinct_authors,
                "abusive_messages": self.abusive_messages,
                "held_messages": self.held_messages}


@dataclass(frozen=True)
class WellbeingReport:
    week: Week
    timezone: str
    town: Row
    teams: tuple[Row, ...]
    people: tuple[Row, ...]
    night_pages: tuple[NightPage, ...]
    storms: tuple[StormRow, ...]
    on_call_limit: int           # on_call_limits.max_consecutive_weeks
    exposure_limit: int          # exposure_limits.max_abusive_items_per_day

    def person(self, person: str) -> Row:
        return next(r for r in self.people if r.id == person)

    def team(self, team: str) -> Row:
        return next(r for r in self.teams if r.id == team)

    def to_json(self) -> dict[str, Any]:
        return {"week": self.week.label, "start": _iso(self.week.start),
                "end": _iso(self.week.end), "timezone": self.timezone,
                "limits": {"on_call_weeks_in_row": self.on_call_limit,
                           "exposure_per_day": self.exposure_limit},
                "town": self.town.to_json(), "teams": [t.to_json() for t in self.teams],
                "people": [p.to_json() for p in self.people],
                "night_pages": [p.to_json() for p in self.night_pages],
                "storms": [s.to_json() for s in self.storms]}

    def csv_rows(self) -> list[list[str]]:
        """The town, then each team, then each person: one line each, CSV_COLUMNS."""
        lines = [list(CSV_COLUMNS)]
        for row in (self.town, *self.teams, *self.people):
            lines.append([self.week.label, row.scope, row.id, _cell(row.name),
                          *(_number(getattr(row, name)) for name in FIGURES)])
        return lines


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.astimezone(dt.UTC).isoformat()


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _cell(text: str) -> str:
    """A name as a spreadsheet cell: one that starts like a formula is written as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- counting ---------------------------------------------------------------------------

def person_of(actor: str | None, policy: Policy) -> str | None:
    """The staff id an actor names (`link:antonio`, `staff:antonio`, `reply:antonio`,
    `moderator:maria`), or None (a token's name, `simulate`)."""
    if not actor:
        return None
    ident = actor.rpartition(":")[2]
    return ident if ident in policy.people else None


def quiet(policy: Policy, person: str, at: dt.datetime) -> bool:
    return person in policy.people and in_quiet_hours(policy, person, at)


def at_night(policy: Policy, person: str, at: dt.datetime) -> bool:
    """In the person's quiet hours; for someone without any, 22:00-07:00 on their clock."""
    member = policy.people.get(person)
    if member is not None and member.quiet_hours:
        return in_quiet_hours(policy, person, at)
    tz = zone(member.timezone if member is not None else policy.town.timezone)
    local = at.astimezone(tz).time()
    return local >= NIGHT_FROM or local < NIGHT_UNTIL


@dataclass
class _Tally:
    kept: int = 0
    contacted: int = 0
    night_pages: int = 0
    acked: list[float | None] = field(default_factory=list)
    shielded: set[int] = field(default_factory=set)
    held: set[int] = field(default_factory=set)
    storms: int = 0


def _median(minutes: Iterable[float | None]) -> float | None:
    known = [m for m in minutes if m is not None]
    return round(statistics.median(known), 1) if known else None


@dataclass
class _Count:
    """The week's rows counted per person, team and target."""

    people: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    team_held: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    town_held: set[int] = field(default_factory=set)
    town_shielded: set[int] = field(default_factory=set)
    night_pages: list[NightPage] = field(default_factory=list)
    storms: list[StormRow] = field(default_factory=list)


def _count_contacts(count: _Count, policy: Policy, week: Week,
                    contacts: Iterable[Contact]) -> None:
    for c in contacts:
        if c.kind not in CONTACT_KINDS:
            continue
        tally = count.people[c.recipient]
        sent_quiet = (c.status == NotificationStatus.sent.value and c.sent_at is not None
                      and quiet(policy, c.recipient, c.sent_at))
        if sent_quiet and c.sent_at is not None and week.contains(c.sent_at):
            tally.contacted += 1
        if not week.contains(c.asked_at):
            continue
        if c.held_by_storm and c.message_id is not None:
            tally.held.add(c.message_id)
            count.town_held.add(c.message_id)
        if quiet(policy, c.recipient, c.asked_at) and (
                c.status in _WAITED or (c.status == NotificationStatus.sent.value
                                        and not sent_quiet)):
            tally.kept += 1


def _count_decisions(count: _Count, week: Week, decisions: Iterable[DecisionRow]) -> None:
    mine = sorted((r for r in decisions if week.contains(r.decision.decided_at)),
                  key=lambda r: (r.decision.decided_at, r.message_id))
    for row in mine:
        decision, message = row.decision, row.message_id
        codes = {o.code for o in decision.outcomes if o.kind in ("shield", "hold_for_review")}
        masked = {p for o in decision.outcomes if o.audience == "staff"
                  and o.content == "masked" for p in o.recipients}
        kind, _, ident = decision.target.partition(":")
        if codes & HELD_CODES:
            count.town_held.add(message)
            if kind == "person":
                count.people[ident].held.add(message)
            elif kind == "team":
                count.team_held[ident].add(message)
        if masked and (SHIELD_CODE in codes or codes & HELD_CODES):
            count.town_shielded.add(message)
            for person in masked:
                count.people[person].shielded.add(message)
        storm = decision.storm
        if storm is not None and storm.first:
            count.storms.append(StormRow(storm.target, decision.decided_at,
                                         storm.distinct_authors, storm.abusive_messages, 0))
            storm_kind, _, storm_ident = storm.target.partition(":")
            if storm_kind == "person":
                count.people[storm_ident].storms += 1
    # Each storm's held messages: those of its target held as a storm's, from its start
    # until the next storm on the same target.
    for n, started in enumerate(count.storms):
        later = [s.started_at for s in count.storms[n + 1:] if s.target == started.target]
        until = later[0] if later else week.end
        held = sum(1 for r in mine if r.decision.storm is not None
                   and r.decision.storm.target == started.target
                   and started.started_at <= r.decision.decided_at < until
                   and any(o.code == "storm" for o in r.decision.outcomes))
        count.storms[n] = StormRow(started.target, started.started_at,
                                   started.distinct_authors, started.abusive_messages, held)


def _count_pages(count: _Count, policy: Policy, week: Week, pages: Iterable[PageRow]) -> None:
    for page in sorted(pages, key=lambda p: (p.opened_at, p.id)):
        woken = tuple((e.person, e.at) for e in sorted(page.events, key=lambda e: e.at)
                      if e.kind in PAGED_EVENTS and e.person is not None
                      and week.contains(e.at) and at_night(policy, e.person, e.at))
        if not woken:
            continue
        for person, _ in woken:
            count.people[person].night_pages += 1
        minutes = (round((page.acked_at - page.opened_at).total_seconds() / 60, 1)
                   if page.acked_at is not None else None)
        acker = person_of(page.acked_by, policy)
        if acker is not None and page.acked_at is not None:
            count.people[acker].acked.append(minutes)
        count.night_pages.append(NightPage(page.id, page.team, page.opened_at, woken,
                                           acker or page.acked_by, page.acked_at, minutes))


def _on_call(policy: Policy, week: Week, overrides: Sequence[Override]
             ) -> dict[str, tuple[float, int]]:
    """Per person: hours on call in the week, and on-call weeks in a row ending with it."""
    tz = zone(policy.town.timezone)
    first = week.monday - dt.timedelta(days=WEEK_DAYS * (ON_CALL_LOOKBACK_WEEKS - 1))
    start = resolve(dt.datetime.combine(first, dt.time()), tz)
    found = {}
    for person, weeks in on_call_hours(policy, start, ON_CALL_LOOKBACK_WEEKS,
                                       overrides).items():
        run = 0
        for spent in reversed(weeks):
            if spent <= ON_CALL_WEEK:
                break
            run += 1
        found[person] = (round(weeks[-1].total_seconds() / 3600, 1), run)
    return found


def _exposure(policy: Policy, week: Week, rows: Iterable[ExposureRow]
              ) -> dict[str, tuple[int, int]]:
    """Per moderator (a staff id, else the actor): items read, days at the limit."""
    limit = policy.exposure_limits.max_abusive_items_per_day
    days = set(week.days)
    found: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.day not in days:
            continue
        who = person_of(row.moderator, policy) or row.moderator
        views, full = found.get(who, (0, 0))
        found[who] = (views + row.views, full + (row.views >= limit))
    return found


def build(policy: Policy, week: Week, rows: ReportRows, *, on_call: bool = True
          ) -> WellbeingReport:
    """The report of `week` from `rows` (which may span more weeks). `on_call=False`
    leaves the on-call figures out (the trend of past weeks does not need them)."""
    count = _Count()
    _count_contacts(count, policy, week, rows.contacts)
    _count_decisions(count, week, rows.decisions)
    _count_pages(count, policy, week, rows.pages)
    duty = _on_call(policy, week, rows.overrides) if on_call else {}
    exposure = _exposure(policy, week, rows.exposure)
    limit = policy.on_call_limits.max_consecutive_weeks
    moderators = set(policy.moderation.moderators)
    teams_of: dict[str, list[str]] = defaultdict(list)
    for team in policy.teams:
        for member in team.members:
            teams_of[member].append(team.id)

    people: list[Row] = []
    known = [p.id for p in policy.staff]
    others = sorted((set(count.people) | set(exposure)) - set(known))
    for person in [*known, *others]:
        tally = count.people.get(person, _Tally())
        staff = policy.people.get(person)
        hours, run = duty.get(person, (0.0, 0))
        reads = exposure.get(person)
        if staff is None and tally == _Tally() and reads is None:
            continue
        shown = person in moderators or reads is not None
        people.append(Row(
            "person", person, staff.name if staff is not None else person,
            kept_from_quiet_hours=tally.kept, contacted_in_quiet_hours=tally.contacted,
            night_pages=tally.night_pages, night_pages_acknowledged=len(tally.acked),
            minutes_to_acknowledge=_median(tally.acked),
            shielded=len(tally.shielded - tally.held), held=len(tally.held),
            storms=tally.storms, on_call_hours=hours if on_call else None,
            on_call_weeks_in_row=run, over_on_call_limit=int(run > limit),
            exposure=(reads or (0, 0))[0] if shown else None,
            days_at_exposure_limit=(reads or (0, 0))[1] if shown else None,
            teams=tuple(teams_of.get(person, ()))))
    by_id = {r.id: r for r in people}

    teams: list[Row] = []
    for team in policy.teams:
        members = [by_id[m] for m in team.members if m in by_id]
        tallies = [count.people.get(m, _Tally()) for m in team.members]
        held = set().union(*(t.held for t in tallies), count.team_held.get(team.id, set()))
        shielded = set().union(*(t.shielded for t in tallies)) - held
        pages = [p for p in count.night_pages if p.team == team.id]
        storms = sum(1 for s in count.storms
                     if s.target == f"team:{team.id}"
                     or s.target.removeprefix("person:") in team.members)
        teams.append(Row(
            "team", team.id, team.name,
            kept_from_quiet_hours=sum(m.kept_from_quiet_hours for m in members),
            contacted_in_quiet_hours=sum(m.contacted_in_quiet_hours for m in members),
            night_pages=len(pages),
            night_pages_acknowledged=sum(1 for p in pages if p.acknowledged_at is not None),
            minutes_to_acknowledge=_median(p.minutes_to_acknowledge for p in pages),
            shielded=len(shielded), held=len(held), storms=storms,
            on_call_weeks_in_row=max((m.on_call_weeks_in_row for m in members), default=0),
            over_on_call_limit=sum(m.over_on_call_limit for m in members)))

    reads_all = list(exposure.values())
    town = Row(
        "town", "town", policy.town.name,
        kept_from_quiet_hours=sum(r.kept_from_quiet_hours for r in people),
        contacted_in_quiet_hours=sum(r.contacted_in_quiet_hours for r in people),
        night_pages=len(count.night_pages),
        night_pages_acknowledged=sum(1 for p in count.night_pages
                                     if p.acknowledged_at is not None),
        minutes_to_acknowledge=_median(p.minutes_to_acknowledge for p in count.night_pages),
        shielded=len(count.town_shielded - count.town_held), held=len(count.town_held),
        storms=len(count.storms),
        on_call_weeks_in_row=max((r.on_call_weeks_in_row for r in people), default=0),
        over_on_call_limit=sum(r.over_on_call_limit for r in people),
        exposure=sum(v for v, _ in reads_all), days_at_exposure_limit=sum(
            f for _, f in reads_all))
    return WellbeingReport(
        week=week, timezone=policy.town.timezone, town=town, teams=tuple(teams),
        people=tuple(people), night_pages=tuple(count.night_pages),
        storms=tuple(count.storms), on_call_limit=limit,
        exposure_limit=policy.exposure_limits.max_abusive_items_per_day)


def trend(policy: Policy, weeks: Sequence[Week], rows: ReportRows) -> list[Row]:
    """The town's figures of each of `weeks` (oldest first), on-call left out: the line
    of past weeks on the report's page."""
    return [build(policy, week, rows, on_call=False).town for week in weeks]


def csv_text(report: WellbeingReport) -> str:
    """The report as CSV (CSV_COLUMNS; the town, each team, each person), CRLF lines as
    RFC 4180 has them."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(report.csv_rows())
    return out.getvalue()
