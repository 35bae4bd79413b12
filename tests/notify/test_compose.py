"""What decisions put in the outbox (pure): staff never get the raw text of an abusive
message, a deferral waits for the digest, a storm gives one notice per window, and every
notification about a message carries its recipient's own link to flag it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from guardian.decide import Context, Judged, Post, decide
from guardian.decide.decision import Audience, StormInfo
from guardian.notify.compose import (
    MessageView,
    PageView,
    Planned,
    WaitingItem,
    digest_payload,
    for_decision,
    for_page_event,
    for_schedule,
)
from guardian.notify.render import FORMATS, ChannelStyle, render
from guardian.policy.harassment import Level
from guardian.types import NotificationStatus
from tests.conftest import example_policy

POLICY = example_policy()
TEN = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)  # 10:00 in Madrid, a Wednesday
ORIGINAL = "La farola de la calle Real está rota, tontos"
MASKED = "La farola de la calle Real está rota, ▒▒▒▒▒▒"


class _Links:
    """A stand-in for the signer (`guardian.acks.links.FlagLinks`): who and what, visible."""

    def __call__(self, message_id: int, person: str) -> str:
        return f"https://g.test/flag/{message_id}-{person}"

    def page(self, message_id: int, person: str) -> str:
        return f"https://g.test/m/{message_id}-{person}"


flag_url = _Links()


def _plan(level: Level, at: dt.datetime = TEN, *, flags: bool = False) -> list[Planned]:
    post = Post(source="twitter", external_id="1", author_handle="@vecina", text=ORIGINAL)
    judged = Judged(labels={"insult": 0.9 if level != "none" else 0.01}, level=level,
                    masked_text=MASKED if level != "none" else ORIGINAL)
    decision = decide(post, judged, Context(), POLICY, at)
    view = MessageView(id=7, author="@vecina", text=ORIGINAL, masked_text=judged.masked_text,
                       received_at=at)
    return list(for_decision(decision, view, POLICY, at, "https://g.test",
                             flag_url=flag_url if flags else None))


def test_staff_get_the_masked_request_of_an_abusive_message() -> None:
    planned = _plan("abusive")
    assert planned, "the request still reaches staff"
    for item in planned:
        assert item.payload["text"] == MASKED and item.payload["shielded"] is True
        assert "tontos" not in str(item.payload)


def test_payloads_name_the_category_and_team_in_the_recipients_language() -> None:
    """Staff read "Alumbrado público", never `street_lighting` or `lighting`."""
    [planned] = [p for p in _plan("none") if p.recipient == "antonio"] or _plan("none")[:1]
    lang = planned.lang
    assert planned.payload["category"] == {"es": "Alumbrado público",
                                           "en": "Street lighting"}[lang]
    assert planned.payload["team"] == "Alumbrado público (street lighting)"


def test_a_clean_request_is_delivered_as_written_with_a_link() -> None:
    [first, *_] = _plan("none")
    assert first.payload["text"] == ORIGINAL
    assert first.payload["link"] == "https://g.test/messages/7"  # the page, behind sign-in
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
    assert links == {"raquel": "https://g.test/moderation?target=antonio", "lucia": None}


# -- the flag link -------------------------------------------------------------------------------

def test_every_message_notification_carries_its_recipients_flag_link() -> None:
    for level, at in (("none", TEN), ("abusive", TEN),
                      ("none", dt.datetime(2026, 11, 25, 21, 48, tzinfo=dt.UTC))):
        planned = _plan(level, at, flags=True)  # type: ignore[arg-type]
        assert planned
        for item in planned:
            assert item.payload["flag_url"] == f"https://g.test/flag/7-{item.recipient}"
            # "See the message" opens the recipient's own signed page: no sign-in, no JSON.
            assert item.payload["link"] == f"https://g.test/m/7-{item.recipient}"
    # No signer given: the key is there, null (the templates leave the line out).
    assert all(p.payload["flag_url"] is None for p in _plan("none"))


def test_a_storm_notice_carries_no_flag_link() -> None:
    post = Post(source="twitter", external_id="1", author_handle="@a", text="x")
    base = decide(post, Judged(labels={}, level="none", masked_text="x"), Context(), POLICY, TEN)
    storm = StormInfo(target="person:antonio", distinct_authors=16, abusive_messages=3,
                      window_minutes=60, since=TEN, first=True)
    notice = dataclasses.replace(base.outcomes[0], content="storm_notice", channel="preferred",
                                 recipients=("raquel",), audience="moderators")
    decision = dataclasses.replace(base, storm=storm, outcomes=(notice,))
    view = MessageView(id=1, author="@a", text="x", masked_text="x", received_at=TEN)
    [planned] = for_decision(decision, view, POLICY, TEN, "https://g.test", flag_url=flag_url)
    assert "flag_url" not in planned.payload


def _page(person: str = "carmen") -> PageView:
    return PageView(page_id=12, event_seq=2, step="escalated", person=person,
                    category="street_lighting", urgency="emergency", team="lighting",
                    escalated_from="antonio")


def test_a_page_carries_the_flag_link_of_the_person_paged() -> None:
    view = MessageView(id=7, author="@vecina", text=ORIGINAL, masked_text=MASKED,
                       received_at=TEN)
    planned = for_page_event(_page(), view, POLICY, TEN, "https://g.test", ack_url="a",
                             reply_code="ACK 12-0", flag_url=flag_url)
    assert planned.payload["flag_url"] == "https://g.test/flag/7-carmen"
    # A page whose message is gone has nothing to flag.
    gone = for_page_event(_page(), None, POLICY, TEN, "https://g.test", ack_url="a",
                          reply_code="ACK 12-0", flag_url=flag_url)
    assert gone.payload["flag_url"] is None


def test_digest_items_get_the_persons_flag_link_signed_when_the_digest_is_made() -> None:
    [waiting] = [p for p in _plan("none", dt.datetime(2026, 11, 25, 21, 48, tzinfo=dt.UTC),
                                  flags=True) if p.recipient == "carmen"]
    storm = {"target": "Antonio Ruiz", "distinct_authors": 7, "abusive_messages": 3,
             "window_minutes": 60, "link": None}
    items = [WaitingItem(1, "street_lighting", waiting.payload, message_id=7),
             WaitingItem(2, "storm", storm, message_id=8)]

    class Fresh(_Links):
        def __call__(self, message_id: int, person: str) -> str:
            return f"https://g.test/flag/fresh-{message_id}-{person}"

        def page(self, message_id: int, person: str) -> str:
            return f"https://g.test/m/fresh-{message_id}-{person}"

    signed = digest_payload("carmen", items, POLICY, "https://g.test", Fresh())
    flags = {g["category"]: [i["flag_url"] for i in g["items"]] for g in signed["groups"]}
    # Groups by their names in Carmen's language (Spanish), never ids.
    assert flags == {"Alumbrado público": ["https://g.test/flag/fresh-7-carmen"],
                     "Avalanchas de mensajes": [None]}
    # The message page link is signed afresh too (a digest may be read days later).
    links = {g["category"]: [i["link"] for i in g["items"]] for g in signed["groups"]}
    assert links["Alumbrado público"] == ["https://g.test/m/fresh-7-carmen"]
    # Without a signer, the link the item's notification carried is kept; none, none.
    kept = digest_payload("carmen", items, POLICY, "https://g.test")
    assert {g["category"]: [i["flag_url"] for i in g["items"]] for g in kept["groups"]} == {
        "Alumbrado público": ["https://g.test/flag/7-carmen"],
        "Avalanchas de mensajes": [None]}
    old = WaitingItem(3, "street_lighting",
                      {k: v for k, v in waiting.payload.items() if k != "flag_url"})
    assert digest_payload("carmen", [old], POLICY, "https://g.test")["groups"][0]["items"][0][
        "flag_url"] is None


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_composed_payloads_render_with_the_flag_link_in_every_format(lang: str,
                                                                      fmt: str) -> None:
    """What compose writes is what the templates show (deliver, page, digest)."""
    [deliver, *_] = _plan("abusive", flags=True)
    view = MessageView(id=7, author="@vecina", text=ORIGINAL, masked_text=MASKED,
                       received_at=TEN)
    page = for_page_event(_page(), view, POLICY, TEN, "https://g.test", ack_url="https://a",
                          reply_code="ACK 12-0", flag_url=flag_url)
    digest = digest_payload("carmen", [WaitingItem(1, "street_lighting", deliver.payload, 7)],
                            POLICY, "https://g.test", flag_url)
    style = ChannelStyle(fmt, None, True)  # type: ignore[arg-type]
    for kind, payload, person in (("deliver", deliver.payload, deliver.recipient),
                                  ("page", page.payload, "carmen"),
                                  ("digest", digest, "carmen")):
        body = render(kind, lang, payload, style).body
        assert f"https://g.test/flag/7-{person}" in body, (kind, body)


def test_digests_and_schedule_changes_link_to_the_persons_pages() -> None:
    """Not the JSON API: the inbox holds every item of a digest, the swaps page the
    person's swaps (their day shows HR's changes)."""
    digest = digest_payload("carmen", [], POLICY, "https://g.test")
    assert digest["more_link"] == "https://g.test/inbox"
    change = for_schedule("swap_proposed", "carmen", override_id=3, team="lighting",
                          start=TEN, end=TEN + dt.timedelta(hours=8), by="antonio",
                          other=None, policy=POLICY, now=TEN, base_url="https://g.test")
    assert change.payload["link"] == "https://g.test/swaps"
    assert change.payload["team"] == "Alumbrado público (street lighting)"
