"""The example town's decisions, case by case (policies/ at Europe/Madrid times).

Wednesday 25 November 2026: Antonio is the lighting team's on-call electrician that week
(the `lighting-on-call` rotation hands off on Mondays at 08:00, and the week of 23 November
is his); Carmen leads the team. Antonio works 08:00-15:00 (quiet 22:00-07:00), Carmen
07:30-14:30 (quiet 21:30-07:00); Lucía, the mayor, is the last-resort contact.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from guardian.decide import (
    Context,
    Decision,
    Judged,
    OpenPage,
    Outcome,
    Post,
    Recent,
    author_key,
    decide,
    fingerprint,
)
from guardian.policy.harassment import Level
from guardian.policy.model import Policy
from guardian.schedule import Timeline

MADRID = ZoneInfo("Europe/Madrid")


def madrid(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=MADRID)


@pytest.fixture(scope="module")
def policy(town: Policy) -> Policy:
    return town


@pytest.fixture(scope="module")
def timeline(policy: Policy) -> Timeline:
    return Timeline.build(policy, madrid(22, 0), madrid(2, 0, month=12))


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    at: dt.datetime
    check: Callable[[Decision], None]
    level: Level = "none"
    masked: str | None = None
    lang: str = "es"
    mentions: tuple[str, ...] = ()
    author: str = "@vecina"
    context: Context = field(default_factory=Context)


def run(policy: Policy, timeline: Timeline | None, case: Case) -> Decision:
    scores = {"insult": 0.92, "toxicity": 0.88} if case.level in ("abusive", "rude") else (
        {"threat": 0.9} if case.level == "threat" else {})
    message = Post("twitter", f"id-{case.name}", case.author, case.text, case.lang,
                   case.mentions)
    judged = Judged(scores, case.level, case.masked or case.text, case.lang)
    return decide(message, judged, case.context, policy, case.at, timeline)


def only(decision: Decision, kind: str) -> Outcome:
    found = [o for o in decision.outcomes if o.kind == kind]
    assert len(found) == 1, decision.explain()
    return found[0]


def staff_outcomes(decision: Decision) -> list[Outcome]:
    return [o for o in decision.outcomes if o.audience == "staff" and o.recipients]


# --- the checks, one per case ------------------------------------------------------------

def lamp_at_night(d: Decision) -> None:
    assert d.kinds == ("defer",), d.explain()
    digest = d.outcomes[0]
    # Carmen starts first (07:30 < Antonio's 08:00): the lighting team's morning digest.
    assert digest.recipients == ("carmen",) and digest.channel == "digest"
    assert digest.at == madrid(26, 7, 30)
    assert d.category == "street_lighting" and d.team == "lighting" and d.urgency == "normal"
    assert any("quiet hours (21:30-07:00)" in r for r in digest.reasons)


def lamp_in_the_morning(d: Decision) -> None:
    deliver = only(d, "deliver_now")
    assert deliver.recipients == ("antonio", "carmen") and deliver.channel == "preferred"
    assert deliver.content == "original" and deliver.at == madrid(25, 10)


def power_line_at_three(d: Decision) -> None:
    page = only(d, "page")
    assert d.urgency == "emergency" and page.recipients == ("antonio",)
    assert page.channel == "urgent" and page.at == madrid(25, 3)
    plan = page.escalation
    assert plan is not None and plan.chain == "standard" and plan.last_resort == "lucia"
    first, lead, last = plan.steps[:3]
    assert first.people == ("antonio",) and "rotation:lighting-on-call/main" in first.sources
    # The next step comes after the chain's delay: Carmen, the lead, is in quiet hours and
    # not on call, and is paged all the same: HR wrote her into the chain to be woken.
    assert lead.at == madrid(25, 3, 15) and lead.people == ("carmen",) and not lead.skipped
    assert "chain:wake" in lead.sources
    assert "quiet hours" in lead.reason and "wake: always" in lead.reason
    assert last.who == "last_resort" and last.people == ("lucia",)
    assert last.at == madrid(25, 3, 30)
    # `repeat: 1`: the chain once more, then the last resort is told at the end.
    assert [s.round for s in plan.steps] == [0, 0, 0, 1, 1, 1]
    assert plan.steps[3].at == madrid(25, 4) and plan.steps[3].people == ("antonio",)
    assert plan.exhausted_at == madrid(25, 5)
    assert plan.page_steps() == [("antonio", 15), ("carmen", 15), ("lucia", 30),
                                 ("antonio", 15), ("carmen", 15), ("lucia", 30)]
    # Every step says why it reaches whom, in the plan and in the decision's explanation.
    assert all(step.reason for step in plan.steps)
    assert any("carmen (the team lead) is in quiet hours" in line for line in d.explain())
    assert not d.of_kind("deliver_now")  # no one is on duty at 03:00


def power_line_in_english(d: Decision) -> None:
    assert d.category == "street_lighting" and d.urgency == "emergency"
    assert only(d, "page").recipients == ("antonio",)


def fire_in_a_bin(d: Decision) -> None:
    # Cleaning's on-call duty is the town's rotation: the mayor at night.
    assert d.category == "cleaning" and d.urgency == "emergency"
    page = only(d, "page")
    assert page.recipients == ("lucia",)
    assert page.escalation is not None
    assert "rotation:town-on-call/mayor" in page.escalation.steps[0].sources


def insult_with_a_request(d: Decision) -> None:
    assert d.level == "abusive" and set(d.kinds) == {"shield"}
    to_moderators = [o for o in d.outcomes if o.audience == "moderators"]
    to_staff = staff_outcomes(d)
    assert [o.recipients for o in to_moderators] == [("maria",)]
    assert to_moderators[0].content == "original"
    assert to_moderators[0].channel == "review_queue"
    assert [o.recipients for o in to_staff] == [("jose",)]
    assert to_staff[0].content == "masked" and to_staff[0].channel == "preferred"


def insult_at_night(d: Decision) -> None:
    to_staff = staff_outcomes(d)
    assert len(to_staff) == 1 and to_staff[0].content == "masked"
    assert to_staff[0].channel == "digest" and to_staff[0].at == madrid(26, 6)  # José's start


def muted_author(d: Decision) -> None:
    drop = only(d, "drop")
    assert d.kinds == ("drop",) and drop.code == "muted" and drop.recipients == ()
    assert "muted until" in drop.reasons[0] and "@vecina" in drop.reasons[0]


def blocked_author(d: Decision) -> None:
    assert d.kinds == ("drop",) and only(d, "drop").code == "blocked"
    assert "blocked" in only(d, "drop").reasons[0]


def muted_author_reporting_a_fire(d: Decision) -> None:
    review = only(d, "hold_for_review")
    assert d.kinds == ("hold_for_review",) and review.code == "silenced_emergency"
    assert review.recipients == ("maria",)


def mention_on_duty(d: Decision) -> None:
    deliver = only(d, "deliver_now")
    assert deliver.recipients == ("maria",) and d.target == "person:maria"


def mention_off_duty(d: Decision) -> None:
    # María is off at 20:00 on a Wednesday: her team (only her) gets it in the morning.
    defer = only(d, "defer")
    assert defer.recipients == ("maria",) and defer.at == madrid(26, 8)
    assert any("to team rooms" in r for r in defer.reasons)


def mayor_tagged_about_a_lamp(d: Decision) -> None:
    assert d.team == "lighting" and d.mentioned == ("lucia",)
    assert only(d, "deliver_now").recipients == ("antonio", "carmen")
    assert d.target == "person:lucia"  # a pile-on would still be on her
    assert any("belongs to team lighting" in r for r in d.reasons)


def hashtag(d: Decision) -> None:
    assert d.category == "street_lighting"
    assert any("hashtag '#alumbrado'" in r for r in d.reasons)


def threat(d: Decision) -> None:
    assert d.urgency == "high" and d.kinds == ("hold_for_review",)
    assert only(d, "hold_for_review").code == "threat"
    assert staff_outcomes(d) == []


def threat_with_emergency(d: Decision) -> None:
    assert set(d.kinds) == {"hold_for_review", "page"}
    page = only(d, "page")
    assert page.content == "masked" and page.recipients == ("antonio",)


def police_default_high(d: Decision) -> None:
    # A 24-hour police shift: whoever has it is on duty at 03:00, and has no quiet hours.
    assert d.category == "police" and d.urgency == "high"
    assert len(only(d, "deliver_now").recipients) == 1


def rate_limited(d: Decision) -> None:
    # Antonio had 6 notifications in the last hour (the limit): his copy waits.
    assert only(d, "deliver_now").recipients == ("carmen",)
    defer = only(d, "defer")
    assert defer.recipients == ("antonio",) and defer.code == "rate_limited"
    assert defer.at == madrid(26, 8)
    assert any("rate limit" in r and "limit 6" in r for r in defer.reasons)


def emergency_ignores_the_rate_limit(d: Decision) -> None:
    assert only(d, "page").recipients == ("antonio",)
    assert only(d, "deliver_now").recipients == ("carmen",)


def duplicate(d: Decision) -> None:
    assert d.kinds == ("drop",) and only(d, "drop").code == "duplicate"


def flood(d: Decision) -> None:
    assert d.kinds == ("drop",) and only(d, "drop").code == "spam"


def bundled(d: Decision) -> None:
    page = only(d, "page")
    assert page.bundle_with == "41" and page.recipients == () and page.escalation is None


def rude_with_strikes(d: Decision) -> None:
    assert "shield" in d.kinds
    assert all(o.content == "masked" for o in staff_outcomes(d))


def rude(d: Decision) -> None:
    assert only(d, "deliver_now").content == "masked"


def unknown_language(d: Decision) -> None:
    assert d.category == "street_lighting"


NIGHT, MORNING = madrid(25, 22, 48), madrid(25, 10)
POWER = "Hay un cable caído en la calle Mayor, saltan chispas"
VECINA = author_key("twitter", "@vecina")


def _recent_same_text(text: str) -> Context:
    return Context(recent=(Recent(VECINA, "team:lighting", "none", madrid(25, 9, 40),
                                  fingerprint(text)),))


def _flood() -> Context:
    return Context(recent=tuple(Recent(VECINA, "team:lighting", "none",
                                       madrid(25, 9, 1 + i), f"f{i}") for i in range(30)))


CASES = [
    Case("lamp at 22:48", "La farola de la calle Real está apagada", NIGHT, lamp_at_night),
    Case("lamp at 10:00", "La farola de la calle Real está apagada", MORNING,
         lamp_in_the_morning),
    Case("power line at 03:00", POWER, madrid(25, 3), power_line_at_three),
    Case("power line in English", "There is a fallen power line on Calle Real",
         madrid(25, 3), power_line_in_english, lang="en"),
    Case("fire in a bin", "Hay fuego en el contenedor de la plaza", madrid(25, 2),
         fire_in_a_bin),
    Case("insult with a request", "Sois unos inútiles, la basura lleva días sin recoger",
         MORNING, insult_with_a_request, level="abusive",
         masked="Sois unos [insulto], la basura lleva días sin recoger"),
    Case("insult at night", "Inútiles, la basura sigue ahí", NIGHT, insult_at_night,
         level="abusive", masked="[insulto], la basura sigue ahí"),
    Case("muted author", "Otra vez sin luz en mi calle", MORNING, muted_author,
         context=Context(muted_until=madrid(1, 0, month=12))),
    Case("blocked author", "Otra vez sin luz en mi calle", MORNING, blocked_author,
         context=Context(blocked=True)),
    Case("muted author, fire", "Hay fuego en el contenedor", madrid(25, 2),
         muted_author_reporting_a_fire, context=Context(muted_until=madrid(1, 0, month=12))),
    Case("mention on duty", "@maria_salas quería reservar la sala", MORNING,
         mention_on_duty, mentions=("@maria_salas",)),
    Case("mention off duty", "@maria_salas quería reservar la sala", madrid(25, 20),
         mention_off_duty),
    Case("mayor tagged about a lamp", "@lucia_alcaldia la farola de mi calle no va",
         MORNING, mayor_tagged_about_a_lamp),
    Case("hashtag", "Calle sin nombre a oscuras #Alumbrado", MORNING, hashtag),
    Case("threat", "Como vuelva a ver al policía se va a enterar", MORNING, threat,
         level="threat", masked="Como vuelva a ver al policía [amenaza]"),
    Case("threat and emergency", "Voy a cortar el cable caído y os electrocuto",
         madrid(25, 3), threat_with_emergency, level="threat",
         masked="Voy a cortar el cable caído y [amenaza]"),
    Case("police high by default", "Quiero poner una denuncia por el robo de mi bici",
         madrid(25, 3), police_default_high),
    Case("rate limited", "La farola de la calle Real está apagada", MORNING, rate_limited,
         context=Context(sent_last_hour={"antonio": 6, "carmen": 5})),
    Case("emergency ignores the rate limit", POWER, MORNING,
         emergency_ignores_the_rate_limit,
         context=Context(sent_last_hour={"antonio": 60, "carmen": 60})),
    Case("duplicate", "La farola de la calle Real está apagada", MORNING, duplicate,
         context=_recent_same_text("la farola de la  calle real está APAGADA")),
    Case("flood", "Farola 31", MORNING, flood, context=_flood()),
    Case("bundled into an open page", POWER, madrid(25, 3, 10), bundled,
         context=Context(open_pages=(OpenPage("41", "lighting", "street_lighting",
                                              madrid(25, 3)),))),
    Case("rude from an author with strikes", "Joder, la farola otra vez", MORNING,
         rude_with_strikes, level="rude", masked="[grosería], la farola otra vez",
         context=Context(author_strikes=3)),
    Case("rude", "Joder, la farola otra vez", MORNING, rude, level="rude",
         masked="[grosería], la farola otra vez"),
    Case("unknown language", "farola kaputt", MORNING, unknown_language, lang="de"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_town_case(policy: Policy, timeline: Timeline, case: Case) -> None:
    decision = run(policy, timeline, case)
    case.check(decision)
    # Every decision explains itself and survives the trip through the database.
    assert decision.reasons and all(o.reasons for o in decision.outcomes)
    assert Decision.from_json(json.loads(json.dumps(decision.to_json()))) == decision


@pytest.mark.parametrize("case", CASES[:6], ids=[c.name for c in CASES[:6]])
def test_without_a_timeline_the_answers_are_the_same(policy: Policy, timeline: Timeline,
                                                     case: Case) -> None:
    assert run(policy, None, case) == run(policy, timeline, case)


def test_twenty_insults_in_ten_minutes_make_one_storm_notice(policy: Policy,
                                                             timeline: Timeline) -> None:
    """Twenty accounts insult Antonio in ten minutes. The insults ask for nothing: the
    first two reach only the moderators (Antonio gets a count in his digest, no text); the
    third author sets the storm off (`early_authors: 3` in `early_window_minutes: 10`), and
    from then on staff see nothing; one notice each to the moderators (María), HR (Lucía)
    and Antonio, not twenty."""
    recent: list[Recent] = []
    decisions = []
    for i in range(20):
        at = madrid(25, 10) + dt.timedelta(seconds=30 * i)
        case = Case(f"insult-{i}", f"@antonio_luz eres un inútil número {i}", at,
                    lambda d: None, level="abusive", author=f"@troll{i}",
                    masked=f"@antonio_luz eres un [insulto] número {i}",
                    context=Context(recent=tuple(recent)))
        decision = run(policy, timeline, case)
        decisions.append(decision)
        recent.append(Recent(decision.author, decision.target, decision.level, at,
                             decision.fingerprint))
    assert {d.target for d in decisions} == {"person:antonio"}
    notices = [o for d in decisions for o in d.outcomes if o.content == "storm_notice"]
    assert sorted(o.recipients for o in notices) == [("antonio",), ("lucia",), ("maria",)]
    assert {o.audience for o in notices} == {"moderators", "hr", "staff"}
    stormy = [d for d in decisions if d.storm is not None]
    assert [d.storm.first for d in stormy if d.storm] == [True] + [False] * 17
    assert decisions.index(stormy[0]) == 2
    for d in stormy[1:]:
        assert not any(o.audience == "staff" for o in d.outcomes), d.explain()
        assert [o.channel for o in d.outcomes if o.code == "storm"] == ["review_queue"]
    for d in decisions[:2]:
        # Nothing to act on once masked: the moderators only, a count for Antonio.
        staff = staff_outcomes(d)
        assert [(o.recipients, o.content, o.channel) for o in staff] == [
            (("antonio",), "held_notice", "digest")], d.explain()
        assert any(o.code == "abusive_no_request" for o in d.outcomes)


def test_an_insult_with_a_request_still_reaches_staff_masked(policy: Policy,
                                                              timeline: Timeline) -> None:
    case = Case("insult and lamp", "@antonio_luz eres un inútil, la farola de la plaza sigue "
                "apagada", MORNING, lambda d: None, level="abusive",
                masked="@antonio_luz eres un [insulto], la farola de la plaza sigue apagada")
    decision = run(policy, timeline, case)
    staff = staff_outcomes(decision)
    assert staff and all(o.content == "masked" for o in staff), decision.explain()


@pytest.mark.parametrize("text", [
    "@antonio_luz eres un [insulto]", "@antonio_luz [insulto] [insulto]",
    "[insulto], eso es lo que eres", "@antonio_luz you are such a [insult]",
    "Hola @antonio_luz, eres una [insulto] y una [insulto]",
    "@antonio_luz no sirves para nada, [insulto]"])
def test_abuse_with_nothing_to_act_on_reaches_no_staff(policy: Policy, timeline: Timeline,
                                                       text: str) -> None:
    case = Case("pure abuse", text, MORNING, lambda d: None, level="abusive", masked=text)
    decision = run(policy, timeline, case)
    assert not any(o.audience == "staff" and o.content != "held_notice"
                   for o in decision.outcomes), decision.explain()
    assert any(o.channel == "review_queue" for o in decision.outcomes)


def test_held_notice_nothing_tells_the_target_nothing(policy: Policy,
                                                     timeline: Timeline) -> None:
    data = policy.model_dump(mode="json")
    data["moderation"]["held_notice"] = "nothing"
    quiet = Policy.model_validate(data)
    case = Case("pure abuse", "@antonio_luz eres un inútil", MORNING, lambda d: None,
                level="abusive", masked="@antonio_luz eres un [insulto]")
    decision = run(quiet, timeline, case)
    assert not any(o.audience == "staff" for o in decision.outcomes), decision.explain()


def test_a_polite_crowd_is_not_a_storm(policy: Policy, timeline: Timeline) -> None:
    recent = tuple(Recent(f"twitter:n{i}", "team:lighting", "none", madrid(25, 9, 50), None)
                   for i in range(50))
    case = Case("crowd", "La farola de la plaza sigue apagada", MORNING, lambda d: None,
                context=Context(recent=recent))
    decision = run(policy, timeline, case)
    assert decision.storm is None and decision.kinds == ("deliver_now",)


def test_a_low_urgency_rule_waits_for_the_digest_even_on_duty(policy: Policy,
                                                              timeline: Timeline) -> None:
    data = policy.model_dump(mode="json")
    data["urgency"]["rules"].append({"id": "thanks", "lang": "es", "keywords": ["gracias"],
                                     "urgency": "low"})
    low = Policy.model_validate(data)
    lows = Timeline.build(low, madrid(22, 0), madrid(2, 0, month=12))
    case = Case("thanks", "Muchas gracias por arreglar la farola", MORNING, lambda d: None)
    decision = run(low, lows, case)
    assert decision.urgency == "low" and set(decision.kinds) == {"defer"}
    assert {(o.recipients, o.at) for o in decision.outcomes} == {
        (("antonio",), madrid(26, 8)), (("carmen",), madrid(26, 7, 30))}
    assert run(policy, timeline, case).kinds == ("deliver_now",)


def test_someone_passed_over_is_in_the_reasons(policy: Policy, timeline: Timeline) -> None:
    """HR (Lucía) has no working hours in this variation: the storm notice cannot reach
    her, and the decision says so."""
    data = policy.model_dump(mode="json")
    data["staff"][0]["working_hours"] = {}
    data["moderation"]["moderators"] = []
    idle = Policy.model_validate(data)
    # Twenty to thirty minutes ago: in the storm window, not in the early one.
    recent = tuple(Recent(f"twitter:t{i}", "person:antonio", "abusive", madrid(25, 9, 40))
                   for i in range(4))
    case = Case("passed over", "@antonio_luz inútil", MORNING, lambda d: None,
                level="abusive", context=Context(recent=recent))
    decision = run(idle, Timeline.build(idle, madrid(22, 0), madrid(2, 0, month=12)), case)
    assert decision.storm is not None and decision.storm.first
    # Only Antonio (the target, on duty) gets the storm's notice.
    assert [o.recipients for o in decision.outcomes if o.content == "storm_notice"] == [
        ("antonio",)]
    assert any("lucia is off duty and has no working period" in r for r in decision.reasons)
    assert set(decision.kinds) == {"shield"}  # held in the queue: nothing "unrouted" besides


def test_a_naive_now_is_refused(policy: Policy) -> None:
    case = Case("naive", "farola", dt.datetime(2026, 11, 25, 10), lambda d: None)
    with pytest.raises(ValueError, match="time zone"):
        run(policy, None, case)


def test_the_decision_json_shape(policy: Policy, timeline: Timeline) -> None:
    decision = run(policy, timeline, CASES[2])
    data = decision.to_json()
    assert set(data) == {"version", "decided_at", "message", "level", "category", "team",
                         "target", "mentioned", "urgency", "fingerprint", "storm",
                         "outcomes", "reasons"}
    outcome = data["outcomes"][0]
    assert set(outcome) == {"kind", "recipients", "audience", "channel", "at", "content",
                            "urgency", "code", "reasons", "escalation", "bundle_with"}
    assert outcome["at"] == "2026-11-25T02:00:00+00:00"
    assert set(outcome["escalation"]) == {"chain", "team", "steps", "last_resort",
                                          "exhausted_at"}
    with pytest.raises(ValueError, match="version"):
        Decision.from_json({**data, "version": 99})
