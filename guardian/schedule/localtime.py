"""Wall-clock time <-> instants, with one rule for the times a DST change skips or repeats.

- A skipped local time (02:30 on the day clocks jump 02:00 -> 03:00) resolves to the
  instant of the jump, which the clock shows as 03:00: a hand-off planned inside the gap
  happens as soon as the clock resumes.
- A repeated local time (02:30 on the day clocks fall back 03:00 -> 02:00) resolves to its
  first occurrence (fold=0, still summer time).

Instants are aware `datetime`s; everything here returns them in UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = dt.UTC


class NaiveDatetimeError(ValueError):
    """A naive datetime reached schedule arithmetic: its instant would be a guess."""


def require_aware(value: dt.datetime, name: str = "instant") -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{name} {value.isoformat()} has no time zone; pass an aware "
                                 "datetime (e.g. with tzinfo=datetime.UTC)")
    return value


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_local(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The naive wall-clock reading in `tz` at `instant`."""
    return instant.astimezone(tz).replace(tzinfo=None)


def resolve(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The instant (UTC) of a naive wall-clock time in `tz`, by the module's rule."""
    old = local.replace(tzinfo=tz, fold=0).utcoffset()  # PEP 495: the offset before a change
    new = local.replace(tzinfo=tz, fold=1).utcoffset()  # and the one after it
    assert old is not None and new is not None
    with_old, with_new = local - old, local - new
    if with_old <= with_new:
        # Unique (equal) or repeated: fold=0 is the earlier instant.
        return with_old.replace(tzinfo=UTC)
    # Skipped: the jump lies in (with_new, with_old]; find it to the second by bisection
    # (tz data changes offsets on whole seconds).
    low = math.floor(with_new.replace(tzinfo=UTC).timestamp())
    high = math.ceil(with_old.replace(tzinfo=UTC).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == old:
            low = middle
        else:
            high = middle
    return dt.datetime.fromtimestamp(high, UTC)
