"""The decision core, pure: what Guardian does with a message, and why.

`decide(message, assessment, context, policy, now, timeline=None) -> Decision`; see
docs/decisions.md for the semantics. Modules: `inputs` (message, assessment, context),
`classify` (category, team, person, urgency), `storm` (pile-on detection), `escalation`
(the page's plan), `decision` (the result and its JSON), `rules` (`decide`). Who can be
reached when is `guardian.schedule.availability`.
"""

from guardian.decide.classify import Classification, classify
from guardian.decide.decision import (
    Decision,
    EscalationPlan,
    Outcome,
    PlanStep,
    StormInfo,
)
from guardian.decide.inputs import (
    AssessmentLike,
    Context,
    Judged,
    MessageLike,
    OpenPage,
    Post,
    Recent,
    StormCount,
    author_key,
)
from guardian.decide.rules import decide
from guardian.decide.storm import Storm, StormTally, count_window, storm_at, storm_of, storms
from guardian.decide.text import fingerprint

__all__ = [
    "AssessmentLike",
    "Classification",
    "Context",
    "Decision",
    "EscalationPlan",
    "Judged",
    "MessageLike",
    "OpenPage",
    "Outcome",
    "PlanStep",
    "Post",
    "Recent",
    "Storm",
    "StormCount",
    "StormInfo",
    "StormTally",
    "author_key",
    "classify",
    "count_window",
    "decide",
    "fingerprint",
    "storm_at",
    "storm_of",
    "storms",
]
