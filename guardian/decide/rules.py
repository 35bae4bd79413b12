"""`decide`: from a message, its assessment, the context and the policy to a `Decision`.

Pure: no I/O, no clock (`now` is passed in). The order of the questions, and what each
answer leads to (docs/decisions.md has the table):

1. Is the author blocked or muted, is it a duplicate, or a flood? -> drop (an emergency
   from a silenced author goes to moderators instead).
2. Is its target in a storm, and the message hostile? -> storm shield: held for the
   moderators; one notice to moderators and HR when the storm starts; staff see nothing.
3. By level: threat -> hold for review; abusive (or rude from an author with enough
   strikes) -> shield: staff get the masked text, moderators the original; rude -> routed,
   masked; none -> routed as written.
4. By urgency: emergency -> page the on-call person with the escalation plan (or join an
   open page), and tell whoever is on duty; otherwise to whoever is on duty now (low:
   their digest), else to the digest of the first to come on duty.
5. The rate limit: non-emergency notifications beyond the hourly limit go to the digest.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from guardian.decide.classify import DEFAULT_CATEGORY, Router, classify_folded, router_for
from guardian.decide.decision import (
    Audience,
    Channel,
    Content,
    Decision,
    EscalationPlan,
    Outcome,
    OutcomeKind,
    PlanStep,
    StormInfo,
)
from guardian.decide.escalation import local_time, plan_for
from guardian.decide.inputs import (
    ABUSIVE,
    HOSTILE,
    AssessmentLike,
    Context,
    MessageLike,
    author_key,
)
from guardian.decide.request import request_left
from guardian.decide.storm import Storm, count_window, storm_of
from guardian.decide.text import fingerprint, fold
from guardian.policy.harassment import Level
from guardian.policy.model import Policy, Urgency
from guardian.schedule.availability import SEARCH_AHEAD, Availability
from guardian.schedule.localtime import require_aware
from guardian.schedule.timeline import Timeline

_HOUR = dt.timedelta(hours=1)


def _scores(labels: Iterable[tuple[str, float]]) -> str:
    top = sorted(((v, k) for k, v in labels if v >= 0.1), reverse=True)[:3]
    return ", ".join(f"{k} {v:.2f}" for v, k in top) or "no label above 0.10"


class _Decider:
    def __init__(self, message: MessageLike, assessment: AssessmentLike, context: Context,
                 router: Router, now: dt.datetime, timeline: Timeline | None) -> None:
        self.message, self.assessment, self.context = message, assessment, context
        policy = self.policy = router.policy
        self.now = now
        folded = fold(message.text)
        self.found = classify_folded(message, assessment, router, folded)
        self.router = router
        self.avail = Availability(policy, timeline, context.overrides, router.duty_index,
                                  router.call_index, router.quiet_cache)
        self.author = author_key(message.source, message.author_handle)
        self.fingerprint = fingerprint(message.text, folded)
        self.level: Level = assessment.level
        self.urgency: Urgency = self.found.urgency
        self.outcomes: list[Outcome] = []
        self.storm: StormInfo | None = None
        self.notes: list[str] = []  # why someone was passed over, kept for the record
        self._times: dict[tuple[str | None, dt.datetime], str] = {}

    # --- building blocks -----------------------------------------------------------

    def _add(self, kind: OutcomeKind, recipients: Iterable[str], audience: Audience,
             channel: Channel, at: dt.datetime | None, content: Content, code: str,
             reasons: list[str], *, escalation: EscalationPlan | None = None,
             bundle_with: str | None = None) -> None:
        self.outcomes.append(Outcome(
            kind=kind, recipients=tuple(recipients), audience=audience, channel=channel,
            at=at, content=content, urgency=self.urgency, code=code, reasons=tuple(reasons),
            escalation=escalation, bundle_with=bundle_with))

    def _when(self, person: str | None, at: dt.datetime) -> str:
        key = (person, at)
        text = self._times.get(key)
        if text is None:
            text = self._times[key] = local_time(self.policy, person, at)
        return text

    def _drop(self, code: str, why: str) -> None:
        self._add("drop", (), "none", "none", None, "none", code, [why])

    def _review(self, code: str, reasons: list[str]) -> None:
        """Into the moderators' queue (not a push): they see the original there."""
        moderators = self.policy.moderation.moderators
        who = "the moderators" if moderators else "the moderators' queue"
        self._add("hold_for_review", moderators, "moderators", "review_queue", self.now,
                  "original", code, [*reasons, f"held for {who}; staff see nothing yet"])

    def _push_or_digest(self, kind: OutcomeKind, people: Iterable[str], audience: Audience,
                        content: Content, code: str, why: str) -> None:
        """Now to those on duty, else into their digest at their next start."""
        now_people: list[str] = []
        later: dict[dt.datetime, list[str]] = defaultdict(list)
        for person in people:
            if self.avail.on_duty(person, self.now):
                now_people.append(person)
                continue
            start = self.avail.next_start(person, self.now)
            if start is not None:
                later[start].append(person)
            else:
                self.notes.append(f"{person} is off duty and has no working period or shift "
                                  f"in the next {SEARCH_AHEAD.days} days: not told")
        if now_people:
            self._add(kind, now_people, audience, "preferred", self.now, content, code,
                      [why, f"{', '.join(now_people)} on duty now"])
        for start, group in sorted(later.items()):
            self._add(kind, group, audience, "digest", start, content, code,
                      [why, f"{', '.join(group)} off duty now: in the digest when they come "
                            f"on duty, {self._when(group[0], start)}"])

    # --- the questions, in order ---------------------------------------------------

    def silenced(self) -> bool:
        context, now = self.context, self.now
        muted = context.muted_until is not None and context.muted_until > now
        if not (context.blocked or muted):
            return False
        state = ("blocked" if context.blocked else
                 f"muted until {self._when(None, context.muted_until or now)}")
        why = f"the author {self.message.author_handle} is {state} by the moderators"
        if self.urgency == "emergency":
            self._review("silenced_emergency", [why, "but the message reads as an emergency: "
                                                "a moderator checks it rather than drop it"])
        else:
            self._drop("blocked" if context.blocked else "muted",
                       f"{why}: the message is dropped")
        return True

    def repeated(self) -> bool:
        if not self.context.recent:
            return False
        moderation = self.policy.moderation
        since = self.now - dt.timedelta(minutes=moderation.duplicate_window_minutes)
        hour_ago = self.now - _HOUR
        mine = [r for r in self.context.recent if r.author == self.author]
        same = [r for r in mine if r.fingerprint == self.fingerprint and since < r.at <= self.now]
        if same:
            first = min(r.at for r in same)
            self._drop("duplicate", f"duplicate: the author sent the same text at "
                                    f"{self._when(None, first)} (within "
                                    f"{moderation.duplicate_window_minutes} min)")
            return True
        count = sum(1 for r in mine if hour_ago < r.at <= self.now) + 1
        if count > moderation.spam_messages_per_hour:
            why = (f"spam: {count} messages from this author in the last hour (more than "
                   f"{moderation.spam_messages_per_hour})")
            if self.urgency == "emergency":
                self._review("spam_emergency", [why, "but the message reads as an emergency: "
                                                "a moderator checks it"])
            else:
                self._drop("spam", why)
            return True
        return False

    def stormy(self, content: Content) -> bool:
        if self.level not in HOSTILE:
            return False
        thresholds = self.policy.storm
        target = self.found.target
        count = self.context.storm_count
        if count is None or count.target != target:
            count = count_window(self.context.recent, target, self.author,
                                 thresholds.window_minutes, self.now)
        early = self.context.early_count
        if early is None or early.target != target:
            early = count_window(self.context.recent, target, self.author,
                                 thresholds.early_window_minutes, self.now, ABUSIVE)
        after = count.adding(self.author, self.level, self.now)
        storm = storm_of(after, thresholds, early.adding(self.author, self.level, self.now))
        if storm is None and target in self.context.open_storms:
            # A storm started within the window and its notices went out: it holds for
            # the window even when the counts dip (a pile-on comes in waves).
            storm = Storm(target, after.distinct_authors, after.abusive_messages,
                          after.since or self.now, thresholds.window_minutes)
        if storm is None:
            return False
        first = (storm_of(count, thresholds, early) is None
                 and target not in self.context.open_storms)
        self.storm = StormInfo(target, storm.distinct_authors, storm.abusive_messages,
                               storm.window_minutes, storm.since, first)
        if storm.early:
            what = (f"storm on {target}: {storm.distinct_authors} authors of abusive "
                    f"messages in {storm.window_minutes} min (caught early: "
                    f"{thresholds.early_authors} authors in "
                    f"{thresholds.early_window_minutes} min)")
        else:
            what = (f"storm on {target}: {storm.distinct_authors} authors of hostile "
                    f"messages and {storm.abusive_messages} abusive ones in "
                    f"{storm.window_minutes} min (thresholds {thresholds.distinct_authors} "
                    f"authors or {thresholds.abusive_messages} abusive)")
        moderators = self.policy.moderation.moderators
        self._add("shield", moderators, "moderators", "review_queue", self.now, "original",
                  "storm", [what, "storm shield: held for the moderators with the rest of "
                                  "the storm; the target sees none of it"])
        if first:
            self.storm_notice(what)
        else:
            self.outcomes[-1] = _with_reason(self.outcomes[-1], "the storm's notices went "
                                                                "out already: no new one")
        if self.urgency == "emergency":
            self.emergency("shield", content)
        return True

    def storm_notice(self, what: str) -> None:
        """One notice per storm each: the moderators, HR, and the person it is aimed at
        (counts and where it is handled, no text), each now or at their next start."""
        moderation = self.policy.moderation
        moderators = list(dict.fromkeys(moderation.moderators))
        hr = [p for p in dict.fromkeys(moderation.hr) if p not in moderators]
        if not moderators and not hr and self.policy.escalation is not None:
            hr = [self.policy.escalation.last_resort]
            what += "; the policy names no moderators or HR: the last-resort contact is told"
        self._push_or_digest("shield", moderators, "moderators", "storm_notice",
                             "storm_notice", f"one notice for the storm: {what}")
        self._push_or_digest("shield", hr, "hr", "storm_notice", "storm_notice",
                             f"one notice for the storm: {what}")
        kind, _, person = self.found.target.partition(":")
        if kind == "person" and person not in moderators and person not in hr:
            self._push_or_digest("shield", [person], "staff", "storm_notice", "storm_notice",
                                 f"one notice for the storm to its target: {what}; their "
                                 "not-yet-delivered messages of the storm are held too")

    # --- routing -------------------------------------------------------------------

    def route(self, kind_now: OutcomeKind, kind_later: OutcomeKind, content: Content) -> None:
        """A non-emergency: to whoever is on duty now (low urgency: their digest), else to
        the digest of the first who comes on duty."""
        found, now, avail = self.found, self.now, self.avail
        person, team = found.person, found.team
        low = self.urgency == "low"
        if person is None and team is None:
            if self.policy.escalation is None:
                return  # nobody at all: the safety net holds it for review
            person = self.policy.escalation.last_resort
            why = f"no team owns {found.category}: to the last-resort contact {person}"
        else:
            why = ""
        if person is not None:
            if avail.on_duty(person, now):
                reasons = [why] if why else []
                reasons.append(f"{person} is on duty at {self._when(person, now)}")
                if low:
                    self._later(kind_later, [person], content, "low",
                                [*reasons, "low urgency waits for the digest"])
                else:
                    self._add(kind_now, [person], "staff", "preferred", now, content,
                              "on_duty", reasons)
                return
            state = "in quiet hours" if avail.quiet(person, now) else "off duty"
            if team is None:
                self._later(kind_later, [person], content, "off_duty",
                            [*([why] if why else []), f"{person} is {state} now"])
                return
            self.notes.append(f"{person} is {state} at {self._when(person, now)}: "
                              f"to team {team}")
        assert team is not None
        on = sorted(p for p in avail.team(team, now) if not avail.quiet(p, now))
        if on:
            sources = ", ".join(str(s) for s in avail.sources(team, now))
            reasons = [*self.notes, f"on duty in team {team} at {self._when(None, now)}: "
                                    f"{', '.join(on)} ({sources})"]
            if low:
                self._later(kind_later, on, content, "low",
                            [*reasons, "low urgency waits for the digest"])
            else:
                self._add(kind_now, on, "staff", "preferred", now, content, "on_duty", reasons)
            return
        reasons = [*self.notes, f"no one in team {team} is on duty at {self._when(None, now)}"]
        for member in self.policy.team_index[team].members:
            if avail.quiet(member, now):
                reasons.append(f"{member} is in quiet hours "
                               f"({self.router.quiet_text[member]})")
        nxt = avail.team_next(team, now)
        if nxt is None:
            self.notes = [*reasons, f"and no one in team {team} comes on duty in the next "
                                    f"{SEARCH_AHEAD.days} days"]
            return
        start, people = nxt
        group = sorted(people)
        self._add(kind_later, group, "staff", "digest", start, content, "off_duty",
                  [*reasons, f"{', '.join(group)} {'comes' if len(group) == 1 else 'come'} "
                             f"on duty first, at "
                             f"{self._when(group[0], start)}: in the digest then "
                             "(the start of their working period, outside quiet hours)"])

    def _later(self, kind: OutcomeKind, people: list[str], content: Content, code: str,
               reasons: list[str]) -> None:
        for person in people:
            start = self.avail.next_start(person, self.now)
            if start is None:
                self.notes.append(f"{person} has no working period or shift in the next "
                                  f"{SEARCH_AHEAD.days} days")
                continue
            self._add(kind, [person], "staff", "digest", start, content, code,
                      [*reasons, f"{person}'s digest at {self._when(person, start)} "
                                 "(their next start of duty)"])

    def emergency(self, kind_now: OutcomeKind, content: Content) -> None:
        """Page the on-call person with the plan (or join an open page), and tell whoever
        is on duty now."""
        found, now, avail = self.found, self.now, self.avail
        team = found.team
        paged: set[str] = set()
        if team is None:
            if self.policy.escalation is None:
                return
            last = self.policy.escalation.last_resort
            paged.add(last)
            self._add("page", [last], "staff", "urgent", now, content, "page",
                      [f"emergency, and no team owns {found.category}: the last-resort "
                       f"contact {last} is paged"])
            return
        open_page = next((p for p in self.context.open_pages
                          if p.team == team and p.category == found.category), None)
        if open_page is not None:
            self._add("page", [], "staff", "urgent", now, content, "bundled",
                      [f"emergency for team {team} ({found.category}), and page "
                       f"{open_page.id} opened at {self._when(None, open_page.opened_at)} "
                       "is still open: joined to it, no new page"],
                      bundle_with=open_page.id)
        else:
            plan = plan_for(self.policy, avail, team, now)
            first = next((s for s in plan.steps if s.people), None)
            reasons = [f"emergency for team {team}: page with escalation chain "
                       f"{plan.chain or '(none)'}"]
            reasons += [f"step {s.round}.{s.index} ({s.who}) skipped: {s.skipped}"
                        for s in plan.steps if s.skipped and s.at == now]
            # Each later step's reason is in the plan (`PlanStep.reason`), and
            # `Decision.explain()` lists them: built here for every page, they cost a
            # tenth of a decision.
            if first is not None:
                recipients = list(first.people)
                reasons.append(f"{first.who}: {', '.join(recipients)} "
                               f"({', '.join(first.sources)}); the next step at "
                               f"{self._when(None, _next_at(first))} unless "
                               "acknowledged")
            elif plan.last_resort is not None:
                recipients = [plan.last_resort]
                reasons.append(f"no step of the chain reaches anyone now: the last-resort "
                               f"contact {plan.last_resort} is paged")
            else:
                recipients = []
                reasons.append(f"team {team} has no one on call and the policy has no "
                               "escalation chains: no one to page")
            if plan.last_resort is not None and plan.exhausted_at is not None:
                reasons.append(f"chain exhausted at {self._when(None, plan.exhausted_at)}: "
                               f"then {plan.last_resort} (last resort) is told")
            if recipients:
                paged.update(recipients)
                self._add("page", recipients, "staff", "urgent", now, content, "page",
                          reasons, escalation=plan)
        # Whoever is on duty hears of it too (an emergency: no rate limit).
        on = sorted(p for p in avail.team(team, now)
                    if p not in paged and not avail.quiet(p, now))
        if found.person and found.person not in paged and avail.on_duty(found.person, now):
            on = sorted({*on, found.person})
        if on:
            self._add(kind_now, on, "staff", "preferred", now, content, "emergency_on_duty",
                      [f"emergency: {', '.join(on)} on duty in team {team} are told too"])

    # --- limits and the safety net -------------------------------------------------

    def rate_limit(self) -> None:
        limit = self.policy.rate_limits.max_per_person_per_hour
        used: dict[str, int] = defaultdict(int)
        result: list[Outcome] = []
        for outcome in self.outcomes:
            if outcome.channel != "preferred" or outcome.emergency:
                result.append(outcome)
                continue
            keep: list[str] = []
            for person in outcome.recipients:
                sent = self.context.sent_last_hour.get(person, 0) + used[person]
                if sent < limit:
                    keep.append(person)
                    used[person] += 1
                    continue
                why = (f"rate limit: {person} had {sent} non-emergency notifications in the "
                       f"last hour (limit {limit})")
                start = self.avail.next_start(person, self.now)
                if start is None:
                    self.notes.append(f"{why}, and has no working period or shift in the "
                                      f"next {SEARCH_AHEAD.days} days")
                    continue
                result.append(Outcome(
                    kind="defer" if outcome.kind == "deliver_now" else outcome.kind,
                    recipients=(person,), audience=outcome.audience, channel="digest",
                    at=start, content=outcome.content, urgency=outcome.urgency,
                    code="rate_limited", reasons=(*outcome.reasons, f"{why}: in the digest "
                                                  f"at {self._when(person, start)}")))
            if keep:
                result.append(_replace_recipients(outcome, keep))
        self.outcomes = result

    def safety_net(self) -> None:
        """Nothing may be lost: a message that reaches no one goes to the moderators."""
        # The review queue holds an item whether or not the policy names moderators.
        if any(o.recipients or o.channel == "review_queue" or o.kind == "drop"
               or o.bundle_with for o in self.outcomes):
            return
        self._review("unrouted", [*self.notes, "the message reaches no one"])

    # --- the whole -----------------------------------------------------------------

    def by_level(self, treat: Level, content: Content) -> None:
        emergency = self.urgency == "emergency"
        if treat == "threat":
            self._review("threat", ["a threat: held until a moderator has looked"])
            if emergency:
                self.emergency("shield", "masked")
        elif treat in ABUSIVE:
            left = None if emergency else request_left(
                self.assessment.masked_text, self.router, self.found.lang,
                routed=self.found.category != DEFAULT_CATEGORY)
            if left is not None and not left.found:
                self._add("shield", self.policy.moderation.moderators, "moderators",
                          "review_queue", self.now, "original", "abusive_no_request",
                          [f"abusive, and {left.why}: the original goes to the "
                           "moderators only; no staff member is sent the abuse"])
                self.held_notice()
                return
            self._add("shield", self.policy.moderation.moderators, "moderators",
                      "review_queue", self.now, "original", "abusive",
                      ["abusive: the original goes to the moderators; staff get the "
                       "request with the abuse masked",
                       *([left.why] if left is not None else [])])
            if emergency:
                self.emergency("shield", "masked")
            else:
                self.route("shield", "shield", "masked")
        elif emergency:
            self.emergency("deliver_now", content)
        else:
            self.route("deliver_now", "defer", content)

    def held_notice(self) -> None:
        """A count, no text, in the next digest of the person the message was aimed at."""
        person = self.found.target.partition(":")[2] if self.found.target.startswith(
            "person:") else None
        if person is None or self.policy.moderation.held_notice == "nothing":
            return
        start = self.avail.next_start(person, self.now)
        if start is None:
            return
        # At the next start of duty even when on duty now: a count can wait, and a push
        # about abuse is what the shield spares them.
        self._add("shield", [person], "staff", "digest", start, "held_notice", "held_notice",
                  [f"{person} was its target: a count in their digest at "
                   f"{self._when(person, start)} (moderation.held_notice: count), no text"])

    def run(self) -> Decision:
        level = self.level
        strikes = self.context.author_strikes
        treat = level
        notes = [f"level {level} ({_scores(self.assessment.labels.items())})",
                 *(f"scoring: {r}" for r in self.assessment.reasons)]
        if level == "rude" and strikes >= self.policy.moderation.strikes_to_shield:
            treat = "abusive"
            notes.append(f"the author has {strikes} strikes (shielded from "
                         f"{self.policy.moderation.strikes_to_shield}): treated as abusive")
        content: Content = "original" if level == "none" else "masked"
        if not (self.silenced() or self.repeated() or self.stormy(content)):
            self.by_level(treat, content)
        # On every path, storm notices included.
        self.rate_limit()
        self.safety_net()
        found = self.found
        # Who was passed over and why, unless an outcome's reasons say it already.
        said = {r for o in self.outcomes for r in o.reasons}
        notes += [n for n in dict.fromkeys(self.notes) if n not in said]
        return Decision(
            decided_at=self.now, source=self.message.source,
            external_id=self.message.external_id, author=self.author, level=level,
            category=found.category, team=found.team, target=found.target,
            mentioned=found.mentioned, urgency=self.urgency, fingerprint=self.fingerprint,
            storm=self.storm, outcomes=tuple(self.outcomes),
            reasons=(*found.reasons, *notes))


def _next_at(step: PlanStep) -> dt.datetime:
    return step.at + dt.timedelta(minutes=step.wait_minutes)


def _with_reason(outcome: Outcome, reason: str) -> Outcome:
    return replace(outcome, reasons=(*outcome.reasons, reason))


def _replace_recipients(outcome: Outcome, recipients: list[str]) -> Outcome:
    if list(outcome.recipients) == recipients:
        return outcome
    return replace(outcome, recipients=tuple(recipients))


def decide(message: MessageLike, assessment: AssessmentLike, context: Context,
           policy: Policy, now: dt.datetime, timeline: Timeline | None = None) -> Decision:
    """What to do with `message`, judged `assessment`, at `now`, and why.

    `timeline`: a `Timeline` of `policy` (with the overrides in force) covering `now` and
    the next hours, for speed; without one, or outside its range, the schedule is computed
    (same answers, slower)."""
    # In UTC from here on: one form in the JSON, and no wall-clock arithmetic (a local
    # time inside a daylight-saving gap compares unequal to every instant, PEP 495).
    now = require_aware(now, "now").astimezone(dt.UTC)
    return _Decider(message, assessment, context, router_for(policy), now, timeline).run()
