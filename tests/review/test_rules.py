"""The moderation rules (`guardian.review.rules`): claim state and refusals at their edges,
what counts toward a moderator's exposure, author sanctions as pure functions
(property-tested), and the SQL upserts of `guardian.review.sanctions` held to the same
answers on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy.model import Moderation
from guardian.review import rules
from guardian.review.rules import AuthorStatus, Sanction, apply_sanction
from guardian.review.sanctions import author_status, block_author, mute_author, strike_author
from guardian.storage.models import ReviewItem
from guardian.types import ReviewDecision, ReviewStatus

NOW = dt.datetime(2026, 11, 25, 21, 48, 7, 123456, tzinfo=dt.UTC)
MICRO = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)
PROPERTY = settings(max_examples=150, deadline=None)


def item(status: ReviewStatus, *, claimed_by: str | None = None,
         claim_expires_at: dt.datetime | None = None, decision: str | None = None,
         decided_by: str | None = None) -> ReviewItem:
    return ReviewItem(id=7, message_id=1, reason="abusive", level="abusive",
                      status=status.value, claimed_by=claimed_by,
                      claim_expires_at=claim_expires_at, decision=decision,
                      decided_by=decided_by, created_at=NOW - DAY)


def claimed(by: str = "ana", expires: dt.datetime = NOW) -> ReviewItem:
    return item(ReviewStatus.claimed, claimed_by=by, claim_expires_at=expires)


# --- claims ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("expires", "status", "holder"), [
    (NOW + MICRO, ReviewStatus.claimed, "ana"),        # still held, by a microsecond
    (NOW + dt.timedelta(minutes=15), ReviewStatus.claimed, "ana"),
    (NOW, ReviewStatus.open, None),                    # expiring exactly now: open again
    (NOW - MICRO, ReviewStatus.open, None),
    (NOW - DAY, ReviewStatus.open, None),
], ids=["just-before-expiry", "fresh", "expires-now", "just-expired", "long-expired"])
def test_a_claim_holds_until_it_expires(expires: dt.datetime, status: ReviewStatus,
                                        holder: str | None) -> None:
    row = claimed("ana", expires)
    assert rules.status_at(row, NOW) == status
    assert rules.holder_at(row, NOW) == holder


def test_a_claimed_row_without_expiry_is_open() -> None:
    row = item(ReviewStatus.claimed, claimed_by="ana", claim_expires_at=None)
    assert rules.status_at(row, NOW) == ReviewStatus.open
    assert rules.holder_at(row, NOW) is None
    assert rules.refusal(row, "bea", NOW) is None


@pytest.mark.parametrize("status", [ReviewStatus.open, ReviewStatus.decided])
def test_open_and_decided_items_have_no_holder(status: ReviewStatus) -> None:
    # A decided item keeps who claimed it, but nobody holds it any more.
    row = item(status, claimed_by="ana", claim_expires_at=NOW + DAY,
               decision="confirm" if status == ReviewStatus.decided else None,
               decided_by="ana" if status == ReviewStatus.decided else None)
    assert rules.status_at(row, NOW) == status
    assert rules.holder_at(row, NOW) is None


def test_the_holder_may_act_on_their_own_claim() -> None:
    assert rules.refusal(claimed("ana", NOW + MICRO), "ana", NOW) is None


def test_another_moderator_is_told_who_holds_the_claim_and_until_when() -> None:
    expires = NOW + dt.timedelta(minutes=15)
    reason = rules.refusal(claimed("ana", expires), "bea", NOW)
    assert reason == f"ana holds its claim until {expires.isoformat()}"


@pytest.mark.parametrize("moderator", ["ana", "bea"])
def test_an_expired_claim_is_anyones(moderator: str) -> None:
    assert rules.refusal(claimed("ana", NOW), moderator, NOW) is None


@pytest.mark.parametrize("moderator", ["ana", "bea"])
def test_an_open_item_may_be_taken_by_anyone(moderator: str) -> None:
    assert rules.refusal(item(ReviewStatus.open), moderator, NOW) is None


@pytest.mark.parametrize("moderator", ["ana", "bea"])
def test_a_decided_item_is_refused_naming_decision_and_moderator(moderator: str) -> None:
    # Even to the moderator who decided it, and even with a claim that looks live.
    row = item(ReviewStatus.decided, claimed_by="ana", claim_expires_at=NOW + DAY,
               decision="confirm", decided_by="ana")
    assert rules.refusal(row, moderator, NOW) == "it is already decided (confirm by ana)"


def test_a_missing_item_is_refused() -> None:
    assert rules.refusal(None, "ana", NOW) == "it does not exist"


def test_a_claim_lasts_fifteen_minutes_by_default() -> None:
    assert rules.claim_until(NOW) == NOW + dt.timedelta(minutes=15)
    assert rules.claim_until(NOW, 5) == NOW + dt.timedelta(minutes=5)
    # Taken now, it is held until just before the expiry and open from the expiry on.
    row = claimed("ana", rules.claim_until(NOW))
    assert rules.holder_at(row, rules.claim_until(NOW) - MICRO) == "ana"
    assert rules.holder_at(row, rules.claim_until(NOW)) is None


# --- exposure -------------------------------------------------------------------------------

MIDNIGHT = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


@pytest.mark.parametrize(("level", "revealed_by", "revealed_at", "now", "counts"), [
    ("abusive", None, None, NOW, True),                            # first look
    ("threat", None, None, NOW, True),
    ("abusive", "ana", NOW - dt.timedelta(hours=1), NOW, False),   # second look, same day
    ("threat", "ana", NOW, NOW, False),
    ("abusive", "ana", MIDNIGHT, MIDNIGHT + DAY - MICRO, False),   # first and last instant
    ("abusive", "ana", MIDNIGHT - MICRO, MIDNIGHT, True),          # next UTC day: again
    ("threat", "ana", NOW - DAY, NOW, True),
    ("abusive", "bea", NOW - dt.timedelta(minutes=1), NOW, True),  # someone else read it
    ("abusive", "ana", None, NOW, True),                           # no time recorded
], ids=["first-abusive", "first-threat", "same-day", "same-instant", "day-bounds",
        "across-midnight", "next-day", "other-moderator", "no-time"])
def test_what_counts_toward_exposure(level: str, revealed_by: str | None,
                                     revealed_at: dt.datetime | None, now: dt.datetime,
                                     counts: bool) -> None:
    assert rules.counts_toward_exposure(level, "ana", revealed_by, revealed_at, now) is counts


@pytest.mark.parametrize("level", ["none", "rude", "", "Abusive", "spam", "storm"])
@pytest.mark.parametrize("seen", [False, True])
def test_other_levels_never_count(level: str, seen: bool) -> None:
    assert not rules.exposing(level)
    revealed_by, revealed_at = ("ana", NOW - DAY) if seen else (None, None)
    assert not rules.counts_toward_exposure(level, "ana", revealed_by, revealed_at, NOW)


def test_abusive_and_threat_are_exposing() -> None:
    assert rules.exposing("abusive")
    assert rules.exposing("threat")


# --- sanctions: tables ----------------------------------------------------------------------

POLICY = Moderation(strikes_to_mute=3, mute_days=30)


@pytest.mark.parametrize(("decision", "sanction"), [
    (ReviewDecision.confirm, "strike"), (ReviewDecision.mute, "mute"),
    (ReviewDecision.block, "block"), (ReviewDecision.dismiss, None),
    (ReviewDecision.escalate, None)])
def test_what_each_decision_does_to_the_author(decision: ReviewDecision,
                                               sanction: Sanction | None) -> None:
    assert rules.sanction_of(decision) == sanction


@pytest.mark.parametrize(("strikes", "until"), [
    (0, None), (2, None), (3, NOW + dt.timedelta(days=30)), (9, NOW + dt.timedelta(days=30))])
def test_the_strike_rule(strikes: int, until: dt.datetime | None) -> None:
    assert rules.auto_mute_until(strikes, NOW, POLICY) == until


@pytest.mark.parametrize(("days", "until"), [
    (None, NOW + dt.timedelta(days=30)), (1, NOW + DAY), (365, NOW + dt.timedelta(days=365))])
def test_a_moderators_mute_lasts_the_days_named_or_the_policys(days: int | None,
                                                               until: dt.datetime) -> None:
    assert rules.mute_until(NOW, days, POLICY) == until


@pytest.mark.parametrize(("current", "new", "kept"), [
    (None, NOW, NOW), (NOW, NOW + DAY, NOW + DAY), (NOW + DAY, NOW, NOW + DAY),
    (NOW, NOW, NOW)])
def test_a_mute_is_never_shortened(current: dt.datetime | None, new: dt.datetime,
                                   kept: dt.datetime) -> None:
    assert rules.longer_mute(current, new) == kept


def test_the_third_strike_mutes_and_a_later_short_mute_keeps_it() -> None:
    clean = AuthorStatus("twitter", "@troll")
    two = apply_sanction(clean, "strike", NOW, POLICY, count=2)
    assert (two.strikes, two.muted_until) == (2, None)
    assert not two.silenced(NOW)
    three = apply_sanction(two, "strike", NOW, POLICY)
    assert three.muted_until == NOW + dt.timedelta(days=30)
    assert three.silenced(NOW + dt.timedelta(days=30) - MICRO)
    assert not three.silenced(NOW + dt.timedelta(days=30))
    short = apply_sanction(three, "mute", NOW + DAY, POLICY, days=1)
    assert short == three
    blocked = apply_sanction(short, "block", NOW, POLICY)
    assert blocked.blocked and blocked.silenced(NOW + dt.timedelta(days=3650))
    assert (blocked.strikes, blocked.muted_until) == (3, three.muted_until)


# --- sanctions: properties ------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    sanction: Sanction
    at: dt.datetime
    count: int = 1
    days: int | None = None


def apply(status: AuthorStatus, step: Step, moderation: Moderation) -> AuthorStatus:
    return apply_sanction(status, step.sanction, step.at, moderation, count=step.count,
                          days=step.days)


EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
instants = st.integers(0, 3 * 365 * 86_400 * 1_000_000).map(
    lambda us: EPOCH + dt.timedelta(microseconds=us))
steps = st.one_of(
    st.builds(Step, sanction=st.just("strike"), at=instants, count=st.integers(1, 5)),
    st.builds(Step, sanction=st.just("mute"), at=instants,
              days=st.none() | st.integers(1, 400)),
    st.builds(Step, sanction=st.just("block"), at=instants))
policies = st.builds(Moderation, strikes_to_mute=st.integers(1, 8),
                     mute_days=st.integers(1, 60))


@PROPERTY
@given(policies, st.lists(steps, max_size=25))
def test_sanctions_only_ever_add_up(moderation: Moderation, sequence: list[Step]) -> None:
    status = AuthorStatus("twitter", "@troll")
    for step in sequence:
        after = apply(status, step, moderation)
        assert (after.source, after.handle) == ("twitter", "@troll")
        # Strikes never decrease; only a strike adds, exactly its count.
        added = step.count if step.sanction == "strike" else 0
        assert after.strikes == status.strikes + added
        # A mute is never shortened or lifted.
        if status.muted_until is not None:
            assert after.muted_until is not None and after.muted_until >= status.muted_until
        # Once blocked, always blocked; a block is the only way to be blocked.
        assert after.blocked == (status.blocked or step.sanction == "block")
        # The strike rule: at `strikes_to_mute` or more, muted at least `mute_days` on.
        if step.sanction == "strike" and after.strikes >= moderation.strikes_to_mute:
            assert after.muted_until is not None
            assert after.muted_until >= step.at + dt.timedelta(days=moderation.mute_days)
        if step.sanction == "mute":
            days = step.days or moderation.mute_days
            assert after.muted_until is not None
            assert after.muted_until >= step.at + dt.timedelta(days=days)
        status = after
    assert status.strikes == sum(s.count for s in sequence if s.sanction == "strike")


@PROPERTY
@given(policies, st.lists(steps, max_size=25))
def test_a_mute_lasts_until_the_latest_end_of_any_mute(moderation: Moderation,
                                                       sequence: list[Step]) -> None:
    # An independent account of `muted_until`: the latest end among moderators' mutes and
    # the strike rule's mutes (from the strike that reached the threshold on), else none.
    ends: list[dt.datetime] = []
    strikes = 0
    for step in sequence:
        if step.sanction == "strike":
            strikes += step.count
            if strikes >= moderation.strikes_to_mute:
                ends.append(step.at + dt.timedelta(days=moderation.mute_days))
        elif step.sanction == "mute":
            ends.append(step.at + dt.timedelta(days=step.days or moderation.mute_days))
    status = AuthorStatus("twitter", "@troll")
    for step in sequence:
        status = apply(status, step, moderation)
    assert status.muted_until == (max(ends) if ends else None)
    assert status.blocked == any(s.sanction == "block" for s in sequence)


@PROPERTY
@given(policies, st.lists(steps, max_size=12), instants)
def test_silenced_is_blocked_or_muted_at_that_instant(moderation: Moderation,
                                                      sequence: list[Step],
                                                      at: dt.datetime) -> None:
    status = AuthorStatus("twitter", "@troll")
    for step in sequence:
        status = apply(status, step, moderation)
    probes = [at]
    if status.muted_until is not None:
        probes += [status.muted_until - MICRO, status.muted_until, status.muted_until + MICRO]
    for probe in probes:
        muted = status.muted_until is not None and probe < status.muted_until
        assert status.muted(probe) == muted
        assert status.silenced(probe) == (status.blocked or muted)


# --- sanctions: the SQL upserts say the same ------------------------------------------------

def hours(n: int) -> dt.datetime:
    return NOW + dt.timedelta(hours=n)


def seeded(seed: int, length: int = 15) -> list[Step]:
    rng = random.Random(seed)
    sequence: list[Step] = []
    for n in range(length):
        at = hours(n * rng.randint(1, 200))
        kind = rng.choices(["strike", "mute", "block"], weights=[6, 3, 1])[0]
        if kind == "strike":
            sequence.append(Step("strike", at, count=rng.randint(1, 3)))
        elif kind == "mute":
            sequence.append(Step("mute", at, days=rng.choice([None, 1, 7, 90])))
        else:
            sequence.append(Step("block", at))
    return sequence


SEQUENCES: dict[str, list[Step]] = {
    "strikes-to-mute": [Step("strike", hours(0)), Step("strike", hours(1), count=1),
                        Step("strike", hours(2))],
    "many-at-once": [Step("strike", hours(0), count=4), Step("strike", hours(5), count=2)],
    "short-mute-after-auto-mute": [Step("strike", hours(0), count=3),
                                   Step("mute", hours(1), days=1),
                                   Step("mute", hours(2))],
    "longer-mute-then-strikes": [Step("mute", hours(0), days=400),
                                 Step("strike", hours(1), count=5)],
    "renewed-by-later-strike": [Step("strike", hours(0), count=3),
                                Step("strike", hours(24 * 20))],
    "block-first": [Step("block", hours(0)), Step("strike", hours(1)),
                    Step("mute", hours(2), days=2), Step("block", hours(3))],
    "seed-1": seeded(1),
    "seed-2": seeded(2),
    "seed-3": seeded(3),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
async def test_the_stored_sanctions_are_what_the_rule_predicts(engine: AsyncEngine,
                                                               name: str) -> None:
    source, handle = "twitter", "@troll"
    predicted = AuthorStatus(source, handle)
    for step in SEQUENCES[name]:
        predicted = apply(predicted, step, POLICY)
        async with engine.begin() as conn:
            if step.sanction == "strike":
                written = await strike_author(conn=conn, source=source, handle=handle,
                                              by="ana", moderation=POLICY, count=step.count,
                                              now=step.at)
            elif step.sanction == "mute":
                written = await mute_author(conn=conn, source=source, handle=handle, by="ana",
                                            until=rules.mute_until(step.at, step.days, POLICY),
                                            now=step.at)
            else:
                written = await block_author(conn=conn, source=source, handle=handle,
                                             by="ana", now=step.at)
        assert written == predicted, step
    assert await author_status(engine=engine, source=source, handle=handle) == predicted
    # The same handle on another source is another author, untouched.
    assert await author_status(engine=engine, source="mastodon", handle=handle) == (
        AuthorStatus("mastodon", handle))
