"""The what-if's comparison (guardian.decide.whatif): two replays' contacts and routes in,
per person and per message what differs; deliveries judged by the run's own policy."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.decide.whatif import (
    Contact,
    Pair,
    Route,
    Run,
    Touch,
    compare,
    contacts_of,
)
from guardian.schedule.availability import Availability
from tests.conftest import example_policy

pytestmark = pytest.mark.pure

MADRID = ZoneInfo("Europe/Madrid")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=MADRID)


def contact(when: dt.datetime, person: str, kind: str = "deliver", about: str = "1", *,
            after_hours: bool = False, quiet: bool = False) -> Contact:
    return Contact(when, person, kind, tuple(about.split(",")), after_hours, quiet)


def route(message: str, team: str | None = "lighting", *, unrouted: bool = False) -> Route:
    return Route(message, "street_lighting", team, unrouted)


def test_the_same_run_twice_changes_nothing() -> None:
    run = Run((contact(at(25, 10), "antonio"),), (route("1"),))
    what = compare(run, run)
    assert not what.changed and what.messages == ()
    assert what.total("contacts") == Pair(1, 1)
    [row] = what.people
    assert row.person == "antonio" and not row.changed


def test_a_contact_moved_into_the_digest_and_to_someone_else() -> None:
    old = Run((contact(at(24, 23, 10), "raquel", after_hours=True, quiet=True),
               contact(at(25, 3), "antonio", "page", "2", after_hours=True, quiet=True)),
              (route("1", "police"), route("2")))
    new = Run((contact(at(25, 8), "pablo", "digest", "1,3"),
               contact(at(25, 3), "carmen", "page", "2", after_hours=True)),
              (route("1", "police"), route("2"), route("3", "rooms", unrouted=True)))
    what = compare(old, new)
    assert what.changed
    assert dict(what.totals) == {
        "contacts": Pair(2, 2), "after_hours": Pair(2, 1), "quiet_hours": Pair(2, 0),
        "pages": Pair(1, 1), "waited": Pair(0, 2), "unrouted": Pair(0, 1)}
    assert [p.person for p in what.people] == ["antonio", "carmen", "pablo", "raquel"]
    assert what.person("antonio") is not None
    antonio, carmen, pablo, raquel = what.people
    assert (antonio.pages, carmen.pages) == (Pair(1, 0), Pair(0, 1))
    assert (raquel.contacts, raquel.quiet_hours) == (Pair(1, 0), Pair(1, 0))
    assert pablo.waited == Pair(0, 2) and pablo.changed
    # Each message whose contacts or route changed, in the replay's order, with the times.
    assert [m.message for m in what.messages] == ["1", "2", "3"]
    first, second, third = what.messages
    assert first.old == (Touch(at(24, 23, 10), "raquel", "deliver"),)
    assert first.new == (Touch(at(25, 8), "pablo", "digest"),)
    assert [t.person for t in second.old] == ["antonio"]
    assert [t.person for t in second.new] == ["carmen"]
    assert third.old_route is None and third.new_route is not None
    assert third.new_route.unrouted


def test_a_message_that_now_reaches_no_one_is_listed_even_without_contacts() -> None:
    old = Run((), (route("7", "rooms"),))
    new = Run((), (route("7", "rooms", unrouted=True),))
    what = compare(old, new)
    assert what.total("unrouted") == Pair(0, 1)
    [change] = what.messages
    assert change.old == change.new == ()


def test_the_json_form_names_every_figure() -> None:
    old = Run((contact(at(25, 3), "antonio", "page", "2", after_hours=True),), (route("2"),))
    new = Run((contact(at(25, 3), "carmen", "page", "2", after_hours=True),), (route("2"),))
    body = compare(old, new).as_json()
    assert body["totals"]["pages"] == {"old": 1, "new": 1}
    assert body["people"][0] == {
        "person": "antonio", "changed": True, "contacts": {"old": 1, "new": 0},
        "after_hours": {"old": 1, "new": 0}, "quiet_hours": {"old": 0, "new": 0},
        "pages": {"old": 1, "new": 0}, "waited": {"old": 0, "new": 0}}
    assert body["messages"][0]["new"] == [
        {"at": at(25, 3).isoformat(), "person": "carmen", "kind": "page"}]


def test_deliveries_are_judged_by_the_runs_own_hours() -> None:
    """Antonio works 08:00-15:00 on weekdays, quiet 22:00-07:00 (the example policy)."""
    availability = Availability(example_policy(), None)
    found = contacts_of([(at(25, 23, 10), "antonio", "page", "2"),
                         (at(25, 10), "antonio", "deliver", "3"),
                         (at(26, 8), "antonio", "digest", "4,5"),
                         (at(25, 20), "antonio", "storm_notice", "")],
                        availability)
    assert [(c.at, c.after_hours, c.quiet, c.messages) for c in found] == [
        (at(25, 10), False, False, ("3",)),
        (at(25, 20), True, False, ()),
        (at(25, 23, 10), True, True, ("2",)),
        (at(26, 8), False, False, ("4", "5"))]


# Properties of the comparison, whatever the two runs hold.
_people = st.sampled_from(["antonio", "carmen", "raquel", "pablo"])
_contacts = st.builds(
    lambda day, hour, person, kind, about, after, quiet: contact(
        at(day, hour), person, kind, about, after_hours=after, quiet=quiet),
    st.integers(23, 27), st.integers(0, 23), _people,
    st.sampled_from(["deliver", "digest", "page"]),
    st.sampled_from(["1", "2", "3", "1,2", "2,3"]), st.booleans(), st.booleans())
_routes = st.builds(lambda m, team, unrouted: route(m, None if unrouted else team,
                                                    unrouted=unrouted),
                    st.sampled_from(["1", "2", "3"]), st.sampled_from(["lighting", "police"]),
                    st.booleans())
_runs = st.builds(lambda cs, rs: Run(tuple(cs), tuple({r.message: r for r in rs}.values())),
                  st.lists(_contacts, max_size=8), st.lists(_routes, max_size=3))


@given(_runs)
def test_a_policy_compared_with_itself_changes_nothing(run: Run) -> None:
    same = compare(run, run)
    assert not same.changed and same.messages == ()
    assert all(not row.changed for row in same.people)


@given(_runs, _runs)
def test_swapping_the_runs_swaps_the_columns(old: Run, new: Run) -> None:
    forth, back = compare(old, new), compare(new, old)
    assert [(m, p.old, p.new) for m, p in forth.totals] == \
        [(m, p.new, p.old) for m, p in back.totals]
    assert {m.message for m in forth.messages} == {m.message for m in back.messages}


@given(_runs, _runs)
def test_the_totals_are_the_sum_of_the_people(old: Run, new: Run) -> None:
    found = compare(old, new)
    for metric, pair in found.totals:
        if metric == "unrouted":
            continue
        assert pair.old == sum(getattr(p, metric).old for p in found.people)
        assert pair.new == sum(getattr(p, metric).new for p in found.people)
    assert found.total("contacts") == Pair(len(old.contacts), len(new.contacts))
