"""The escalation plan wakes who the chain names: the team lead or a named person is paged
in an emergency whether or not on duty (`wake: always`, the default), unless HR wrote
`wake: if_available`; nobody on leave is woken; every step says why."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from guardian.decide.escalation import plan_for
from guardian.policy.model import Policy
from guardian.schedule.availability import Availability
from guardian.schedule.overrides import Override
from tests.conftest import example_policy

MADRID = ZoneInfo("Europe/Madrid")
THREE = dt.datetime(2026, 11, 25, 3, tzinfo=MADRID)  # Carmen, the lighting lead, asleep
TOWN = example_policy()


def _with_wake(wake: str) -> Policy:
    data = TOWN.model_dump(mode="json")
    for chain in data["escalation"]["chains"]:
        for step in chain["steps"]:
            if step["who"] in ("team_lead", "person"):
                step["wake"] = wake
    return Policy.model_validate(data)


def test_the_lead_is_woken_by_default_and_the_step_says_why() -> None:
    plan = plan_for(TOWN, Availability(TOWN, None), "lighting", THREE)
    lead = plan.steps[1]
    assert lead.who == "team_lead" and lead.people == ("carmen",) and lead.skipped is None
    assert "quiet hours" in lead.reason and "wake: always" in lead.reason
    assert plan.steps[0].reason.startswith("antonio on call in team lighting")
    assert "last-resort" in plan.steps[2].reason


def test_if_available_skips_an_off_duty_lead_and_takes_no_time() -> None:
    policy = _with_wake("if_available")
    plan = plan_for(policy, Availability(policy, None), "lighting", THREE)
    lead = plan.steps[1]
    assert lead.people == () and lead.skipped is not None
    assert "if_available" in lead.skipped
    assert plan.steps[2].at == lead.at  # the last resort straight after


def test_if_available_pages_a_lead_who_is_on_duty() -> None:
    policy = _with_wake("if_available")
    morning = dt.datetime(2026, 11, 25, 9, tzinfo=MADRID)  # Carmen works 07:30-14:30
    plan = plan_for(policy, Availability(policy, None), "lighting", morning)
    assert plan.steps[1].people == ("carmen",) and "on duty" in plan.steps[1].reason


def test_nobody_on_leave_is_woken_and_the_reason_stays_private() -> None:
    leave = Override(id=4, kind="remove", person="carmen", reason="baja médica",
                     start=THREE - dt.timedelta(days=1), end=THREE + dt.timedelta(days=5))
    plan = plan_for(TOWN, Availability(TOWN, None, (leave,)), "lighting", THREE)
    lead = plan.steps[1]
    assert lead.people == () and lead.skipped is not None and "on leave" in lead.skipped
    assert "médica" not in lead.skipped
    # A removal from one team only is not leave: the chain still names her.
    partial = leave.model_copy(update={"team": "lighting", "applies_to": "on_call"})
    plan = plan_for(TOWN, Availability(TOWN, None, (partial,)), "lighting", THREE)
    assert plan.steps[1].people == ("carmen",)
