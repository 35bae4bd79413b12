"""Telegram: messages sent to the town hall's bot, read by long polling or by webhook.

Bot API (https://core.telegram.org/bots/api):

- Polling, `getUpdates` (https://core.telegram.org/bots/api#getupdates): `POST
  {api}/bot{token}/getUpdates` with `offset`, `timeout` (long polling: the server holds the
  request until an update arrives or the timeout passes), `allowed_updates`. An update is
  confirmed, and forgotten by Telegram, once getUpdates is called with an offset above its
  `update_id`; so the cursor is the next offset, and a crash before the cursor is stored
  only refetches what was not confirmed (ingest is idempotent): nothing lost, nothing twice.
  A negative offset returns the last `-offset` updates and forgets all earlier ones.
- Webhook (https://core.telegram.org/bots/api#setwebhook): Telegram POSTs each `Update`
  with the `secret_token` given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`.
- Errors: `{"ok": false, "error_code": N, "description": ...}`; on flood control 429 with
  `parameters.retry_after` (https://core.telegram.org/bots/api#responseparameters); 409 while
  a webhook is set (getUpdates and webhooks exclude each other) or another poller runs.

The bot token is part of every URL path: it is redacted from every message this module
raises or logs (aiohttp's own exceptions print the URL, so they are never chained).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from guardian.connectors.base import (
    Batch,
    ConnectorError,
    NotAuthorised,
    RateLimited,
    raise_for_status,
)
from guardian.schemas import AuthorIn, MessageIn

log = logging.getLogger(__name__)

SOURCE = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# getUpdates returns at most this many updates (the Bot API's own maximum).
LIMIT = 100
# Beyond the long-polling timeout, how long the HTTP request itself may take.
HTTP_MARGIN_SECONDS = 10
REDACTED = "<token>"
# MessageIn's pattern for `lang`: a `language_code` that does not fit is dropped, not fatal.
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]+)*")
_MAX_MENTIONS = 50


def _int(value: object) -> int | None:
    """An integer from JSON, refusing booleans (which Python counts as integers)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (a plain dict is not case-insensitive)."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def telegram_webhook_authentic(headers: Mapping[str, str], secret_token: str) -> bool:
    """Whether a webhook POST carries the `secret_token` given to setWebhook: anyone who
    finds the webhook URL could otherwise post invented messages. An empty configured
    secret accepts nothing."""
    given = _header(headers, SECRET_HEADER)
    if not secret_token or given is None:
        return False
    return hmac.compare_digest(given.encode(), secret_token.encode())


def _mentions(text: str, entities: object) -> list[str]:
    """`@username` mentions from the message entities, whose offsets count UTF-16 units."""
    if not isinstance(entities, list):
        return []
    units = text.encode("utf-16-le")
    found: list[str] = []
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        offset, length = _int(entity.get("offset")), _int(entity.get("length"))
        if offset is None or length is None or offset < 0 or length < 2:
            continue
        handle = units[offset * 2:(offset + length) * 2].decode("utf-16-le", "replace").strip()
        if handle.startswith("@") and len(handle) <= 256 and handle not in found:
            found.append(handle)
        if len(found) == _MAX_MENTIONS:
            break
    return found


def _message(message: dict[str, Any]) -> MessageIn | None:
    """One Telegram `Message` as a MessageIn; None when it has no text (a sticker, a photo
    without caption: nothing to read, not an error). Raises on a malformed message."""
    text = message.get("text")
    entities = message.get("entities")
    if not isinstance(text, str):
        text, entities = message.get("caption"), message.get("caption_entities")
    if not isinstance(text, str) or not text.strip():
        return None
    chat, sender = message["chat"], message.get("from")
    chat_id, message_id, date = _int(chat["id"]), _int(message["message_id"]), _int(
        message["date"])
    if chat_id is None or message_id is None or date is None:
        raise ValueError("chat.id, message_id and date must be integers")
    if not isinstance(sender, dict):
        # Sent on behalf of a chat (an anonymous group admin, a channel): the chat speaks.
        sender = message["sender_chat"]
    sender_id = _int(sender["id"])
    if sender_id is None:
        raise ValueError("from.id must be an integer")
    username = sender.get("username")
    handle = f"@{username}" if isinstance(username, str) and username else f"tg:{sender_id}"
    names = [sender.get(k) for k in ("first_name", "last_name", "title")]
    name = " ".join(n.strip() for n in names if isinstance(n, str) and n.strip()) or None
    code = sender.get("language_code")
    reply = message.get("reply_to_message")
    reply_id = _int(reply.get("message_id")) if isinstance(reply, dict) else None
    return MessageIn(
        source=SOURCE,
        external_id=f"{chat_id}:{message_id}",
        author=AuthorIn(handle=handle, name=name[:256] if name else None),
        text=text,
        created_at=dt.datetime.fromtimestamp(date, dt.UTC),
        mentions=_mentions(text, entities),
        in_reply_to=f"{chat_id}:{reply_id}" if reply_id is not None else None,
        url=None,  # private chats and most groups have no public link
        lang=code if isinstance(code, str) and _LANG.fullmatch(code) else None,
    )


def messages_from_update(update: dict[str, Any]) -> tuple[list[MessageIn], int]:
    """The messages in one `Update` and how many were malformed (0 or 1): shared by polling
    and the webhook. Updates of other kinds (edits, reactions, from before `allowed_updates`
    took effect) and messages without text give nothing and are not malformed."""
    if not isinstance(update, dict) or _int(update.get("update_id")) is None:
        log.warning("telegram: an update without an integer update_id was skipped")
        return [], 1
    message = update.get("message")
    if message is None:
        return [], 0
    try:
        if not isinstance(message, dict):
            raise TypeError("message is not an object")
        found = _message(message)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        # ValueError covers pydantic's ValidationError. The text is not logged: personal data.
        log.warning("telegram: malformed message in update %s skipped: %s",
                    update.get("update_id"), type(exc).__name__)
        return [], 1
    return ([found] if found is not None else []), 0


class TelegramConnector:
    """Polls a bot's updates with getUpdates. The first run (no cursor) starts from now: it
    asks for the latest update only (offset -1, which also makes Telegram forget the older
    ones), returns no messages and stores the offset after it; an empty queue gives the
    cursor "0" (the earliest unconfirmed update), so nothing that arrives next is missed."""

    # Each fetch waits (long polling) for the next update itself: the engine asks again at
    # once rather than after its poll interval.
    long_polls = True

    def __init__(self, token: str, *, api: str = "https://api.telegram.org",
                 timeout: int = 25) -> None:
        self._token = token
        self._api = api.rstrip("/")
        self._timeout = timeout

    @property
    def kind(self) -> str:
        return SOURCE

    def _redact(self, text: str) -> str:
        return text.replace(self._token, REDACTED) if self._token else text

    async def fetch(self, session: aiohttp.ClientSession, cursor: str | None) -> Batch:
        """Updates after `cursor` (the next offset), waiting up to `timeout` seconds for one."""
        if cursor is None:
            updates = await self._get_updates(session, offset=-1, wait=0)
            ids = [i for u in updates
                   if isinstance(u, dict) and (i := _int(u.get("update_id"))) is not None]
            start = str(max(ids) + 1) if ids else "0"
            log.info("telegram: first run, starting from now (offset %s)", start)
            return Batch(messages=[], cursor=start)
        try:
            offset = int(cursor)
        except ValueError:
            # The earliest unconfirmed update: repeats are dropped by ingest, none is lost.
            log.warning("telegram: unreadable cursor %r, reading from the earliest "
                        "unconfirmed update", cursor[:32])
            offset = 0
        updates = await self._get_updates(session, offset=offset, wait=self._timeout)
        messages: list[MessageIn] = []
        skipped = 0
        last = offset - 1
        for update in updates:
            found, malformed = messages_from_update(update)
            messages.extend(found)
            skipped += malformed
            update_id = _int(update.get("update_id")) if isinstance(update, dict) else None
            if update_id is not None:
                last = max(last, update_id)
        # Telegram sends updates in update_id order: the messages are oldest first.
        new_cursor = str(last + 1) if last >= offset else str(offset)
        return Batch(messages=messages, cursor=new_cursor, skipped=skipped,
                     more=len(updates) >= LIMIT)

    async def _get_updates(self, session: aiohttp.ClientSession, *, offset: int,
                           wait: int) -> list[Any]:
        """One getUpdates call: its `result`, or the ConnectorError its answer means."""
        body = {"offset": offset, "timeout": wait, "limit": LIMIT,
                "allowed_updates": ["message"]}
        result = await self._call(session, "getUpdates", body, wait)
        if not isinstance(result, list):
            raise ConnectorError("telegram getUpdates: the result is not a list")
        return result

    async def check(self, session: aiohttp.ClientSession) -> None:
        """Credentials and reach, touching no update: `getMe` (a `getUpdates` here would
        confirm, and so drop, what the running service has not read yet)."""
        await self._call(session, "getMe", {}, 0)

    async def _call(self, session: aiohttp.ClientSession, method: str, body: dict[str, Any],
                    wait: int) -> Any:
        """One Bot API call: its `result`, or the ConnectorError its answer means."""
        what = f"telegram {method}"
        url = f"{self._api}/bot{self._token}/{method}"
        failure: str | None = None
        try:
            async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(
                    total=wait + HTTP_MARGIN_SECONDS)) as response:
                status, headers = response.status, response.headers
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = f"{what}: {type(exc).__name__}: {self._redact(str(exc))[:200]}"
        if failure is not None:
            # Raised outside the `except`, so not even as `__context__`: aiohttp's exceptions
            # carry the URL, and with it the token.
            raise ConnectorError(failure)
        if not isinstance(answer, dict):
            raise_for_status(status, headers, dt.datetime.now(dt.UTC), what)
            raise ConnectorError(f"{what}: the answer (HTTP {status}) is not a JSON object")
        if answer.get("ok") is True and "result" in answer:
            return answer["result"]
        code = _int(answer.get("error_code")) or status
        raw = answer.get("description")
        description = self._redact(raw)[:200] if isinstance(raw, str) else "no description"
        parameters = answer.get("parameters")
        retry = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if code == 429:
            seconds = float(retry) if isinstance(retry, int | float) else None
            raise RateLimited(f"{what}: flood control (429): {description}", seconds)
        if code in (401, 403, 404):
            # Telegram answers 401 to an unknown token and 404 to one it cannot even parse.
            raise NotAuthorised(f"{what}: {code}: the bot token was refused ({description}); "
                                "check the token configured for this bot")
        if code == 409:
            raise ConnectorError(
                f"{what}: 409 conflict ({description}): getUpdates cannot run while a webhook "
                "is set for this bot (call deleteWebhook, or use webhook mode) or while "
                "another process polls the same bot")
        if not 200 <= status < 300:
            raise_for_status(status, headers, dt.datetime.now(dt.UTC), f"{what}: {description}")
        raise ConnectorError(f"{what}: unexpected answer ({code}): {description}")
