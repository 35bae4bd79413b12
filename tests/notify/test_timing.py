"""Send-time rules as properties over the example town: whatever the instant, person and
kind, nobody is contacted in quiet hours (but for pages), off-duty staff get only their
digest, the hourly cap holds, and what waits is moved to an instant they may be told."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.notify.timing import Later, Send, when_to_send
from guardian.schedule.availability import Availability
from guardian.types import NotificationKind
from tests.conftest import example_policy

POLICY = example_policy()
AVAIL = Availability(POLICY, None)
PEOPLE = sorted(POLICY.people)
LIMIT = POLICY.rate_limits.max_per_person_per_hour
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

instants = st.integers(0, 365 * 24 * 60).map(lambda m: START + dt.timedelta(minutes=m))
kinds = st.sampled_from([k.value for k in NotificationKind])


@settings(max_examples=300, deadline=None)
@given(kind=kinds, person=st.sampled_from(PEOPLE), now=instants,
       sent=st.integers(0, 2 * LIMIT))
def test_no_contact_in_quiet_hours_and_the_cap_holds(kind: str, person: str, now: dt.datetime,
                                                     sent: int) -> None:
    verdict = when_to_send(kind, person, now, AVAIL, sent_last_hour=sent, limit=LIMIT)
    if isinstance(verdict, Send):
        if kind not in ("page", "test"):
            assert not AVAIL.quiet(person, now)
        if kind in ("deliver", "storm_notice", "digest"):
            assert AVAIL.on_duty(person, now)
        if kind in ("deliver", "storm_notice"):
            assert sent < LIMIT
    else:
        assert isinstance(verdict, Later) and verdict.at > now
        # What waits lands where the person may be told: never in quiet hours.
        assert not AVAIL.quiet(person, verdict.at)
        if verdict.to_digest or kind == "digest":
            assert AVAIL.on_duty(person, verdict.at)


def test_pages_go_out_in_quiet_hours() -> None:
    three = dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC)  # 03:00 in Madrid
    assert AVAIL.quiet("antonio", three)
    assert isinstance(when_to_send("page", "antonio", three, AVAIL, sent_last_hour=99,
                                   limit=LIMIT), Send)
    later = when_to_send("deliver", "antonio", three, AVAIL, sent_last_hour=0, limit=LIMIT)
    assert isinstance(later, Later) and later.to_digest and "quiet hours" in later.reason


@settings(max_examples=200, deadline=None)
@given(person=st.sampled_from(PEOPLE), now=instants, sent=st.integers(0, 3 * LIMIT))
def test_an_emergency_is_never_deferred_by_the_cap(person: str, now: dt.datetime,
                                                   sent: int) -> None:
    """An emergency's copy to whoever is on duty (`capped=False`) goes whatever the count;
    only duty and quiet hours can hold it."""
    verdict = when_to_send("deliver", person, now, AVAIL, sent_last_hour=sent, limit=LIMIT,
                           capped=False)
    if AVAIL.on_duty(person, now) and not AVAIL.quiet(person, now):
        assert isinstance(verdict, Send)
    else:
        assert isinstance(verdict, Later) and "rate limit" not in verdict.reason
