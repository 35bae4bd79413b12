"""Names people read for the policy's ids: the person's language, then the town's, then
the id made readable."""

from __future__ import annotations

from guardian.policy.names import category_name, person_name, readable_id, team_name
from tests.conftest import example_policy

POLICY = example_policy()


def test_a_category_in_the_readers_language_else_the_towns() -> None:
    assert category_name(POLICY, "street_lighting", "es") == "Alumbrado público"
    assert category_name(POLICY, "street_lighting", "en") == "Street lighting"
    assert category_name(POLICY, "street_lighting", "fr") == "Alumbrado público"  # town's


def test_what_the_policy_does_not_name_reads_as_words() -> None:
    assert category_name(POLICY, "fallen_tree", "es") == "Fallen tree"
    assert category_name(POLICY, None, "es") == ""
    assert team_name(POLICY, "lighting") == "Alumbrado público (street lighting)"
    assert team_name(POLICY, "parks-and-gardens") == "Parks and gardens"
    assert readable_id("") == ""
    assert person_name(POLICY, "antonio") == "Antonio Molina"
    assert person_name(POLICY, "someone_gone") == "someone_gone"
    assert person_name(None, "antonio") == "antonio"
