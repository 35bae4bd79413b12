"""Posting a reply to a citizen on the network they wrote in: the sender's transport for
`citizen_reply` notifications (guardian/notify/sender.py).

- Mastodon: `POST /api/v1/statuses` with `in_reply_to_id` and the policy's visibility
  (`public` or `direct`), mentioning the author so they are told; Mastodon's own
  `Idempotency-Key` header makes a repeated send post once. Scope `write:statuses`.
- Telegram: `sendMessage` to the chat, as a reply to the citizen's message (`reply_parameters`).
- Bluesky: `createSession`, `app.bsky.feed.getPosts` for the post's cid and its thread's
  root, then `com.atproto.repo.createRecord` with the reply's root and parent.
- X: `POST /2/tweets` in reply to the post, signed with OAuth 1.0a in the town account's
  name (`oauth1`; the bearer token that reads mentions cannot post).
- WhatsApp Cloud API: `POST /{phone-number-id}/messages`, a text in reply to the citizen's
  message (`context.message_id`). WhatsApp allows free text only within 24 hours of the
  citizen's last message (its "customer service window"): an acknowledgement always fits;
  word of a fix days later is refused (131047) and not retried.

A 4xx other than 429 is permanent (the post was deleted, the bot was blocked): not retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.connectors.bluesky_reply import post_bluesky_reply
from guardian.connectors.factory import credential
from guardian.connectors.x_reply import OAuth1, post_x_reply
from guardian.notify.sender import SendResult
from guardian.policy.model import Connector, Policy
from guardian.storage.messages import messages_table
from guardian.storage.models import Message, Notification

WHATSAPP_API = "https://graph.facebook.com/v21.0"


# A message's `source` and the kind of connector that reads it, where they differ.
_KIND_OF_SOURCE = {"twitter": "x"}


def connector_for(policy: Policy, source: str) -> Connector | None:
    """The connector that can answer a message from `source`, if any."""
    kind = _KIND_OF_SOURCE.get(source, source)
    return next((c for c in policy.connectors if c.kind == kind and replyable(c)), None)


def replyable(spec: Connector) -> bool:
    """Whether Guardian can answer citizens through this connector."""
    if not spec.enabled:
        return False
    if spec.kind in ("mastodon", "telegram"):
        return spec.token is not None
    if spec.kind == "whatsapp":
        return spec.token is not None and spec.account is not None
    if spec.kind == "bluesky":
        return spec.password is not None and spec.account is not None
    if spec.kind == "x":
        return spec.oauth1 is not None
    return False


class CitizenReplier:
    def __init__(self, engine: AsyncEngine, policy: Callable[[], Policy | None],
                 environ: Mapping[str, str]) -> None:
        self.engine = engine
        self.policy = policy
        self.environ = environ

    async def __call__(self, notification: Notification) -> SendResult:
        started = time.perf_counter()
        policy = self.policy()
        message = await self._message(notification.message_id)
        if policy is None or message is None:
            return SendResult(False, "reply:", "the message or the policy is gone", 0.0,
                              permanent=True)
        spec = connector_for(policy, message.source)
        if spec is None:
            return SendResult(False, f"reply:{message.source}", "no connector for "
                              f"{message.source} in the policy", 0.0, permanent=True)
        visibility = policy.replies.visibility.get(message.source,  # type: ignore[call-overload]
                                                   "public")
        try:
            async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=30)) as session:
                if spec.kind == "mastodon":
                    status, error = await self._mastodon(session, spec, message, notification,
                                                         visibility)
                elif spec.kind == "bluesky":
                    status, error = await post_bluesky_reply(
                        session, spec.url or "https://bsky.social", spec.account or "",
                        credential(spec.password, self.environ) or "",
                        message.external_id, notification.body, lang=notification.lang)
                elif spec.kind == "x":
                    credentials = OAuth1.parse(credential(spec.oauth1, self.environ) or "")
                    if credentials is None:
                        return SendResult(False, f"reply:{spec.id}", "the X reply credential "
                                          "is not CONSUMER_KEY:CONSUMER_SECRET:ACCESS_TOKEN:"
                                          "ACCESS_SECRET", 0.0, permanent=True)
                    status, error = await post_x_reply(
                        session, spec.url or "https://api.x.com", credentials,
                        message.external_id, notification.body)
                elif spec.kind == "whatsapp":
                    status, error = await self._whatsapp(session, spec, message, notification)
                else:
                    status, error = await self._telegram(session, spec, message, notification)
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, error = 0, f"{type(exc).__name__} reaching {spec.kind}"
        elapsed = (time.perf_counter() - started) * 1000
        shown = f"reply:{spec.id}"
        if 200 <= status < 300:
            return SendResult(True, shown, None, elapsed)
        permanent = 400 <= status < 500 and status != 429
        return SendResult(False, shown, error or f"{spec.kind} answered {status}", elapsed,
                          permanent=permanent)

    async def _message(self, message_id: int | None) -> Message | None:
        if message_id is None:
            return None
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(messages_table).where(
                messages_table.c.id == message_id))).mappings().first()
        return Message.model_validate(dict(row)) if row else None

    async def _mastodon(self, session: aiohttp.ClientSession, spec: Connector,
                        message: Message, notification: Notification,
                        visibility: str) -> tuple[int, str | None]:
        token = credential(spec.token, self.environ) or ""
        mention = message.author_handle if message.author_handle.startswith("@") else ""
        body = {"status": f"{mention} {notification.body}".strip(),
                "in_reply_to_id": message.external_id,
                "visibility": "direct" if visibility == "direct" else "public",
                "language": notification.lang}
        async with session.post(f"{(spec.url or '').rstrip('/')}/api/v1/statuses", json=body,
                                headers={"Authorization": f"Bearer {token}",
                                         "Idempotency-Key": notification.idempotency_key}
                                ) as response:
            return response.status, None

    async def _whatsapp(self, session: aiohttp.ClientSession, spec: Connector,
                        message: Message, notification: Notification) -> tuple[int, str | None]:
        token = credential(spec.token, self.environ) or ""
        api = (spec.url or WHATSAPP_API).rstrip("/")
        body = {"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": message.author_handle.lstrip("+"), "type": "text",
                "text": {"body": notification.body, "preview_url": False},
                "context": {"message_id": message.external_id}}
        async with session.post(f"{api}/{spec.account}/messages", json=body,
                                headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status < 300:
                return response.status, None
            try:
                error = (await response.json(content_type=None)).get("error") or {}
            except ValueError:
                error = {}
            code = error.get("code") if isinstance(error, dict) else None
            if code == 131047:  # outside the 24-hour window: retrying will not help
                return 400, "WhatsApp: more than 24 hours since the citizen wrote (131047)"
            return response.status, (f"WhatsApp error {code}" if code else None)

    async def _telegram(self, session: aiohttp.ClientSession, spec: Connector,
                        message: Message, notification: Notification) -> tuple[int, str | None]:
        chat, _, message_id = message.external_id.partition(":")
        if not chat or not message_id.isdigit():
            return 400, "not a Telegram message id"
        token = credential(spec.token, self.environ) or ""
        api = (spec.url or "https://api.telegram.org").rstrip("/")
        body = {"chat_id": chat, "text": notification.body,
                "reply_parameters": {"message_id": int(message_id),
                                     "allow_sending_without_reply": True}}
        async with session.post(f"{api}/bot{token}/sendMessage", json=body) as response:
            # The URL holds the token: never in the error.
            return response.status, None
