"""What a decision, a page event or a digest puts in the outbox: pure functions from the
decision and the policy to `Planned` notifications (recipient, kind, payload, time).

The payload is the template's context (`guardian.notify.render`): it holds only what the
recipient may see. Staff payloads carry the masked text unless the decision's outcome
says `original` (never for an abusive message: the decision's invariant 3); storm notices
carry counts and a link, no message text.

Every notification about a message (delivered, in a digest, paged) carries a link for its
recipient to flag the message as abusive (`flag_url`). Signing needs the secret, which
this module never sees: its callers pass a `FlagUrl`, a function from (message id, person)
to the URL (`guardian.acks.links.FlagLinks`); without one the payload's `flag_url` is null
and the templates leave the line out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from guardian.decide import Decision
from guardian.decide.decision import Outcome
from guardian.policy.model import Policy
from guardian.policy.names import category_name, person_zone, team_name
from guardian.types import NotificationKind, NotificationStatus

URGENCY_ORDER = {"emergency": 0, "high": 1, "normal": 2, "low": 3}

class FlagUrl(Protocol):
    """A person's signed links for a message (`guardian.acks.links.FlagLinks`): called, the
    link with which they flag it as abusive; `page`, the message page that "Ver el mensaje"
    opens on a phone without signing in."""

    def __call__(self, message_id: int, person: str) -> str: ...

    def page(self, message_id: int, person: str) -> str: ...


@dataclass(frozen=True)
class MessageView:
    """The stored message, as notifications show it."""

    id: int
    author: str
    text: str          # as written: only for outcomes whose content is `original`
    masked_text: str
    received_at: dt.datetime

    @classmethod
    def of(cls, message: MessageLike, masked_text: str | None = None) -> MessageView:
        """From a stored message (or its columns); `masked_text` defaults to the stored
        one, else the text itself."""
        masked = masked_text if masked_text is not None else message.masked_text
        return cls(id=message.id or 0, author=message.author_handle, text=message.text,
                   masked_text=masked if masked is not None else message.text,
                   received_at=message.received_at)

    @classmethod
    def masked(cls, message: MessageLike) -> MessageView:
        """The same, with the text masked too: what staff get of a released message."""
        view = cls.of(message)
        return replace(view, text=view.masked_text)


class MessageLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def author_handle(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def masked_text(self) -> str | None: ...
    @property
    def received_at(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Planned:
    recipient: str
    kind: NotificationKind
    status: NotificationStatus   # pending (send at due_at) or waiting (the digest at due_at)
    due_at: dt.datetime
    payload: dict[str, Any]
    lang: str
    category: str | None
    idempotency_key: str


def language_of(policy: Policy, person: str) -> str:
    member = policy.people.get(person)
    if member is not None and member.languages:
        return member.languages[0]
    return policy.town.languages[0]


def local_time(policy: Policy, person: str, at: dt.datetime) -> str:
    return at.astimezone(person_zone(policy, person)).strftime("%d/%m %H:%M")


def display_name(policy: Policy, person: str) -> str:
    member = policy.people.get(person)
    return member.name if member is not None else person


def target_name(policy: Policy, target: str) -> str:
    """"person:antonio" → "Antonio Ruiz"; "team:lighting" → "team lighting"."""
    kind, _, ident = target.partition(":")
    if kind == "person":
        return display_name(policy, ident)
    if kind == "team":
        team = policy.team_index.get(ident)
        return f"team {team.name if team is not None else ident}"
    return target


# Digest groups that are not categories of the policy, in the recipient's language.
_GROUP_NAMES = {"storm": {"es": "Avalanchas de mensajes", "en": "Message storms"},
                "other": {"es": "Otros", "en": "Other"}}


def _names(policy: Policy, person: str, category: str | None, team: str | None
           ) -> dict[str, str | None]:
    """The category and team as the recipient reads them (names from the policy, in
    their language), never ids such as `street_lighting`."""
    return {"category": category_name(policy, category, language_of(policy, person))
            or category, "team": team_name(policy, team) or None}


def message_link(base_url: str, message_id: int, person: str | None = None,
                 flag_url: FlagUrl | None = None) -> str:
    """The message page: the person's signed link when there is a signer, else the page
    behind signing in (which shows them the same, if the message is theirs to see)."""
    if flag_url is not None and person is not None and message_id:
        return flag_url.page(message_id, person)
    return f"{base_url}/messages/{message_id}"


def flag_url_for(flag_url: FlagUrl | None, message_id: int | None, person: str) -> str | None:
    """The person's flag link for the message, or None (no signer, or no message)."""
    if flag_url is None or not message_id:
        return None
    return flag_url(message_id, person)


def _text_for(outcome: Outcome, message: MessageView) -> tuple[str, bool]:
    """The text this outcome's audience gets, and whether it was masked."""
    if outcome.content == "original":
        return message.text, False
    return message.masked_text, message.masked_text != message.text


def _message_payload(decision: Decision, outcome: Outcome, message: MessageView,
                     policy: Policy, person: str, base_url: str, flag_url: FlagUrl | None
                     ) -> dict[str, Any]:
    text, shielded = _text_for(outcome, message)
    return {**_names(policy, person, decision.category, decision.team),
            "urgency": outcome.urgency, "text": text, "shielded": shielded,
            "received_at": message.received_at.astimezone(dt.UTC).isoformat(),
            "local_time": local_time(policy, person, message.received_at),
            "link": message_link(base_url, message.id, person, flag_url),
            "author": message.author, "reasons": list(outcome.reasons),
            "flag_url": flag_url_for(flag_url, message.id, person)}


def _held_payload(decision: Decision, outcome: Outcome, message: MessageView,
                  policy: Policy, person: str, base_url: str) -> dict[str, Any]:
    """A message held from its target: counted in their digest, never shown (no text, no
    author, no link to it)."""
    return {**_names(policy, person, decision.category, decision.team),
            "urgency": outcome.urgency, "text": "", "shielded": True, "held": True,
            "received_at": message.received_at.astimezone(dt.UTC).isoformat(),
            "local_time": local_time(policy, person, message.received_at),
            "link": base_url, "author": "", "reasons": list(outcome.reasons),
            "flag_url": None}


def _storm_payload(decision: Decision, outcome: Outcome, policy: Policy, base_url: str
                   ) -> dict[str, Any]:
    storm = decision.storm
    target = storm.target if storm is not None else decision.target
    # Only moderators can open the review queue: HR (or the last-resort contact) get the
    # notice without a link they would be refused at.
    link = (f"{base_url}/moderation?target={target.partition(':')[2] or target}"
            if outcome.audience == "moderators" else None)
    return {"target": target_name(policy, target),
            "distinct_authors": storm.distinct_authors if storm else 0,
            "abusive_messages": storm.abusive_messages if storm else 0,
            "window_minutes": storm.window_minutes if storm else 0,
            "link": link}


def _storm_key(decision: Decision, person: str) -> str:
    """One notice per target and person per storm window: two workers that both decide
    they saw a storm start (each before the other's decision committed) write one row."""
    storm = decision.storm
    window = max(storm.window_minutes if storm is not None else 60, 1) * 60
    bucket = int(decision.decided_at.timestamp() // window)
    target = storm.target if storm is not None else decision.target
    return f"storm:{target}:{person}:{bucket}"


def for_decision(decision: Decision, message: MessageView, policy: Policy, now: dt.datetime,
                 base_url: str, *, key_prefix: str = "msg", flag_url: FlagUrl | None = None
                 ) -> list[Planned]:
    """The notifications of a decision's push and digest outcomes. Pages are notified from
    their page's events (`for_page_event`), review items are pulled from the queue, drops
    notify no one. Each message notification carries its recipient's `flag_url`."""
    planned: list[Planned] = []
    for index, outcome in enumerate(decision.outcomes):
        if outcome.channel not in ("preferred", "digest") or outcome.content == "none":
            continue
        storm = outcome.content == "storm_notice"
        held = outcome.content == "held_notice"
        kind = NotificationKind.storm_notice if storm else NotificationKind.deliver
        status = (NotificationStatus.waiting if outcome.channel == "digest" or held
                  else NotificationStatus.pending)
        for person in outcome.recipients:
            if storm:
                payload = _storm_payload(decision, outcome, policy, base_url)
            elif held:
                payload = _held_payload(decision, outcome, message, policy, person, base_url)
            else:
                payload = _message_payload(decision, outcome, message, policy, person,
                                           base_url, flag_url)
            planned.append(Planned(
                recipient=person, kind=kind, status=status, due_at=outcome.at or now,
                payload=payload, lang=language_of(policy, person),
                category="storm" if storm else "held" if held else decision.category,
                idempotency_key=(_storm_key(decision, person) if storm else
                                 f"{key_prefix}:{message.id}:{index}:{person}")))
    return planned


def for_escalation(review_id: int, person: str, message: MessageView, category: str | None,
                   to: str, note: str | None, policy: Policy, due_at: dt.datetime,
                   status: NotificationStatus, base_url: str) -> Planned:
    """A moderator escalated a held message to `to` (HR, or a team such as the police):
    `person` gets the masked text, the moderator's note and the link to the message
    (which shows them no more than the masked text)."""
    reasons = [f"escalated to {'HR' if to == 'hr' else 'team ' + to} by the moderators"]
    if note:
        reasons.append(note)
    payload = {**_names(policy, person, category or "general", None if to == "hr" else to),
               "urgency": "high", "text": message.masked_text,
               "shielded": message.masked_text != message.text,
               "received_at": message.received_at.astimezone(dt.UTC).isoformat(),
               "local_time": local_time(policy, person, message.received_at),
               "link": message_link(base_url, message.id), "author": message.author,
               "reasons": reasons, "flag_url": None, "escalated": True}
    return Planned(recipient=person, kind=NotificationKind.deliver, status=status,
                   due_at=due_at, payload=payload, lang=language_of(policy, person),
                   category=category, idempotency_key=f"escalation:{review_id}:{person}")


def for_schedule(event: str, person: str, *, override_id: int, team: str,
                 start: dt.datetime, end: dt.datetime, by: str, other: str | None,
                 policy: Policy, now: dt.datetime, base_url: str) -> Planned:
    """A swap or override that concerns `person` (`event`: swap_proposed, swap_accepted,
    swap_awaiting_approval, swap_declined, swap_withdrawn, swap_approved, override_added,
    override_removed, override_replaced, override_replacing, override_cancelled). `by` and
    `other` are staff ids (or a role's name); the reason of an override is never in it
    (it may be private: a medical leave)."""
    team_obj = policy.team_index.get(team)
    payload = {"event": event, "team": team_obj.name if team_obj is not None else team,
               "start": local_time(policy, person, start),
               "end": local_time(policy, person, end),
               "by": display_name(policy, by),
               "other": display_name(policy, other) if other else "",
               # Their swaps page (HR's changes to their shifts show on their day).
               "link": f"{base_url}/swaps",
               "override_id": override_id}
    return Planned(recipient=person, kind=NotificationKind.schedule,
                   status=NotificationStatus.pending, due_at=now, payload=payload,
                   lang=language_of(policy, person), category=None,
                   idempotency_key=f"schedule:{override_id}:{event}:{person}")


@dataclass(frozen=True)
class PageView:
    """A page and the event that asks for a notification."""

    page_id: int
    event_seq: int
    step: str                 # paged | escalated | last_resort
    person: str
    category: str | None
    urgency: str
    team: str | None
    escalated_from: str | None


def for_page_event(page: PageView, message: MessageView | None, policy: Policy,
                   now: dt.datetime, base_url: str, ack_url: str, reply_code: str,
                   flag_url: FlagUrl | None = None) -> Planned:
    """An urgent notification for one page event, with its acknowledgement link (and the
    person's flag link when the page has a message)."""
    received = message.received_at if message is not None else now
    payload: dict[str, Any] = {
        **_names(policy, page.person, page.category or "unknown", page.team),
        "urgency": page.urgency,
        "text": message.masked_text if message is not None else "",
        "shielded": message is not None and message.masked_text != message.text,
        "received_at": received.astimezone(dt.UTC).isoformat(),
        "local_time": local_time(policy, page.person, received),
        "link": message_link(base_url, message.id, page.person, flag_url)
        if message is not None else base_url,
        "author": message.author if message is not None else "",
        "reasons": [], "page_id": page.page_id, "step": page.step, "ack_url": ack_url,
        "reply_code": reply_code, "escalated_from": page.escalated_from,
        "flag_url": flag_url_for(flag_url, message.id if message is not None else None,
                                 page.person)}
    return Planned(recipient=page.person, kind=NotificationKind.page,
                   status=NotificationStatus.pending, due_at=now, payload=payload,
                   lang=language_of(policy, page.person), category=page.category,
                   idempotency_key=f"page:{page.page_id}:{page.event_seq}")


@dataclass(frozen=True)
class WaitingItem:
    """A notification waiting for its recipient's digest (`message_id`: what it is about)."""

    id: int
    category: str | None
    payload: dict[str, Any]
    message_id: int | None = None


def digest_payload(person: str, items: Sequence[WaitingItem], policy: Policy, base_url: str,
                   flag_url: FlagUrl | None = None) -> dict[str, Any]:
    """One digest: what waited, grouped by category (most urgent group first, then the
    largest), each group's items oldest first. Each message item carries the person's
    `flag_url`, signed now (or, without a signer, the one its notification carried)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    held = 0
    for item in sorted(items, key=lambda i: i.id):
        p = item.payload
        if p.get("held"):  # held from the person by the moderators: a count, no text
            held += 1
            continue
        if "text" not in p:  # a storm notice: counts, no text
            entry = {"text": f"{p.get('target', '')}: {p.get('distinct_authors', 0)} / "
                             f"{p.get('abusive_messages', 0)}",
                     "local_time": "", "link": p.get("link", base_url),
                     "urgency": "high", "shielded": False, "flag_url": None}
        else:
            entry = {key: p.get(key) for key in ("text", "local_time", "link", "urgency",
                                                 "shielded")}
            entry["flag_url"] = (flag_url_for(flag_url, item.message_id, person)
                                 or p.get("flag_url"))
            if flag_url is not None and item.message_id:
                entry["link"] = message_link(base_url, item.message_id, person, flag_url)
        groups.setdefault(item.category or "other", []).append(entry)

    def rank(pair: tuple[str, list[dict[str, Any]]]) -> tuple[int, int, str]:
        category, entries = pair
        urgent = min(URGENCY_ORDER.get(str(e.get("urgency")), 2) for e in entries)
        return urgent, -len(entries), category

    ordered = sorted(groups.items(), key=rank)
    return {"person": display_name(policy, person), "count": len(items) - held,
            "held": held,
            "groups": [{"category": _group_name(policy, person, c), "count": len(e),
                        "items": e} for c, e in ordered],
            "more_link": f"{base_url}/inbox"}


def _group_name(policy: Policy, person: str, group: str) -> str:
    lang = language_of(policy, person)
    if group in _GROUP_NAMES:
        return _GROUP_NAMES[group].get(lang, _GROUP_NAMES[group]["en"])
    return category_name(policy, group, lang)


def digest_key(person: str, item_ids: Iterable[int]) -> str:
    return f"digest:{person}:{min(item_ids)}"
