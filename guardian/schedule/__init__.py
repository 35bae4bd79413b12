"""Schedule arithmetic, pure: no I/O, no clock. Every instant is an aware datetime passed
in (naive ones raise `NaiveDatetimeError`).

Modules by concept: `localtime` (wall clock <-> instants, the DST rule), `windows`
(weekly windows), `holidays`, `people` (working and quiet hours), `rotation` (one layer's
turns), `layers` (a rotation's layers), `overrides`, `duty` (a team's on-duty and on-call
people and shifts), `timeline` (precomputed look-ups), `availability` (who can be reached
when, for decisions and sends), `coverage` (checks for the loader), `views` (duty as JSON).
"""

from guardian.schedule.duty import Duty, Shift, Source, on_call, on_duty, team_shifts
from guardian.schedule.layers import OnRotation, rotation_at, rotation_pieces
from guardian.schedule.localtime import NaiveDatetimeError, resolve
from guardian.schedule.overrides import Applied, Override, apply_overrides, compose
from guardian.schedule.people import (
    in_quiet_hours,
    is_working,
    next_working_start,
    working_intervals,
)
from guardian.schedule.timeline import OutOfRangeError, Timeline

__all__ = [
    "Applied",
    "Duty",
    "NaiveDatetimeError",
    "OnRotation",
    "OutOfRangeError",
    "Override",
    "Shift",
    "Source",
    "Timeline",
    "apply_overrides",
    "compose",
    "in_quiet_hours",
    "is_working",
    "next_working_start",
    "on_call",
    "on_duty",
    "resolve",
    "rotation_at",
    "rotation_pieces",
    "team_shifts",
    "working_intervals",
]
