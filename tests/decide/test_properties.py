"""The decision contract's invariants as properties, over variations of the example town
(people's hours, quiet hours and time zones, rotations, chains, limits), random messages
at random instants (daylight-saving weeks included) and random contexts.

The engine decides with a prebuilt `Timeline`; the checks ask the pure schedule functions
(`guardian.schedule`), so the two are also held to each other.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.decide import (
    Context,
    Decision,
    Judged,
    OpenPage,
    Post,
    Recent,
    StormTally,
    count_window,
    decide,
    storm_at,
)
from guardian.decide.inputs import ABUSIVE
from guardian.policy.harassment import LEVELS, Level
from guardian.policy.model import Policy
from guardian.schedule import Timeline, in_quiet_hours, is_working
from guardian.schedule.duty import duty_at
from tests.conftest import example_policy

MADRID = ZoneInfo("Europe/Madrid")
SECOND = dt.timedelta(seconds=1)
SPAN = dt.timedelta(days=3)
# GUARDIAN_PROPERTY_EXAMPLES=2000 for a long hunt; the default keeps the file under 10 s.
EXAMPLES = int(os.environ.get("GUARDIAN_PROPERTY_EXAMPLES", "40"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

BASE: Policy = example_policy()
STAFF = [s.id for s in BASE.staff]
HANDLES = {s.id: s.handles["twitter"] for s in BASE.staff}

WORKING: list[Any] = [
    {}, {"mon-fri": "08:00-15:00"}, {"mon-fri": ["09:00-14:00", "17:00-19:00"]},
    {"mon-sat": "06:00-13:00"}, {"daily": "20:00-04:00"}, {"sat-sun": "10:00-22:00"},
    {"mon-fri": "07:30-14:30", "thu": "16:00-19:00"}, {"daily": "00:00-24:00"}]
QUIET: list[Any] = [{}, "22:00-07:00", "21:30-07:00", "20:00-05:30", "13:00-16:00",
                    "23:00-09:00", {"sat-sun": "00:00-24:00"}]
ZONES = ["Europe/Madrid", "Atlantic/Canary", "Europe/London", "America/New_York"]
FRAGMENTS = [
    "la farola de mi calle está apagada", "hay un cable caído", "fuego en el contenedor",
    "la basura lleva días", "quiero reservar la sala", "necesito cita con el médico",
    "denuncia por robo", "there is a fallen power line", "the streetlight is out",
    "fire in the bin", "hola buenos días", "#alumbrado", "#limpieza", "un accidente",
    "sois unos inútiles", "gracias",
]
# Instants: around the two daylight-saving changes of 2026 and ordinary weeks.
STARTS = [dt.datetime(2026, 3, 27, tzinfo=MADRID), dt.datetime(2026, 10, 23, tzinfo=MADRID),
          dt.datetime(2026, 11, 23, tzinfo=MADRID), dt.datetime(2026, 6, 5, tzinfo=MADRID),
          dt.datetime(2026, 12, 24, tzinfo=MADRID)]


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    data = BASE.model_dump(mode="json")
    for person in data["staff"]:
        person["working_hours"] = draw(st.sampled_from(WORKING))
        person["quiet_hours"] = draw(st.sampled_from(QUIET))
        person["timezone"] = draw(st.sampled_from(ZONES))
    lighting = next(r for r in data["rotations"] if r["id"] == "lighting-on-call")
    lighting["layers"][0]["shift"] = draw(st.sampled_from(["12h", "daily", "weekly"]))
    lighting["layers"][0]["hand_off"] = f"{draw(st.integers(0, 23)):02d}:30"
    lighting["layers"][0]["members"] = draw(st.permutations(["antonio", "carmen"]))
    data["rate_limits"] = {"max_per_person_per_hour": draw(st.integers(1, 4))}
    data["storm"] = {"distinct_authors": draw(st.integers(2, 6)),
                     "abusive_messages": draw(st.integers(1, 4)),
                     "window_minutes": draw(st.integers(5, 90))}
    data["moderation"]["moderators"] = draw(st.lists(st.sampled_from(STAFF), max_size=2,
                                                     unique=True))
    data["moderation"]["hr"] = draw(st.lists(st.sampled_from(STAFF), max_size=2, unique=True))
    steps = draw(st.lists(st.sampled_from([
        {"who": "team_on_call"}, {"who": "team_lead"}, {"who": "last_resort"},
        {"who": "person", "person": "jose"}, {"who": "person", "person": "pablo"}]),
        min_size=1, max_size=4))
    chain = data["escalation"]["chains"][0]
    chain["steps"] = [{**s, "delay_minutes": draw(st.integers(1, 60))} for s in steps]
    for step in chain["steps"]:
        if step["who"] in ("team_lead", "person"):
            step["wake"] = draw(st.sampled_from(["always", "if_available"]))
    chain["repeat"] = draw(st.integers(0, 2))
    data["escalation"]["last_resort"] = draw(st.sampled_from(STAFF))
    return Policy.model_validate(data)


@dataclass(frozen=True)
class Item:
    post: Post
    judged: Judged
    context: Context
    at: dt.datetime


@st.composite
def items(draw: st.DrawFn, start: dt.datetime, limit: int) -> Item:
    at = start + dt.timedelta(minutes=draw(st.integers(0, int(SPAN.total_seconds() // 60))))
    words = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3))
    mentioned = draw(st.lists(st.sampled_from(STAFF), max_size=2, unique=True))
    text = " ".join([*(HANDLES[m] for m in mentioned), *words])
    level: Level = draw(st.sampled_from(LEVELS))
    lang = draw(st.sampled_from(["es", "en", None]))
    author = f"@a{draw(st.integers(0, 5))}"
    recent = tuple(
        Recent(f"twitter:a{draw(st.integers(0, 9))}",
               draw(st.sampled_from(["person:antonio", "team:lighting", "person:maria",
                                     "team:cleaning"])),
               draw(st.sampled_from(LEVELS)),
               at - dt.timedelta(minutes=draw(st.integers(0, 120))), None)
        for _ in range(draw(st.integers(0, 12))))
    context = Context(
        author_strikes=draw(st.integers(0, 4)),
        muted_until=at + dt.timedelta(hours=1) if draw(st.integers(0, 9)) == 0 else None,
        recent=recent,
        sent_last_hour={p: draw(st.integers(0, limit + 1)) for p in STAFF},
        open_pages=(OpenPage("7", "lighting", "street_lighting", at - SECOND),)
        if draw(st.booleans()) else ())
    return Item(Post("twitter", str(draw(st.integers())), author, text, lang),
                Judged({"insult": 0.9} if level != "none" else {}, level,
                       f"[masked] {text}", lang), context, at)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Policy, dt.datetime, list[Item]]:
    policy = draw(policies())
    # Instant arithmetic in UTC (in Madrid's wall clock it could land in a skipped hour).
    start = (draw(st.sampled_from(STARTS)).astimezone(dt.UTC)
             + dt.timedelta(hours=draw(st.integers(0, 23))))
    limit = policy.rate_limits.max_per_person_per_hour
    return policy, start, draw(st.lists(items(start, limit), min_size=1, max_size=12))


# --- the oracle: the pure schedule functions ----------------------------------------------

class Oracle:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def quiet(self, person: str, at: dt.datetime) -> bool:
        return in_quiet_hours(self.policy, person, at)

    def on_duty(self, person: str, at: dt.datetime) -> bool:
        return not self.quiet(person, at) and (
            is_working(self.policy, person, at)
            or any(person in duty_at(self.policy, t.id, "duty", at).people
                   for t in self.policy.teams))

    def on_call(self, person: str, at: dt.datetime) -> bool:
        """On call by a rotation, or the last-resort contact (HR's choice for when a chain
        is exhausted): the only people a page may reach in their quiet hours."""
        escalation = self.policy.escalation
        return (escalation is not None and person == escalation.last_resort) or any(
            person in duty_at(self.policy, t.id, "on_call", at).people
            for t in self.policy.teams)


def contacts(decision: Decision, policy: Policy | None = None
             ) -> Iterable[tuple[str, str, dt.datetime, str]]:
    """Every (person, kind, instant, channel) at which someone is contacted, escalation
    steps included (the review queue is not a contact: moderators open it). With `policy`,
    the steps that wake someone the chain names (`wake: always`) are left out: they are
    HR's explicit exception, checked on their own."""
    for outcome in decision.outcomes:
        if outcome.channel in ("preferred", "urgent", "digest"):
            assert outcome.at is not None
            for person in outcome.recipients:
                if policy is not None and outcome.kind == "page" and _woken(
                        policy, decision, outcome.escalation, person, outcome.at):
                    continue
                yield person, outcome.kind, outcome.at, outcome.channel
        if outcome.escalation is not None:
            for step in outcome.escalation.steps:
                for person in step.people:
                    if policy is not None and "chain:wake" in step.sources:
                        assert _named_to_wake(policy, decision, step.index, person), (
                            decision.explain())
                        continue
                    yield person, "page", step.at, "urgent"


def _named_to_wake(policy: Policy, decision: Decision, index: int, person: str) -> bool:
    """Does the team's chain name `person` at step `index`, with `wake: always`?"""
    assert policy.escalation is not None and decision.team is not None
    team = policy.team_index[decision.team]
    chain_id = team.escalation or policy.escalation.default_chain
    chain = next(c for c in policy.escalation.chains if c.id == chain_id)
    step = chain.steps[index]
    named = team.lead if step.who == "team_lead" else step.person
    return step.wake == "always" and named == person


def _woken(policy: Policy, decision: Decision, plan: object, person: str,
           at: dt.datetime) -> bool:
    steps = getattr(plan, "steps", ())
    return any(s.at == at and person in s.people and "chain:wake" in s.sources
               for s in steps)


def _decisions(world: tuple[Policy, dt.datetime, list[Item]]
               ) -> tuple[Policy, list[tuple[Item, Decision]]]:
    policy, start, batch = world
    timeline = Timeline.build(policy, start - dt.timedelta(hours=2), start + SPAN * 2)
    return policy, [(item, decide(item.post, item.judged, item.context, policy, item.at,
                                  timeline)) for item in batch]


@PROPERTY
@given(worlds())
def test_no_contact_in_quiet_hours_except_a_page_to_the_person_on_call(
        world: tuple[Policy, dt.datetime, list[Item]]) -> None:
    policy, decided = _decisions(world)
    oracle = Oracle(policy)
    for _, decision in decided:
        for person, kind, at, _ in contacts(decision, policy):
            if oracle.quiet(person, at):
                assert kind == "page" and oracle.on_call(person, at), decision.explain()


@PROPERTY
@given(worlds())
def test_off_duty_staff_get_only_their_digest_at_the_start_of_their_duty(
        world: tuple[Policy, dt.datetime, list[Item]]) -> None:
    policy, decided = _decisions(world)
    oracle = Oracle(policy)
    for item, decision in decided:
        for person, kind, at, channel in contacts(decision, policy):
            if channel == "digest":
                assert at > item.at
                assert oracle.on_duty(person, at) and not oracle.on_duty(person, at - SECOND), (
                    person, at, decision.explain())
                assert not oracle.quiet(person, at)
            elif kind == "page":
                assert oracle.on_duty(person, at) or oracle.on_call(person, at), (
                    person, at, decision.explain())
            else:
                assert at == item.at and oracle.on_duty(person, at), (
                    person, decision.explain())


@PROPERTY
@given(worlds())
def test_the_raw_text_of_an_abusive_message_never_reaches_staff(
        world: tuple[Policy, dt.datetime, list[Item]]) -> None:
    _, decided = _decisions(world)
    for item, decision in decided:
        if item.judged.level in ABUSIVE:
            for outcome in decision.outcomes:
                if outcome.audience in ("staff", "hr"):
                    assert outcome.content in ("masked", "storm_notice", "held_notice",
                                               "none"), (
                        decision.explain())
                if outcome.content == "original":
                    assert outcome.audience == "moderators"
                    assert outcome.channel == "review_queue"


@PROPERTY
@given(worlds())
def test_no_one_gets_more_non_emergency_notifications_an_hour_than_the_limit(
        world: tuple[Policy, dt.datetime, list[Item]]) -> None:
    policy, decided = _decisions(world)
    limit = policy.rate_limits.max_per_person_per_hour
    for item, decision in decided:
        pushed: dict[str, int] = {}
        for outcome in decision.outcomes:
            if outcome.channel in ("preferred", "urgent") and not outcome.emergency:
                for person in outcome.recipients:
                    pushed[person] = pushed.get(person, 0) + 1
        for person, count in pushed.items():
            assert item.context.sent_last_hour.get(person, 0) + count <= limit, (
                decision.explain())


@PROPERTY
@given(worlds())
def test_an_emergency_is_never_deferred_by_the_cap(
        world: tuple[Policy, dt.datetime, list[Item]]) -> None:
    """Whatever the hour's count (up to beyond the limit), no outcome of an emergency is
    moved to a digest by the rate limit."""
    _, decided = _decisions(world)
    for _, decision in decided:
        if decision.urgency == "emergency":
            assert all(o.code != "rate_limited" for o in decision.outcomes), (
                decision.explain())


@PROPERTY
@given(worlds())
def test_every_message_is_decided_explained_and_stored(
        world: tuple[Policy, dt.datetime, list[Item]]) -> None:
    """Nothing is lost (invariant 4's part in the core): every decision reaches someone, is
    held in the review queue, joins a page, or says why it is dropped; every outcome
    explains itself (7); a page's plan moves forward in time and ends with the last
    resort (5)."""
    policy, decided = _decisions(world)
    for _, decision in decided:
        assert decision.outcomes
        assert any(o.recipients or o.channel == "review_queue" or o.kind == "drop"
                   or o.bundle_with for o in decision.outcomes), decision.explain()
        assert any(r.startswith("urgency ") for r in decision.reasons)
        assert any(r.startswith("level ") for r in decision.reasons)
        assert all(o.reasons for o in decision.outcomes)
        for outcome in decision.outcomes:
            plan = outcome.escalation
            if plan is None:
                continue
            times = [s.at for s in plan.steps]
            assert times == sorted(times) and times[0] == decision.decided_at
            assert all(s.people or s.skipped for s in plan.steps)
            assert plan.exhausted_at is not None and plan.exhausted_at >= times[-1]
            assert policy.escalation is not None
            assert plan.last_resort == policy.escalation.last_resort
        again = Decision.from_json(json.loads(json.dumps(decision.to_json())))
        assert again == decision


@settings(max_examples=EXAMPLES, deadline=None)
@given(policies(), st.sampled_from(STARTS),
       st.lists(st.tuples(st.integers(0, 7), st.sampled_from(LEVELS), st.integers(0, 50)),
                min_size=1, max_size=40))
def test_a_storm_sends_one_notice_per_onset(policy: Policy, start: dt.datetime,
                                            stream: list[tuple[int, Level, int]]) -> None:
    """A stream of messages at Antonio: notices go out only when a storm begins."""
    timeline = Timeline.build(policy, start, start + dt.timedelta(days=2))
    recent: list[Recent] = []
    tally = StormTally(policy.storm.window_minutes)
    early = StormTally(policy.storm.early_window_minutes, ABUSIVE)
    at = start.astimezone(dt.UTC) + dt.timedelta(hours=10)
    onsets = notices = 0
    for author, level, gap in stream:
        at += dt.timedelta(seconds=gap * 20)
        was = storm_at(recent, "person:antonio", policy.storm, at)
        post = Post("twitter", str(len(recent)), f"@s{author}", f"@antonio_luz uno {len(recent)}")
        judged = Judged({}, level, post.text)
        decision = decide(post, judged, Context(recent=tuple(recent)), policy, at, timeline)
        # The decision stage's way (sliding tallies of the storm window and the early one,
        # the author's messages only) decides alike.
        mine = tuple(r for r in recent if r.author == decision.author)
        counted = tally.count("person:antonio", decision.author, at)
        counted_early = early.count("person:antonio", decision.author, at)
        assert decide(post, judged, Context(recent=mine, storm_count=counted,
                                            early_count=counted_early),
                      policy, at, timeline) == decision
        recent.append(Recent(decision.author, decision.target, level, at,
                             decision.fingerprint))
        tally.add(recent[-1])
        early.add(recent[-1])
        now = storm_at(recent, "person:antonio", policy.storm, at)
        onsets += was is None and now is not None
        notices += any(o.content == "storm_notice" for o in decision.outcomes)
        assert (decision.storm is not None) == (now is not None and level != "none")
    assert notices <= onsets


@pytest.mark.parametrize("start", STARTS)
def test_the_timeline_and_the_pure_schedule_decide_alike(start: dt.datetime) -> None:
    timeline = Timeline.build(BASE, start, start + SPAN * 2)
    for hour in range(0, 72, 5):
        at = start.astimezone(dt.UTC) + dt.timedelta(hours=hour, minutes=17)
        for text in ("la farola está apagada", "hay un cable caído", "@maria_salas sala"):
            post = Post("twitter", "x", "@v", text, "es")
            judged = Judged({}, "none", text, "es")
            assert (decide(post, judged, Context(), BASE, at, timeline)
                    == decide(post, judged, Context(), BASE, at))


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(st.integers(1, 30),
       st.lists(st.tuples(st.integers(0, 300), st.sampled_from(["person:antonio", "team:luz"]),
                          st.integers(0, 5), st.sampled_from(LEVELS), st.booleans()),
                min_size=1, max_size=120))
def test_the_storm_tally_counts_as_the_window_does(
        window: int, stream: list[tuple[int, str, int, Level, bool]]) -> None:
    """Sliding counts (added as messages come, ageing out, with a batch not added yet)
    give the window a recount of every message gives."""
    tally = StormTally(window)
    seen: list[Recent] = []
    pending: list[Recent] = []
    at = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    for gap, target, author, level, batch_ends in stream:
        at += dt.timedelta(seconds=gap)
        for asked in ("person:antonio", "team:luz"):
            assert tally.count(asked, f"a{author}", at, pending) == count_window(
                [*seen, *pending], asked, f"a{author}", window, at)
        pending.append(Recent(f"a{author}", target, level, at))
        if batch_ends:
            for item in pending:
                tally.add(item)
            seen += pending
            pending = []


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["rude", "abusive", "threat",
                                                             "none"]),
                          st.integers(0, 20 * 60)), min_size=1, max_size=40),
       st.sampled_from(STARTS), st.integers(0, 23))
def test_a_storm_target_receives_at_most_one_notice_per_storm(
        arrivals: list[tuple[int, Level, int]], day: dt.datetime, hour: int) -> None:
    """A pile-on at Antonio within twenty minutes (inside one storm window): he gets at
    most one storm notice, and from the storm's start none of its hostile messages, masked
    or not; moderators and HR one notice each."""
    policy = BASE
    start = day.astimezone(dt.UTC) + dt.timedelta(hours=hour)
    timeline = Timeline.build(policy, start - dt.timedelta(hours=2), start + SPAN)
    recent: list[Recent] = []
    notices: dict[str, int] = {}
    stormed = False
    started: set[str] = set()  # as the lead's memory gives it (`Context.open_storms`)
    for n, (author, level, second) in enumerate(sorted(arrivals, key=lambda a: a[2])):
        at = start + dt.timedelta(seconds=second)
        text = f"{HANDLES['antonio']} eres un inútil número {n}"
        post = Post("twitter", f"m{n}", f"@cuenta{author}", text, "es")
        judged = Judged({"insult": 0.9} if level != "none" else {}, level,
                        f"{HANDLES['antonio']} eres un [insulto] número {n}", "es")
        decision = decide(post, judged, Context(recent=tuple(recent),
                                                open_storms=frozenset(started)),
                          policy, at, timeline)
        if decision.storm is not None and decision.storm.first:
            started.add(decision.storm.target)
        for outcome in decision.outcomes:
            if outcome.content == "storm_notice":
                for person in outcome.recipients:
                    notices[person] = notices.get(person, 0) + 1
            elif stormed and level != "none" and "antonio" in outcome.recipients:
                raise AssertionError(decision.explain())
        stormed = stormed or decision.storm is not None
        recent.append(Recent(decision.author, decision.target, level, at,
                             decision.fingerprint))
    assert all(count <= 1 for count in notices.values()), notices
