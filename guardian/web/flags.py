"""Staff say "this was abusive" through the API (`POST /api/v1/messages/{id}/flag`); the
signed link every notification carries (`/flag/{token}`) is the message page's
(guardian/web/ui/staff.py), which calls the same `flag_message`.

A flag holds the message for the moderators' review (reason `flagged`, one item however
many people flag it; who flagged is in the audit log). It strikes, mutes and drops
nothing: a moderator's `confirm` does.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from guardian.errors import not_found
from guardian.review.queue import Flagged, flag_message, staff_flagger
from guardian.review.rules import status_at
from guardian.schemas import FlaggedItemPublic, FlagIn
from guardian.storage.db import utcnow
from guardian.storage.notifications import was_notified
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.bodies import read_model
from guardian.web.keys import engine_key, principal_key
from guardian.web.params import message_id as parse_message_id

routes = web.RouteTableDef()

MAX_NOTE = 500


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
