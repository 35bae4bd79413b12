"""The moderators' review queue: list (masked), claim, reveal (claim holder), decide, bulk."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from guardian.engine.escalated import tell_escalation
from guardian.errors import ApiError, FieldError, not_found
from guardian.notify.paging import PageNotifier
from guardian.policy.harassment import LEVELS
from guardian.policy.model import Policy
from guardian.review.decisions import Decided, decide_review
from guardian.review.exposure import ExposureLimitReached, exposure_on
from guardian.review.queue import (
    QueuedItem,
    ReviewConflict,
    claim_review,
    get_review,
    list_review,
    reveal_review,
    unclaim_review,
)
from guardian.review.rules import EXPOSING_LEVELS, AuthorStatus
from guardian.schemas import (
    AuthorStatusPublic,
    ExposurePublic,
    ReviewBulkIn,
    ReviewDecisionIn,
    ReviewItemDetail,
    ReviewItemPublic,
)
from guardian.storage.db import utcnow
from guardian.storage.overrides import active_overrides
from guardian.types import ReviewDecision, ReviewStatus, Role
from guardian.web.access import requires
from guardian.web.bodies import invalid, read_model
from guardian.web.keys import engine_key, principal_key, settings_key
from guardian.web.overrides import policy_of
from guardian.web.params import choices

routes = web.RouteTableDef()
MAX_PAGE = 200
MAX_AGE_MINUTES = 366 * 24 * 60
_DAY = dt.timedelta(days=1)
# The team an escalation to `police` goes to: the one owning this category.
# TODO: a `police_liaison` team in the policy, once the policy model has one.
POLICE_CATEGORY = "police"


def limit_of(policy: Policy) -> int:
    return policy.exposure_limits.max_abusive_items_per_day


def limit_sentence(limit: int) -> str:
    return (f"You have reached today's limit of {limit} abusive or threatening items "
            "(policy `exposure_limits.max_abusive_items_per_day`); leave this item to another "
            "moderator. The count starts again at midnight UTC.")


def _why_not_assignable(queued: QueuedItem, moderator: str, exposure: int, limit: int,
                        now: dt.datetime) -> str | None:
    status, holder = queued.status_at(now), queued.holder_at(now)
    if status == ReviewStatus.decided:
        return "It is already decided."
    if holder is not None and holder != moderator:
        return f"{holder} holds its claim."
    if queued.item.level in EXPOSING_LEVELS and holder != moderator and exposure >= limit:
        return limit_sentence(limit)
    return None


def public(queued: QueuedItem, moderator: str, exposure: int, limit: int,
           now: dt.datetime) -> ReviewItemPublic:
    item = queued.item
    why = _why_not_assignable(queued, moderator, exposure, limit, now)
    live = queued.status_at(now) == ReviewStatus.claimed
    return ReviewItemPublic(
        id=item.id or 0, message_id=item.message_id, source=queued.source,
        author_handle=queued.author_handle, masked_text=queued.masked_text,
        reason=item.reason, level=item.level, category=item.category, target=item.target,
        status=queued.status_at(now).value, claimed_by=item.claimed_by if live else None,
        claim_expires_at=item.claim_expires_at if live else None, assignable=why is None,
        not_assignable_because=why, decision=item.decision, escalated_to=item.escalated_to,
        released=item.released, decided_by=item.decided_by, decided_at=item.decided_at,
        note=item.note, created_at=item.created_at)


def _author(status: AuthorStatus) -> AuthorStatusPublic:
    return AuthorStatusPublic(source=status.source, handle=status.handle,
                              strikes=status.strikes, muted_until=status.muted_until,
                              blocked=status.blocked)


def _whole(request: web.Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid([FieldError(name, f"must be a whole number from {low} to {high}.")])
    return int(raw)


def _item_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise invalid([FieldError("id", "must be a whole number.")])
    return int(raw)


async def _exposure(request: web.Request, moderator: str, now: dt.datetime) -> int:
    async with request.app[engine_key].connect() as conn:
        return await exposure_on(conn=conn, moderator=moderator, day=now.date())


@routes.get("/api/v1/review", name="review_queue")
@requires(Role.moderator)
async def review_queue(request: web.Request) -> web.Response:
    """The queue, masked text only; `assignable` says whether the caller may claim each."""
    statuses = choices(request, "status", tuple(ReviewStatus)) or ["open", "claimed"]
    levels = choices(request, "level", LEVELS)
    order = request.query.get("order", "oldest")
    if order not in ("oldest", "newest"):
        raise invalid([FieldError("order", "must be `oldest` or `newest`.")])
    older = _whole(request, "older_than", 0, MAX_AGE_MINUTES)
    newer = _whole(request, "newer_than", 0, MAX_AGE_MINUTES)
    limit = _whole(request, "limit", 1, MAX_PAGE) or 50
    cursor = _whole(request, "cursor", 0, 2**62)
    limit_per_day = limit_of(policy_of(request))
    moderator = request[principal_key].actor
    now = utcnow()
    found = await list_review(
        engine=request.app[engine_key], statuses=[ReviewStatus(s) for s in statuses],
        levels=levels, category=request.query.get("category") or None,
        target=request.query.get("target") or None,
        created_before=now - dt.timedelta(minutes=older) if older is not None else None,
        created_after=now - dt.timedelta(minutes=newer) if newer is not None else None,
        newest_first=order == "newest", after_id=cursor, limit=limit + 1, now=now)
    exposure = await _exposure(request, moderator, now)
    page = found[:limit]
    return web.json_response({
        "items": [public(q, moderator, exposure, limit_per_day, now).model_dump(mode="json")
                  for q in page],
        "next_cursor": page[-1].item.id if len(found) > limit else None,
        "exposure": {"abusive_items": exposure, "limit": limit_per_day},
    })


@routes.get("/api/v1/review/{id}", name="review_item")
@requires(Role.moderator)
async def review_item(request: web.Request) -> web.Response:
    """One item; its raw text only for the moderator holding the claim (counts exposure)."""
    item_id = _item_id(request)
    limit = limit_of(policy_of(request))
    moderator = request[principal_key].actor
    now = utcnow()
    async with request.app[engine_key].begin() as conn:
        reveal = await reveal_review(conn=conn, item_id=item_id, moderator=moderator,
                                     exposure_limit=limit, now=now)
    if reveal is None:
        raise not_found(f"Review item {item_id}")
    hidden = None
    if reveal.withheld == "limit":
        hidden = limit_sentence(limit)
    elif reveal.withheld == "not_claimed":
        hidden = f"Claim the item (POST /api/v1/review/{item_id}/claim) to read its text."
    summary = public(reveal.queued, moderator, reveal.exposure, limit, now)
    detail = ReviewItemDetail(**summary.model_dump(), text=reveal.queued.text,
                              text_hidden_because=hidden)
    return web.json_response(text=detail.model_dump_json())


async def _current(request: web.Request, item_id: int, limit: int) -> ReviewItemPublic:
    """The item as the caller sees it now (after a change)."""
    moderator = request[principal_key].actor
    now = utcnow()
    async with request.app[engine_key].connect() as conn:
        queued = await get_review(conn=conn, item_id=item_id)
        exposure = await exposure_on(conn=conn, moderator=moderator, day=now.date())
    if queued is None:
        raise not_found(f"Review item {item_id}")
    return public(queued, moderator, exposure, limit, now)


def _json(item: ReviewItemPublic) -> web.Response:
    return web.json_response(text=item.model_dump_json())


@routes.post("/api/v1/review/{id}/claim", name="claim_review")
@requires(Role.moderator)
async def claim(request: web.Request) -> web.Response:
    """Take the item for 15 minutes (again: extend); no one else may claim it meanwhile."""
    item_id = _item_id(request)
    limit = limit_of(policy_of(request))
    moderator = request[principal_key].actor
    try:
        async with request.app[engine_key].begin() as conn:
            await claim_review(conn=conn, item_id=item_id, moderator=moderator,
                               exposure_limit=limit)
    except LookupError:
        raise not_found(f"Review item {item_id}") from None
    except ExposureLimitReached as exc:
        raise ApiError(409, "exposure_limit", limit_sentence(exc.limit)) from None
    except ReviewConflict as exc:
        raise ApiError(409, "conflict", f"Review item {item_id} cannot be claimed: {exc}."
                       ) from None
    return _json(await _current(request, item_id, limit))


@routes.post("/api/v1/review/{id}/release", name="release_review")
@requires(Role.moderator)
async def release(request: web.Request) -> web.Response:
    """Give a claimed item back to the queue (its holder only)."""
    item_id = _item_id(request)
    limit = limit_of(policy_of(request))
    moderator = request[principal_key].actor
    async with request.app[engine_key].connect() as conn:
        if await get_review(conn=conn, item_id=item_id) is None:
            raise not_found(f"Review item {item_id}")
    try:
        async with request.app[engine_key].begin() as conn:
            await unclaim_review(conn=conn, item_id=item_id, moderator=moderator)
    except ReviewConflict as exc:
        raise ApiError(409, "conflict", f"Review item {item_id} cannot be released: {exc}."
                       ) from None
    return _json(await _current(request, item_id, limit))


def _escalation_target(policy: Policy, data: ReviewDecisionIn) -> str | None:
    if data.escalate_to != "police":
        return data.escalate_to
    teams = [t.id for t in policy.teams if POLICE_CATEGORY in t.categories]
    if not teams:
        raise invalid([FieldError("escalate_to", "cannot be `police`: no team in the policy "
                                                 f"owns the `{POLICE_CATEGORY}` category.")])
    return teams[0]


async def _decide(request: web.Request, data: ReviewDecisionIn, ids: list[int]) -> Decided:
    return await decide_items(request.app, policy_of(request), request[principal_key].actor,
                              data, ids)


async def decide_items(app: web.Application, policy: Policy, moderator: str,
                       data: ReviewDecisionIn, ids: list[int]) -> Decided:
    """A moderator's decision on `ids`, with the escalation it may carry (the API and the
    web pages both decide through here)."""
    escalated_to = _escalation_target(policy, data)
    now = utcnow()
    overrides = (await active_overrides(app[engine_key], start=now - _DAY,
                                        end=now + _DAY) if escalated_to else [])
    async with app[engine_key].begin() as conn:
        decided = await decide_review(
            conn=conn, item_ids=ids, decision=ReviewDecision(data.decision),
            moderator=moderator, note=data.note or None,
            mute_days=data.mute_days, escalated_to=escalated_to,
            moderation=policy.moderation, now=now)
        if escalated_to is not None:
            # Those it names are told in the same transaction: recorded and told, or
            # neither.
            settings = app[settings_key]
            pages = PageNotifier(policy=lambda: policy, secret=settings.secret_key,
                                 base_url=settings.base_url)
            await tell_escalation(conn, decided.items, policy, now, settings.base_url,
                                  moderator, page_hook=pages, overrides=overrides)
    return decided


@routes.post("/api/v1/review/{id}/decide", name="decide_review")
@requires(Role.moderator)
async def decide(request: web.Request) -> web.Response:
    """Dismiss, confirm, escalate, mute or block; the author's sanctions follow."""
    item_id = _item_id(request)
    data = await read_model(request, ReviewDecisionIn)
    limit = limit_of(policy_of(request))
    async with request.app[engine_key].connect() as conn:
        if await get_review(conn=conn, item_id=item_id) is None:
            raise not_found(f"Review item {item_id}")
    decided = await _decide(request, data, [item_id])
    if item_id in decided.skipped:
        raise ApiError(409, "conflict", f"Review item {item_id} cannot be decided: "
                       f"{decided.skipped[item_id]}.")
    item = await _current(request, item_id, limit)
    return web.json_response({
        "item": item.model_dump(mode="json"),
        "author": _author(decided.authors[0]).model_dump(mode="json")
        if decided.authors else None})


@routes.post("/api/v1/review/bulk", name="bulk_review")
@requires(Role.moderator)
async def bulk(request: web.Request) -> web.Response:
    """One decision for up to 1,000 items; those decided or claimed by others are skipped."""
    data = await read_model(request, ReviewBulkIn)
    decided = await _decide(request, data, data.ids)
    return web.json_response({
        "decided": [i.id for i in decided.items],
        "skipped": [{"id": i, "because": why} for i, why in decided.skipped.items()],
        "authors": [_author(a).model_dump(mode="json") for a in decided.authors]})


@routes.get("/api/v1/moderators/me/exposure", name="my_exposure")
@requires(Role.moderator)
async def my_exposure(request: web.Request) -> web.Response:
    """Abusive or threatening items the caller has read today (UTC), and the limit."""
    limit = limit_of(policy_of(request))
    moderator = request[principal_key].actor
    now = utcnow()
    count = await _exposure(request, moderator, now)
    body = ExposurePublic(moderator=moderator, day=now.date(), abusive_items=count,
                          limit=limit, remaining=max(0, limit - count))
    return web.json_response(text=body.model_dump_json())
