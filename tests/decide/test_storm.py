"""Pile-on (storm) detection, directly: the window's edges, distinct authors against many
abusive messages, the policy's thresholds, and the sliding `StormTally` against a recount
with `count_window` when messages arrive late and out of order."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.decide.inputs import Recent, StormCount
from guardian.decide.storm import Storm, StormTally, count_window, storm_at, storm_of, storms
from guardian.policy.harassment import LEVELS, Level
from guardian.policy.model import StormThresholds

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
ANTONIO = "person:antonio"
LIGHTING = "team:lighting"
# Small thresholds, so that the cases stay short: 3 hostile authors or 4 abusive messages
# within 30 minutes.
SMALL = StormThresholds(distinct_authors=3, abusive_messages=4, window_minutes=30)


def ago(minutes: float = 0, seconds: float = 0) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes, seconds=seconds)


def said(author: str, level: Level, when: dt.datetime, target: str = ANTONIO) -> Recent:
    return Recent(f"twitter:{author}", target, level, when)


# --- the window's edges ------------------------------------------------------------------

@pytest.mark.parametrize(("offset_seconds", "recounted", "tallied"), [
    (-30 * 60 - 1, False, False),  # long gone
    (-30 * 60, False, False),      # exactly W ago: the window (now - W, now] excludes it
    (-30 * 60 + 1, True, True),    # a second later: inside
    (0, True, True),               # at the instant counted: inside
    # A second after the instant counted: a recount leaves it out; the tally counts it
    # (another worker, whose clock ran a little ahead, decided it first).
    (1, False, True),
])
def test_the_window_is_open_at_its_start_and_closed_at_now(
        offset_seconds: int, recounted: bool, tallied: bool) -> None:
    item = said("vecino", "abusive", NOW + dt.timedelta(seconds=offset_seconds))
    count = count_window([item], ANTONIO, "twitter:otro", 30, NOW)
    assert (count.abusive_messages, count.distinct_authors) == (
        (1, 1) if recounted else (0, 0))
    assert count.since == (item.at if recounted else None)

    tally = StormTally(30)
    tally.add(item)
    counted = tally.count(ANTONIO, "twitter:otro", NOW)
    assert (counted.abusive_messages, counted.distinct_authors) == (
        (1, 1) if tallied else (0, 0))


def test_a_message_ages_out_of_the_window_exactly_w_minutes_later() -> None:
    item = said("vecino", "threat", ago(minutes=10))
    tally = StormTally(30)
    tally.add(item)
    just_before = item.at + dt.timedelta(minutes=30) - dt.timedelta(microseconds=1)
    assert tally.count(ANTONIO, "", just_before).abusive_messages == 1
    assert count_window([item], ANTONIO, "", 30, just_before).abusive_messages == 1
    at_the_edge = item.at + dt.timedelta(minutes=30)
    assert tally.count(ANTONIO, "", at_the_edge) == StormCount(ANTONIO, 0, 0, None, False)
    assert count_window([item], ANTONIO, "", 30, at_the_edge) == StormCount(
        ANTONIO, 0, 0, None, False)


# --- what makes a storm --------------------------------------------------------------------

STORM_CASES: list[tuple[str, list[Recent], tuple[int, int] | None]] = [
    ("two rude neighbours are not yet a pile-on",
     [said("ana", "rude", ago(5)), said("beto", "rude", ago(4))], None),
    ("three different rude authors reach distinct_authors",
     [said("ana", "rude", ago(5)), said("beto", "rude", ago(4)), said("cris", "rude", ago(3))],
     (3, 0)),
    ("a polite third author does not count",
     [said("ana", "rude", ago(5)), said("beto", "rude", ago(4)), said("cris", "none", ago(3))],
     None),
    ("one author repeating rude messages is one author, and rude is not abusive",
     [said("ana", "rude", ago(m)) for m in range(10)], None),
    ("one author, four abusive messages, reaches abusive_messages",
     [said("ana", "abusive", ago(m)) for m in range(4)], (1, 4)),
    ("threats count as abusive messages",
     [said("ana", "abusive", ago(m)) for m in range(3)] + [said("ana", "threat", ago(9))],
     (1, 4)),
    ("three abusive messages from one author are below both thresholds",
     [said("ana", "abusive", ago(m)) for m in range(3)], None),
    ("twenty neighbours reporting the same dark street are no pile-on",
     [said(f"vecino{n}", "none", ago(n)) for n in range(20)], None),
    ("the third author's message is outside the window",
     [said("ana", "rude", ago(5)), said("beto", "rude", ago(4)), said("cris", "rude", ago(30))],
     None),
    ("messages at another target do not add up",
     [said("ana", "rude", ago(5)), said("beto", "rude", ago(4)),
      said("cris", "rude", ago(3), target=LIGHTING)], None),
    ("both thresholds at once",
     [said(a, "abusive", ago(n)) for n, a in enumerate(["ana", "beto", "cris", "dani"])],
     (4, 4)),
]


@pytest.mark.parametrize(("items", "expected"), [(i, e) for _, i, e in STORM_CASES],
                         ids=[name for name, _, _ in STORM_CASES])
def test_what_makes_a_storm(items: list[Recent], expected: tuple[int, int] | None) -> None:
    storm = storm_at(items, ANTONIO, SMALL, NOW)
    if expected is None:
        assert storm is None
        return
    assert storm is not None
    assert (storm.distinct_authors, storm.abusive_messages) == expected
    assert storm.target == ANTONIO and storm.window_minutes == 30


def test_the_storm_starts_at_the_earliest_hostile_message_still_in_the_window() -> None:
    items = [said("viejo", "abusive", ago(45)),   # aged out
             said("cortes", "none", ago(25)),     # polite, earlier than the hostile ones
             said("ana", "rude", ago(20)),
             said("beto", "abusive", ago(2)),
             said("cris", "threat", ago(1))]
    assert storm_at(items, ANTONIO, SMALL, NOW) == Storm(ANTONIO, 3, 2, ago(20), 30)


def test_the_default_thresholds_need_fifteen_authors_or_ten_abusive_messages() -> None:
    defaults = StormThresholds()
    fourteen = [said(f"a{n}", "rude", ago(n)) for n in range(14)]
    assert storm_at(fourteen, ANTONIO, defaults, NOW) is None
    fifteen = [*fourteen, said("a14", "rude", ago(59))]
    storm = storm_at(fifteen, ANTONIO, defaults, NOW)
    assert storm is not None and storm.distinct_authors == 15 and storm.window_minutes == 60
    # ... but the fifteenth an hour ago is outside the default window.
    assert storm_at([*fourteen, said("a14", "rude", ago(60))], ANTONIO, defaults, NOW) is None
    nine = [said("troll", "abusive", ago(n)) for n in range(9)]
    assert storm_at(nine, ANTONIO, defaults, NOW) is None
    storm = storm_at([*nine, said("troll", "threat", ago(30))], ANTONIO, defaults, NOW)
    assert storm is not None and (storm.distinct_authors, storm.abusive_messages) == (1, 10)


@pytest.mark.parametrize(("count", "expected"), [
    (StormCount(ANTONIO, 0, 0, None, False), None),
    (StormCount(ANTONIO, 2, 3, ago(5), True), None),
    (StormCount(ANTONIO, 3, 0, ago(5), True), Storm(ANTONIO, 3, 0, ago(5), 30)),
    (StormCount(ANTONIO, 1, 4, ago(7), False), Storm(ANTONIO, 1, 4, ago(7), 30)),
])
def test_a_counted_window_is_a_storm_from_either_threshold_on(
        count: StormCount, expected: Storm | None) -> None:
    assert storm_of(count, SMALL) == expected


def test_the_author_about_to_write_is_known_only_for_hostile_messages() -> None:
    items = [said("ana", "rude", ago(5)), said("beto", "none", ago(4))]
    assert count_window(items, ANTONIO, "twitter:ana", 30, NOW).author_counted
    assert not count_window(items, ANTONIO, "twitter:beto", 30, NOW).author_counted
    tally = StormTally(30)
    for item in items:
        tally.add(item)
    assert tally.count(ANTONIO, "twitter:ana", NOW).author_counted
    assert not tally.count(ANTONIO, "twitter:beto", NOW).author_counted


def test_every_target_in_a_storm_is_listed_and_only_those() -> None:
    items = [*(said(a, "rude", ago(3)) for a in ("ana", "beto", "cris")),
             *(said("troll", "abusive", ago(m), target=LIGHTING) for m in range(4)),
             said("ana", "rude", ago(3), target="town"),
             *(said(f"v{n}", "none", ago(n), target="person:maria") for n in range(10))]
    found = storms(items, SMALL, NOW)
    assert set(found) == {ANTONIO, LIGHTING}
    assert (found[ANTONIO].distinct_authors, found[ANTONIO].abusive_messages) == (3, 0)
    assert (found[LIGHTING].distinct_authors, found[LIGHTING].abusive_messages) == (1, 4)
    assert storms([], SMALL, NOW) == {}
    # An iterator is read once, yet every target is checked.
    assert set(storms(iter(items), SMALL, NOW)) == {ANTONIO, LIGHTING}


# --- the sliding tally -----------------------------------------------------------------

def test_the_tally_does_not_take_a_message_older_than_the_window_it_last_counted() -> None:
    tally = StormTally(30)
    tally.count(ANTONIO, "", NOW)            # the window is now (NOW - 30 min, NOW]
    tally.add(said("ana", "abusive", ago(30)))              # at its start: never counts again
    tally.add(said("beto", "abusive", ago(29, seconds=59)))  # just inside
    count = tally.count(ANTONIO, "", NOW)
    assert (count.distinct_authors, count.abusive_messages) == (1, 1)
    assert count.since == ago(29, seconds=59)


def test_the_tally_lets_go_of_a_message_once_even_if_asked_about_an_earlier_instant() -> None:
    """Windows only move forward: asking about an earlier instant afterwards does not bring
    back what aged out (a recount would)."""
    item = said("ana", "abusive", ago(40))
    tally = StormTally(30)
    tally.add(item)
    assert tally.count(ANTONIO, "", NOW).abusive_messages == 0
    assert tally.count(ANTONIO, "", ago(20)).abusive_messages == 0
    assert count_window([item], ANTONIO, "", 30, ago(20)).abusive_messages == 1


def test_pending_messages_count_with_the_tally_without_counting_an_author_twice() -> None:
    tally = StormTally(30)
    tally.count(ANTONIO, "", ago(1))
    tally.add(said("ana", "rude", ago(10)))
    pending = [said("ana", "abusive", ago(2)),        # a known author, one more abusive
               said("beto", "threat", ago(1)),        # a new author
               said("cris", "rude", ago(1), target=LIGHTING),  # someone else's window
               said("dani", "none", ago(1)),          # polite
               said("eva", "rude", ago(31))]          # outside the window
    assert tally.count(ANTONIO, "twitter:beto", NOW, pending) == StormCount(
        ANTONIO, 2, 2, ago(10), True)
    assert tally.count(ANTONIO, "twitter:dani", NOW, pending).author_counted is False
    # Pending messages are not kept: without them, only what was added counts.
    assert tally.count(ANTONIO, "", NOW) == StormCount(ANTONIO, 1, 0, ago(10), False)


def test_messages_at_the_same_instant_all_count() -> None:
    tally = StormTally(30)
    for author in ("ana", "beto", "cris", "ana"):
        tally.add(said(author, "abusive", ago(5)))
    assert tally.count(ANTONIO, "", NOW) == StormCount(ANTONIO, 3, 4, ago(5), False)
    # and leave together.
    assert tally.count(ANTONIO, "", ago(-25)) == StormCount(ANTONIO, 0, 0, None, False)


# Each step: seconds the clock moves on, then what happens: a message arrives (possibly late,
# `lag` seconds after it was sent), the tally is asked about a target, or told to expire.
# The clock often stands still, so that late messages meet a window that has not moved.
steps = st.lists(
    st.tuples(st.one_of(st.just(0), st.integers(1, 400)),
              st.sampled_from(["add", "add", "count", "expire"]),
              st.sampled_from([ANTONIO, LIGHTING]),
              st.integers(0, 5),
              st.sampled_from(LEVELS),
              st.integers(0, 2400)),
    min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 20), steps)
def test_the_tally_matches_a_recount_when_messages_arrive_late_and_out_of_order(
        window: int, stream: list[tuple[int, str, str, int, Level, int]]) -> None:
    """Messages added in any order of their times, some older than the window, some aged
    out while waiting: whenever the tally is asked, it answers what a recount of every
    message added so far answers (for each target and author)."""
    tally = StormTally(window)
    added: list[Recent] = []
    now = NOW
    for advance, action, target, author, level, lag in stream:
        now += dt.timedelta(seconds=advance)
        if action == "add":
            item = Recent(f"a{author}", target, level, now - dt.timedelta(seconds=lag))
            tally.add(item)
            added.append(item)
        elif action == "expire":
            tally.expire(now)
        else:
            for asked in (ANTONIO, LIGHTING):
                assert tally.count(asked, f"a{author}", now) == count_window(
                    added, asked, f"a{author}", window, now)
    for asked in (ANTONIO, LIGHTING):
        assert tally.count(asked, "a0", now) == count_window(added, asked, "a0", window, now)


# --- caught early: a few abusive authors in a short window ------------------------------

DEFAULTS = StormThresholds()  # early: 3 authors of abusive messages within 10 minutes


def test_three_abusive_authors_within_ten_minutes_are_a_storm_at_once() -> None:
    items = [said(f"a{i}", "abusive", ago(minutes=9 - i)) for i in range(3)]
    storm = storm_at(items, ANTONIO, DEFAULTS, NOW)
    assert storm is not None and storm.early and storm.distinct_authors == 3
    assert storm.window_minutes == DEFAULTS.early_window_minutes
    # Two authors, or three spread over more than ten minutes, are not (yet) a storm.
    assert storm_at(items[:2], ANTONIO, DEFAULTS, NOW) is None
    spread = [said(f"a{i}", "abusive", ago(minutes=6 * i)) for i in range(3)]
    assert storm_at(spread, ANTONIO, DEFAULTS, NOW) is None


def test_rude_complaints_and_one_angry_author_do_not_set_off_the_early_window() -> None:
    rude = [said(f"r{i}", "rude", ago(minutes=1)) for i in range(10)]
    assert storm_at(rude, ANTONIO, DEFAULTS, NOW) is None
    one = [said("mismo", "abusive", ago(minutes=i)) for i in range(5)]
    assert storm_at(one, ANTONIO, DEFAULTS, NOW) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(LEVELS),
                          st.integers(0, 25 * 60)), max_size=30))
def test_the_early_tally_agrees_with_a_recount(
        arrivals: list[tuple[int, Level, int]]) -> None:
    """The decision stage's sliding early window counts what a recount of the abusive
    messages in the last `early_window_minutes` finds."""
    from guardian.decide.inputs import ABUSIVE
    tally = StormTally(10, ABUSIVE)
    seen: list[Recent] = []
    start = NOW - dt.timedelta(minutes=25)
    for author, level, second in sorted(arrivals, key=lambda a: a[2]):
        at = start + dt.timedelta(seconds=second)
        counted = tally.count(ANTONIO, f"twitter:a{author}", at)
        recounted = count_window(seen, ANTONIO, f"twitter:a{author}", 10, at, ABUSIVE)
        assert (counted.distinct_authors, counted.abusive_messages,
                counted.author_counted) == (recounted.distinct_authors,
                                            recounted.abusive_messages,
                                            recounted.author_counted)
        item = Recent(f"twitter:a{author}", ANTONIO, level, at)
        tally.add(item)
        seen.append(item)
