"""`/hooks/{id}`: feeds that push to Guardian, each proving itself with its own secret.

- `webhook`: any system (a town's forms, a CRM) posts the ingest body (one message or a
  list) with `X-Guardian-Timestamp` and `X-Guardian-Signature: sha256=HMAC(secret,
  "{timestamp}." + body)`, refused outside five minutes (docs/connectors.md).
- `whatsapp`: WhatsApp Cloud API's `GET` subscription handshake (`hub.verify_token`) and
  its `POST`s signed with the app secret (`X-Hub-Signature-256`).
- `telegram` with a `secret`: the bot's webhook (`setWebhook … secret_token`), checked by
  `X-Telegram-Bot-Api-Secret-Token`.

No bearer token: the secret is the credential, and a wrong one is `401` without saying
which part was wrong beyond one sentence. What comes in is stored exactly as ingest
stores it (idempotent on `(source, external_id)`: a network that retries a delivery adds
nothing), and counted in the connector's status.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from guardian import metrics
from guardian.connectors.factory import credential
from guardian.connectors.signed_webhook import verify
from guardian.connectors.telegram import messages_from_update, telegram_webhook_authentic
from guardian.connectors.whatsapp import (
    messages_from_webhook,
    signature_valid,
    verify_subscription,
)
from guardian.engine.connectors import clean
from guardian.errors import ApiError, FieldError
from guardian.policy.model import Connector
from guardian.schemas import MessageIn
from guardian.storage.connectors import count_pushed
from guardian.storage.messages import announce, store_messages
from guardian.web.access import public
from guardian.web.bodies import read_payload
from guardian.web.keys import (
    clock_key,
    engine_key,
    policy_key,
    settings_key,
    triage_key,
    worker_key,
)
from guardian.web.messages import messages_of

routes = web.RouteTableDef()

PUSHED = ("webhook", "whatsapp", "telegram")


def _connector(request: web.Request) -> Connector:
    policy = request.app[policy_key].policy
    ident = request.match_info["id"]
    for spec in policy.connectors if policy is not None else ():
        if spec.id == ident and spec.enabled and spec.kind in PUSHED and not spec.polled:
            return spec
    raise ApiError(404, "not_found", f"There is no pushed connector `{ident[:64]}` here.")


def _secret(request: web.Request, reference: str | None) -> str:
    from guardian.config.secrets import secret_source

    value = credential(reference, secret_source(request.app[settings_key]))
    if value is None:
        raise ApiError(503, "unavailable", "This connector's secret is not set on the server.")
    return value


def _refused(why: str) -> ApiError:
    return ApiError(401, "unauthorized", why)


async def _json_body(request: web.Request, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "malformed_json", "The body is not JSON.",
                       [FieldError("body", "is not JSON.")]) from None


async def _store(request: web.Request, spec: Connector, messages: list[MessageIn],
                 skipped: int) -> int:
    settings = request.app[settings_key]
    kept = []
    for message in messages:
        cleaned = clean(message, settings.max_text_chars)
        if cleaned is None:
            skipped += 1
        else:
            kept.append(cleaned)
    now = request.app[clock_key]()
    engine = request.app[engine_key]
    # Before the transaction: triage may read the overrides (SQLite has one connection).
    priorities = await request.app[triage_key].priorities(kept, now)
    async with engine.begin() as conn:
        stored = await store_messages(conn=conn, messages=kept, now=now,
                                      priorities=priorities) if kept else []
        new = sum(1 for s in stored if not s.duplicate)
        await count_pushed(conn=conn, name=spec.id, kind=spec.kind, events=new,
                           skipped=skipped, now=now,
                           last_event_at=max((m.created_at for m in kept), default=None))
        if new and worker_key not in request.app:
            await announce(conn)
    metrics.CONNECTOR_EVENTS.labels(connector=spec.id).inc(new)
    metrics.CONNECTOR_SKIPPED.labels(connector=spec.id).inc(skipped)
    metrics.INGESTED.inc(new)
    metrics.DUPLICATES.inc(len(stored) - new)
    if new and worker_key in request.app:
        request.app[worker_key].wake()
    return new


@routes.get("/hooks/{id}", name="hook_handshake")
@public
async def handshake(request: web.Request) -> web.Response:
    """WhatsApp's subscription check: echo `hub.challenge` when the verify token matches."""
    spec = _connector(request)
    if spec.kind != "whatsapp":
        raise ApiError(405, "method_not_allowed", "Only WhatsApp connectors answer GET.")
    challenge = verify_subscription(request.query, _secret(request, spec.verify_token))
    if challenge is None:
        raise ApiError(403, "forbidden", "The verify token does not match.")
    return web.Response(text=challenge, content_type="text/plain")


@routes.post("/hooks/{id}", name="hook")
@public
async def receive(request: web.Request) -> web.Response:
    """A pushed delivery: checked with the connector's secret, then stored."""
    spec = _connector(request)
    secret = _secret(request, spec.secret)
    if spec.kind == "webhook":
        if request.content_type != "application/json":
            raise ApiError(415, "unsupported_media_type",
                           "Send JSON with `Content-Type: application/json`.")
        body = await request.read()
        why = verify(secret, request.headers, body, time.time())
        if why is not None:
            raise _refused(why)
        messages = [m.model_copy(update={"source": spec.id})
                    for m in messages_of(await read_payload(request), request.app[settings_key])]
        new = await _store(request, spec, messages, 0)
        return web.json_response({"stored": new, "received": len(messages)}, status=202)
    body = await request.read()
    if spec.kind == "whatsapp":
        if not signature_valid(body, request.headers.get("X-Hub-Signature-256"), secret):
            raise _refused("The X-Hub-Signature-256 signature does not match the body.")
        payload = await _json_body(request, body)
        found, skipped = (messages_from_webhook(payload) if isinstance(payload, dict)
                          else ([], 1))
    else:
        if not telegram_webhook_authentic(request.headers, secret):
            raise _refused("The X-Telegram-Bot-Api-Secret-Token header does not match.")
        payload = await _json_body(request, body)
        found, skipped = (messages_from_update(payload) if isinstance(payload, dict)
                          else ([], 1))
    new = await _store(request, spec, found, skipped)
    # Networks retry anything but a 200: what could not be read is counted, not refused.
    return web.json_response({"stored": new, "received": len(found)})
