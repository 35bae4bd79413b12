"""Staff say "this was abusive": the signed link every notification about a message carries
(`/flag/{token}`) and the API (`POST /api/v1/messages/{id}/flag`).

A flag holds the message for the moderators' review (reason `flagged`, one item however
many people flag it; who flagged is in the audit log). It strikes, mutes and drops
nothing: a moderator's `confirm` does. Opening the link only shows the message, masked,
and a button, because chat apps open links to preview them; the button flags.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from aiohttp import web

from guardian.acks.links import FlagClaim, LinkError, read_flag_token
from guardian.decide.lifecycle import NEXT, is_request
from guardian.errors import ApiError, not_found
from guardian.notify.compose import language_of
from guardian.notify.render import resolve_language
from guardian.review.queue import Flagged, flag_message, staff_flagger
from guardian.review.rules import status_at
from guardian.schemas import FlaggedItemPublic, FlagIn
from guardian.storage.db import utcnow
from guardian.storage.messages import read_message
from guardian.storage.models import Message
from guardian.storage.notifications import was_notified
from guardian.storage.requests import request_state
from guardian.types import RequestStatus, ReviewStatus, Role
from guardian.web.access import public, requires
from guardian.web.bodies import read_model
from guardian.web.keys import engine_key, policy_key, principal_key, settings_key
from guardian.web.pages import html_page
from guardian.web.params import message_id as parse_message_id
from guardian.web.requests import move_request

routes = web.RouteTableDef()

MAX_NOTE = 500


@dataclass(frozen=True)
class _Words:
    heading: str
    wrote: str
    hidden: str
    note: str
    button: str
    done: str
    again: str
    reviewed: str
    too_long: str
    gone: str
    status: str
    statuses: dict[str, str]
    move: str
    reason: str
    moved: str


WORDS = {
    "es": _Words(
        heading="¿Es un mensaje abusivo?",
        wrote="{author} escribió ({when}):",
        hidden="Las partes ofensivas están ocultas.",
        note=f"Nota para los moderadores (opcional, hasta {MAX_NOTE} caracteres):",
        button="Sí, márcalo como abusivo",
        done="Gracias. Lo has marcado como abusivo: los moderadores lo revisarán. "
             "No hace falta que hagas nada más.",
        again="Ya lo habías marcado como abusivo: los moderadores lo revisarán.",
        reviewed="Gracias. Los moderadores ya han revisado este mensaje.",
        too_long=f"La nota tiene más de {MAX_NOTE} caracteres; acórtala y vuelve a "
                 "intentarlo.",
        gone="Este mensaje ya no existe.",
        status="Estado de la petición: {status}",
        statuses={"received": "recibida", "acknowledged": "vista", "in_progress": "en curso",
                  "resolved": "resuelta", "closed": "cerrada"},
        move="Marcar como {status}",
        reason="Motivo para cerrarla (obligatorio; el vecino no lo ve):",
        moved="Hecho: la petición está ahora {status}."),
    "en": _Words(
        heading="Is this message abusive?",
        wrote="{author} wrote ({when}):",
        hidden="The abusive parts are hidden.",
        note=f"A note for the moderators (optional, up to {MAX_NOTE} characters):",
        button="Yes, flag it as abusive",
        done="Thank you. You flagged it as abusive: the moderators will look at it. "
             "There is nothing else you need to do.",
        again="You had already flagged it as abusive: the moderators will look at it.",
        reviewed="Thank you. The moderators have already reviewed this message.",
        too_long=f"The note is longer than {MAX_NOTE} characters; shorten it and try again.",
        gone="This message no longer exists.",
        status="Request status: {status}",
        statuses={"received": "received", "acknowledged": "seen", "in_progress": "in progress",
                  "resolved": "resolved", "closed": "closed"},
        move="Mark as {status}",
        reason="Why it is closed (required; the citizen does not see it):",
        moved="Done: the request is now {status}."),
}


def _language(request: web.Request, person: str | None) -> str:
    """The person's first language when the policy knows them (Spanish otherwise)."""
    policy = request.app[policy_key].policy if policy_key in request.app else None
    if policy is None or person is None:
        return resolve_language(None)
    return resolve_language(language_of(policy, person))


async def _claimed_message(request: web.Request) -> tuple[Message, FlagClaim]:
    """The message a link names and the link's claim; LinkError says why there is none."""
    claim = read_flag_token(request.app[settings_key].secret_key, request.match_info["token"])
    async with request.app[engine_key].connect() as conn:
        found = await read_message(conn=conn, message_id=claim.message_id)
    if found is None:
        raise LinkError(WORDS["en"].gone)
    return found, claim


def _refused(exc: LinkError, lang: str) -> web.Response:
    return html_page(f"<p>{html.escape(str(exc))}</p>", 404, lang=lang)


@routes.get("/flag/{token}", name="flag_link")
@public
async def flag_link(request: web.Request) -> web.Response:
    """The link in a notification: shows the message (masked) and a button. Opening it
    changes nothing (chat apps open links to preview them); the button flags."""
    try:
        message, claim = await _claimed_message(request)
    except LinkError as exc:
        return _refused(exc, "en")
    lang = _language(request, claim.person)
    words = WORDS[lang]
    # Never the raw text: the masked one (what the notification showed).
    text = message.masked_text if message.masked_text is not None else ""
    when = message.received_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    hidden = (f"<p><i>{html.escape(words.hidden)}</i></p>"
              if text != message.text else "")
    return html_page(
        f"<h1>{html.escape(words.heading)}</h1>"
        f"<p>{html.escape(words.wrote.format(author=message.author_handle, when=when))}</p>"
        f"<blockquote>{html.escape(text)}</blockquote>{hidden}"
        f"{await _status_section(request, message, words)}"
        '<form method="post">'
        f'<p><label>{html.escape(words.note)}<br><textarea name="note" rows="3" cols="40" '
        f'maxlength="{MAX_NOTE}"></textarea></label></p>'
        '<button type="submit" style="font-size: 1.5em;">'
        f"{html.escape(words.button)}</button></form>", lang=lang)


async def _status_section(request: web.Request, message: Message, words: _Words) -> str:
    """For a request: where it is, and a button for each move allowed from there (the
    same moves as `POST /api/v1/messages/{id}/status`)."""
    if not is_request(message.decision):
        return ""
    async with request.app[engine_key].connect() as conn:
        state = await request_state(conn=conn, message_id=message.id or 0)
    current = RequestStatus(state.status) if state else RequestStatus.received
    shown = words.statuses[current.value]
    buttons = "".join(
        f'<button type="submit" name="status" value="{s.value}">'
        f"{html.escape(words.move.format(status=words.statuses[s.value]))}</button> "
        for s in sorted(NEXT[current], key=lambda s: list(RequestStatus).index(s))
        if s != RequestStatus.closed)
    closing = (f'<p><label>{html.escape(words.reason)}<br><input name="reason" '
               f'maxlength="500" size="40"></label> <button type="submit" name="status" '
               f'value="closed">{html.escape(words.move.format(status=words.statuses["closed"]))}'
               "</button></p>" if RequestStatus.closed in NEXT[current] else "")
    action = f"/flag/{html.escape(request.match_info['token'])}/status"
    form = (f'<form method="post" action="{action}"><p>{buttons}</p>{closing}</form>'
            if buttons or closing else "")
    return f"<h2>{html.escape(words.status.format(status=shown))}</h2>{form}"


@routes.post("/flag/{token}/status", name="request_link_move")
@public
async def request_link_move(request: web.Request) -> web.Response:
    """Move the request from the notification's link: the signed token names the message
    and the person it was sent to (who is recorded as having moved it)."""
    try:
        message, claim = await _claimed_message(request)
    except LinkError as exc:
        return _refused(exc, "en")
    lang = _language(request, claim.person)
    words = WORDS[lang]
    form = await request.post()
    raw_status, raw_reason = form.get("status"), form.get("reason")
    reason = raw_reason.strip() if isinstance(raw_reason, str) else ""
    if not isinstance(raw_status, str) or raw_status not in RequestStatus.__members__:
        return html_page("<p>?</p>", 422, lang=lang)
    if not is_request(message.decision):
        return html_page(f"<p>{html.escape(words.gone)}</p>", 404, lang=lang)
    try:
        after, _ = await move_request(request.app, message, RequestStatus(raw_status),
                                      reason or None, True, f"staff:{claim.person}")
    except ApiError as exc:
        return html_page(f"<p>{html.escape(exc.message)}</p>", exc.status, lang=lang)
    return html_page(f"<p>{html.escape(words.moved.format(status=words.statuses[after.status]))}"
                     "</p>", lang=lang)


@routes.post("/flag/{token}", name="flag_link_confirm")
@public
async def flag_link_confirm(request: web.Request) -> web.Response:
    """Flag from the link: the signed token names the message and the person."""
    try:
        message, claim = await _claimed_message(request)
    except LinkError as exc:
        return _refused(exc, "en")
    lang = _language(request, claim.person)
    words = WORDS[lang]
    form = await request.post()
    raw_note = form.get("note")
    note = raw_note.strip() if isinstance(raw_note, str) else ""
    if len(note) > MAX_NOTE:
        return html_page(f"<p>{html.escape(words.too_long)}</p>", 422, lang=lang)
    async with request.app[engine_key].begin() as conn:
        flagged = await flag_message(conn=conn, message_id=message.id or 0,
                                     flagger=staff_flagger(claim.person), via="link",
                                     note=note or None)
    if flagged is None:
        return html_page(f"<p>{html.escape(words.gone)}</p>", 404, lang=lang)
    if flagged.item.status == ReviewStatus.decided.value:
        answer = words.reviewed
    else:
        answer = words.done if flagged.new else words.again
    return html_page(f"<p>{html.escape(answer)}</p>", lang=lang)


def flagged_json(flagged: Flagged, now: dt.datetime) -> str:
    item = flagged.item
    return FlaggedItemPublic(
        id=item.id or 0, message_id=item.message_id, reason=item.reason, level=item.level,
        category=item.category, target=item.target, status=status_at(item, now).value,
        decision=item.decision, created_at=item.created_at).model_dump_json()


async def _flag_body(request: web.Request) -> FlagIn:
    """The optional body: none at all is a flag without a note."""
    if not request.body_exists:
        return FlagIn()
    return await read_model(request, FlagIn)


@routes.post("/api/v1/messages/{id}/flag", name="flag_message")
@requires(Role.staff, Role.moderator, Role.hr)
async def flag(request: web.Request) -> web.Response:
    """Say a message was abusive: it goes to the moderators' review queue (reason
    `flagged`). Staff may flag only messages they were notified of (others are 404, as
    for reading them); a repeat by the same person is 200 with the same item."""
    message_id = parse_message_id(request)
    data = await _flag_body(request)
    principal = request[principal_key]
    engine = request.app[engine_key]
    if principal.role == Role.staff:
        if principal.staff_id is None or not await was_notified(
                engine=engine, recipient=principal.staff_id, message_id=message_id):
            raise not_found(f"Message {message_id}")  # as if it did not exist
        flagger = staff_flagger(principal.staff_id)
    else:
        flagger = principal.actor
    async with engine.begin() as conn:
        flagged = await flag_message(conn=conn, message_id=message_id, flagger=flagger,
                                     via="api", note=data.note or None,
                                     details={"token": principal.actor})
    if flagged is None:
        raise not_found(f"Message {message_id}")
    return web.json_response(text=flagged_json(flagged, utcnow()),
                             status=202 if flagged.new else 200)
