"""The policy what-if (guardian.engine.whatif): three days of stored traffic (messages, a
page acknowledged, an override in force, a message whose text retention removed) replayed
through the live engine under the example town's policy and under one with three known
changes, on SQLite and PostgreSQL; the difference is exactly the one those changes make.

The changes (files written over the policy in force, as HR uploads them):

- Raquel gets quiet hours 22:00-08:00: the police request at 23:10 on Tuesday, hers in the
  police shifts, waits for Pablo's digest at 08:00 (the next officer on duty);
- the street-lighting on-call rotation starts with Carmen: the fallen power line at 03:00
  on Wednesday pages Carmen instead of Antonio (acknowledged at 03:05 in both);
- María has no working hours: her room booking at 10:00 reaches no one (held for the
  moderators).

Elena's override (added to cleaning for the week) is in force in both runs: she is told
of the rubbish at 10:30 under either policy."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.decide.whatif import Pair, Touch
from guardian.engine.whatif import replay, report, stored_traffic
from guardian.policy.model import Policy
from guardian.policy_files.overlay import with_changes
from guardian.schemas import MessageIn
from guardian.storage.messages import store_messages
from guardian.storage.overrides import create_override
from guardian.storage.pages import Step, acknowledge, open_page
from guardian.types import OverrideStatus
from tests.conftest import POLICIES, example_policy

pytestmark = pytest.mark.slow
MADRID = ZoneInfo("Europe/Madrid")
RAQUEL_CHANNEL = '      - "tgram://{env:TELEGRAM_BOT_TOKEN}/{env:RAQUEL_TELEGRAM_CHAT}"\n'
MARIA_HOURS = '    working_hours:\n      mon-fri: "08:00-15:00"\n      thu: "16:00-19:00"\n'
LIGHTING = "      - members: [antonio, carmen]\n"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=MADRID)


MESSAGES = [  # (external id, text, received): Monday 23 to Wednesday 25 November 2026
    ("police", "Hay un coche mal aparcado delante de mi garaje", at(24, 23, 10)),
    ("cable", "Hay un cable caído en la calle Mayor, saltan chispas", at(25, 3)),
    ("sala", "Quiero reservar la sala del centro cívico el jueves", at(25, 10)),
    ("basura", "La basura lleva días sin recoger en la plaza", at(25, 10, 30)),
    ("expired", "[expired]", at(23, 9)),                      # retention took its text
    ("before", "La farola de la esquina parpadea", at(22, 12)),  # before the period
]


def changed_policy() -> Policy:
    staff = (POLICIES / "staff.yaml").read_text(encoding="utf-8")
    rotations = (POLICIES / "rotations.yaml").read_text(encoding="utf-8")
    assert RAQUEL_CHANNEL in staff and MARIA_HOURS in staff and LIGHTING in rotations
    staff = staff.replace(RAQUEL_CHANNEL, RAQUEL_CHANNEL + '    quiet_hours: "22:00-08:00"\n')
    changed = with_changes(POLICIES, {
        "staff.yaml": staff.replace(MARIA_HOURS, ""),
        "rotations.yaml": rotations.replace(LIGHTING, "      - members: [carmen, antonio]\n")},
        now=at(26, 0))
    assert changed.policy is not None, [str(p) for p in changed.errors]
    assert (changed.replaced, changed.added) == (["rotations.yaml", "staff.yaml"], [])
    # The loader's look-ahead says what the change costs: no one ever on duty for rooms.
    assert any(p.file == "teams.yaml" and "rooms" in p.message for p in changed.warnings)
    return changed.policy


async def store(engine: AsyncEngine) -> dict[str, int]:
    ids = {}
    for external_id, text, received in MESSAGES:
        async with engine.begin() as conn:
            [stored] = await store_messages(conn=conn, now=received, messages=[
                MessageIn.model_validate({
                    "source": "twitter", "external_id": external_id,
                    "author": {"handle": "@vecina"}, "text": text,
                    "created_at": received.isoformat()})])
        ids[external_id] = stored.id
    async with engine.begin() as conn:
        page, _ = await open_page(conn=conn, team="lighting", reason="cable caído",
                                  plan=[Step("antonio", 15)], last_resort="lucia",
                                  now=at(25, 3), message_id=ids["cable"],
                                  category="street_lighting")
        assert page.id is not None
        await acknowledge(conn=conn, page_id=page.id, actor="staff:antonio",
                          now=at(25, 3, 5))
        await create_override(conn=conn, team="cleaning", kind="add", person="elena",
                              replaces=None, starts_at=at(23, 0), ends_at=at(28, 0),
                              reason="Refuerzo por la feria", created_by="hr:lucia",
                              status=OverrideStatus.active)
    return ids


async def test_a_known_change_makes_a_known_difference(engine: AsyncEngine) -> None:
    ids = await store(engine)
    traffic = await stored_traffic(engine, start=at(23, 0), end=at(26, 0))
    assert sorted(traffic.messages) == sorted(
        str(ids[k]) for k in ("police", "cable", "sala", "basura"))
    assert (traffic.redacted, traffic.acks, len(traffic.overrides)) == (1, 1, 1)
    police, cable, sala = (str(ids[k]) for k in ("police", "cable", "sala"))

    old = await replay(traffic.items, example_policy(), traffic.overrides)
    new = await replay(traffic.items, changed_policy(), traffic.overrides)
    what = report(traffic, 3, old, new).diff

    # Who is contacted about what, and when: only the three changed messages differ.
    assert [m.message for m in what.messages] == [police, cable, sala]
    by_id = {m.message: m for m in what.messages}
    assert by_id[police].old == (Touch(at(24, 23, 10), "raquel", "deliver"),)
    assert by_id[police].new == (Touch(at(25, 8), "pablo", "digest"),)
    assert by_id[cable].old == (Touch(at(25, 3), "antonio", "page"),)
    assert by_id[cable].new == (Touch(at(25, 3), "carmen", "page"),)
    assert by_id[sala].old == (Touch(at(25, 10), "maria", "deliver"),)
    assert by_id[sala].new == ()
    route = by_id[sala].new_route
    assert route is not None and route.unrouted and route.team == "rooms"

    # Per person: the page moves from Antonio to Carmen (at 03:00: in quiet hours for
    # both), Raquel's night contact becomes Pablo's morning digest, María loses hers.
    rows = {p.person: p for p in what.people}
    assert (rows["antonio"].pages, rows["carmen"].pages) == (Pair(1, 0), Pair(0, 1))
    assert (rows["antonio"].quiet_hours, rows["carmen"].quiet_hours) == (Pair(1, 0),
                                                                         Pair(0, 1))
    assert rows["raquel"].contacts == Pair(1, 0)
    assert (rows["pablo"].contacts, rows["pablo"].waited) == (Pair(0, 1), Pair(0, 1))
    assert rows["maria"].contacts == Pair(1, 0)
    # Elena's override is replayed under both policies: told of the rubbish either way.
    assert not rows["elena"].changed and rows["elena"].contacts == Pair(1, 1)
    assert not rows["jose"].changed
    assert dict(what.totals) == {
        "contacts": Pair(5, 4), "after_hours": Pair(1, 1), "quiet_hours": Pair(1, 1),
        "pages": Pair(1, 1), "waited": Pair(0, 1), "unrouted": Pair(0, 1)}


async def test_the_most_recent_messages_within_the_limit(engine: AsyncEngine) -> None:
    await store(engine)
    traffic = await stored_traffic(engine, start=at(23, 0), end=at(26, 0), limit=2)
    # The expired message and those before 10:00 on Wednesday are beyond the limit.
    assert traffic.beyond_limit == 3
    assert traffic.start == at(25, 10)
    assert [i.message.text if i.message else None for i in traffic.items] == [
        "Quiero reservar la sala del centro cívico el jueves",
        "La basura lleva días sin recoger en la plaza"]
    # Stored messages are never shown raw: unscored ones show no text at all.
    assert {m.text for m in traffic.messages.values()} == {None}
