"""Storm (pile-on) detection: pure functions over recent messages.

A target (a person or a team) is in a storm at `now` when, among the messages aimed at it
in the window (now - W, now], either

- at least `distinct_authors` different authors sent hostile ones (rude or worse), or
- at least `abusive_messages` were abusive or threats.

Polite messages do not count: twenty neighbours reporting the same dark street is not a
pile-on. The thresholds are the policy's `storm` section.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from guardian.decide.inputs import ABUSIVE, HOSTILE, Recent
from guardian.policy.model import StormThresholds


@dataclass(frozen=True, slots=True)
class Storm:
    target: str
    distinct_authors: int   # authors of hostile messages in the window
    abusive_messages: int   # abusive or threatening messages in the window
    since: dt.datetime      # the earliest hostile message in the window
    window_minutes: int


def _window(items: Iterable[Recent], target: str, thresholds: StormThresholds,
            now: dt.datetime) -> tuple[set[str], int, dt.datetime | None]:
    start = now - dt.timedelta(minutes=thresholds.window_minutes)
    authors: set[str] = set()
    abusive = 0
    since: dt.datetime | None = None
    for item in items:
        if item.target != target or item.level not in HOSTILE or not start < item.at <= now:
            continue
        authors.add(item.author)
        abusive += item.level in ABUSIVE
        since = item.at if since is None or item.at < since else since
    return authors, abusive, since


def storm_at(items: Iterable[Recent], target: str, thresholds: StormThresholds,
             now: dt.datetime) -> Storm | None:
    """The storm on `target` at `now`, or None."""
    authors, abusive, since = _window(items, target, thresholds, now)
    if since is None or (len(authors) < thresholds.distinct_authors
                         and abusive < thresholds.abusive_messages):
        return None
    return Storm(target, len(authors), abusive, since, thresholds.window_minutes)


def storms(items: Iterable[Recent], thresholds: StormThresholds, now: dt.datetime
           ) -> dict[str, Storm]:
    """Every target in a storm at `now` (for reports and the moderators' page)."""
    listed = list(items)
    found = {}
    for target in {item.target for item in listed}:
        storm = storm_at(listed, target, thresholds, now)
        if storm is not None:
            found[target] = storm
    return found
