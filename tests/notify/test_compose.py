"""What decisions put in the outbox (pure): staff never get the raw text of an abusive
message, a deferral waits for the digest, and a storm gives one notice per window."""

from __future__ import annotations

import dataclasses
import datetime as dt

from guardian.decide import Context, Judged, Post, decide
from guardian.decide.decision import Audience, StormInfo
from guardian.notify.compose import MessageView, Planned, for_decision
from guardian.policy.harassment import Level
from guardian.types import NotificationStatus
from tests.conftest import example_policy

POLICY = example_policy()
TEN = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)  # 10:00 in Madrid, a Wednesday
ORIGINAL = "La farola de la calle Real está rota, tontos"
MASKED = "La farola de la calle Real está rota, ▒▒▒▒▒▒"


def _plan(level: Level, at: dt.datetime = TEN) -> list[Planned]:
    post = Post(source="twitter", external_id="1", author_handle="@vecina", text=ORIGINAL)
    judged = Judged(labels={"insult": 0.9 if level != "none" else 0.01}, level=level,
                    masked_text=MASKED if level != "none" else ORIGINAL)
    decision = decide(post, judged, Context(), POLICY, at)
    view = MessageView(id=7, author="@vecina", text=ORIGINAL, masked_text=judged.masked_text,
                       received_at=at)
    return list(for_decision(decision, view, POLICY, at, "https://g.test"))


def test_staff_get_the_masked_request_of_an_abusive_message() -> None:
    planned = _plan("abusive")
    assert planned, "the request still reaches staff"
    for item in planned:
        assert item.payload["text"] == MASKED and item.payload["shielded"] is True
        assert "tontos" not in str(item.payload)


def test_a_clean_request_is_delivered_as_written_with_a_link() -> None:
    [first, *_] = _plan("none")
    assert first.payload["text"] == ORIGINAL
    assert first.payload["link"] == "https://g.test/api/v1/messages/7"
    assert first.status == NotificationStatus.pending


def test_at_night_it_waits_for_the_digest() -> None:
    night = dt.datetime(2026, 11, 25, 21, 48, tzinfo=dt.UTC)
    planned = _plan("none", night)
    assert planned and all(p.status == NotificationStatus.waiting for p in planned)
    assert all(p.due_at > night for p in planned)


def test_two_workers_starting_the_same_storm_write_one_notice_per_person() -> None:
    post = Post(source="twitter", external_id="1", author_handle="@a", text="x")
    base = decide(post, Judged(labels={}, level="none", masked_text="x"), Context(), POLICY, TEN)
    storm = StormInfo(target="person:antonio", distinct_authors=16, abusive_messages=3,
                      window_minutes=60, since=TEN, first=True)
    notice = dataclasses.replace(base.outcomes[0], content="storm_notice", channel="preferred",
                                 recipients=("raquel",))
    keys = []
    for seconds, message_id in ((0, 1), (2, 2)):
        decision = dataclasses.replace(base, storm=storm, outcomes=(notice,),
                                       decided_at=TEN + dt.timedelta(seconds=seconds))
        view = MessageView(id=message_id, author="@a", text="x", masked_text="x",
                           received_at=TEN)
        [planned] = for_decision(decision, view, POLICY, TEN, "https://g.test")
        assert "x" not in planned.payload.values()  # counts and a link, no text
        keys.append(planned.idempotency_key)
    assert keys[0] == keys[1]


def test_only_moderators_get_the_review_queue_link_in_a_storm_notice() -> None:
    """HR cannot open the moderators' queue: their notice says who handles it instead."""
    post = Post(source="twitter", external_id="1", author_handle="@a", text="x")
    base = decide(post, Judged(labels={}, level="none", masked_text="x"), Context(), POLICY, TEN)
    storm = StormInfo(target="person:antonio", distinct_authors=16, abusive_messages=3,
                      window_minutes=60, since=TEN, first=True)
    audiences: tuple[tuple[str, Audience], ...] = (("raquel", "moderators"), ("lucia", "hr"))
    notices = tuple(dataclasses.replace(base.outcomes[0], content="storm_notice",
                                        channel="preferred", recipients=(person,),
                                        audience=audience)
                    for person, audience in audiences)
    decision = dataclasses.replace(base, storm=storm, outcomes=notices)
    view = MessageView(id=1, author="@a", text="x", masked_text="x", received_at=TEN)
    links = {p.recipient: p.payload["link"]
             for p in for_decision(decision, view, POLICY, TEN, "https://g.test")}
    assert links == {"raquel": "https://g.test/api/v1/review?target=antonio", "lucia": None}
