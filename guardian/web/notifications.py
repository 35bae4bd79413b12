"""The delivery log: notifications in the outbox and each attempt to deliver them.

HR and admins see every notification; a staff token sees only its own (others' are
404, so that their existence is not revealed). Channel URLs appear only as the sender
stored them, masked; nothing is read from the policy's channels here.
"""

from __future__ import annotations

from aiohttp import web

from guardian.acks.links import redact_links
from guardian.errors import ApiError, FieldError, not_found
from guardian.schemas import DeliveryAttemptPublic, NotificationListPublic, NotificationPublic
from guardian.storage.notifications import (
    LoggedNotification,
    NotificationQuery,
    get_logged,
    list_notifications,
)
from guardian.types import NotificationKind, NotificationStatus, Role
from guardian.web.access import requires
from guardian.web.auth import Principal
from guardian.web.bodies import invalid
from guardian.web.keys import engine_key, principal_key
from guardian.web.params import choices, optional_instant

routes = web.RouteTableDef()
MAX_PAGE = 500
DEFAULT_PAGE = 50
MAX_ID = 2**62


def public(logged: LoggedNotification, *, own: bool = True) -> NotificationPublic:
    """`own`: read by its recipient; anyone else (HR) gets the body without the
    credentials it carries (acknowledgement and flag links, reply codes)."""
    n = logged.notification
    return NotificationPublic(
        id=n.id or 0, recipient=n.recipient, kind=n.kind, status=n.status, lang=n.lang,
        category=n.category, message_id=n.message_id, page_id=n.page_id,
        digest_id=n.digest_id, due_at=n.due_at, sent_at=n.sent_at, created_at=n.created_at,
        attempts=n.attempts, channel_index=n.channel_index, last_error=n.last_error,
        body=n.body if own else redact_links(n.body),
        deliveries=[DeliveryAttemptPublic(at=a.at, channel_index=a.channel_index,
                                          channel_url_masked=a.channel_url_masked, ok=a.ok,
                                          error=a.error, duration_ms=a.duration_ms)
                    for a in logged.attempts])


def _own_staff_id(principal: Principal) -> str | None:
    """None for roles that see everything; the staff id a staff token is limited to."""
    if principal.role != Role.staff:
        return None
    if principal.staff_id is None:
        raise ApiError(403, "forbidden", "This staff token names no member of staff; create "
                       "one with `guardian tokens create --role staff --staff ID`.")
    return principal.staff_id


def _whole(request: web.Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise invalid([FieldError(name, f"must be a whole number from {low} to {high}.")])
    return int(raw)


def _query(request: web.Request, own: str | None) -> NotificationQuery:
    recipient = request.query.get("recipient") or None
    if own is not None and recipient is not None and recipient != own:
        raise ApiError(403, "forbidden", f"A staff token may read only its own notifications "
                       f"(recipient `{own}`).")
    since = optional_instant(request, "since")
    until = optional_instant(request, "until")
    if since is not None and until is not None and until <= since:
        raise invalid([FieldError("until", "must be after `since`.")])
    return NotificationQuery(
        recipient=own or recipient,
        statuses=choices(request, "status", tuple(NotificationStatus)),
        kinds=choices(request, "kind", tuple(NotificationKind)),
        message_id=_whole(request, "message_id", 1, MAX_ID),
        page_id=_whole(request, "page_id", 1, MAX_ID),
        since=since, until=until,
        before_id=_whole(request, "before", 1, MAX_ID))


@routes.get("/api/v1/notifications", name="notifications")
@requires(Role.hr, Role.staff)
async def notifications(request: web.Request) -> web.Response:
    """The delivery log, newest first, with every attempt; staff see only their own."""
    own = _own_staff_id(request[principal_key])
    query = _query(request, own)
    limit = _whole(request, "limit", 1, MAX_PAGE) or DEFAULT_PAGE
    found = await list_notifications(engine=request.app[engine_key], query=query,
                                     limit=limit + 1)
    page = found[:limit]
    body = NotificationListPublic(
        notifications=[public(n, own=own is not None) for n in page],
        next_before=page[-1].notification.id if len(found) > limit else None)
    return web.json_response(text=body.model_dump_json())


@routes.get("/api/v1/notifications/{id}", name="notification")
@requires(Role.hr, Role.staff)
async def notification(request: web.Request) -> web.Response:
    """One notification and its attempts; staff: only their own (others' are 404)."""
    own = _own_staff_id(request[principal_key])
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise invalid([FieldError("id", "must be a whole number.")])
    found = await get_logged(engine=request.app[engine_key], notification_id=int(raw))
    if found is None or (own is not None and found.notification.recipient != own):
        raise not_found(f"Notification {raw}")
    return web.json_response(text=public(found, own=own is not None).model_dump_json())
