"""The moderators' queue in the browser. Every rule is the review API's own (claims,
reveals counted toward the daily exposure limit, decisions and their escalations, bulk
decisions): these handlers call the same functions (guardian.review.*,
guardian.web.review.decide_items) and only choose what to show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from guardian.errors import ApiError
from guardian.policy.harassment import LEVELS
from guardian.policy.model import Policy
from guardian.policy.names import category_name
from guardian.review.exposure import ExposureLimitReached, exposure_on
from guardian.review.queue import (
    ReviewConflict,
    author_history,
    claim_review,
    get_review,
    list_review,
    reveal_review,
    unclaim_review,
)
from guardian.review.rules import EXPOSING_LEVELS
from guardian.review.sanctions import author_statuses
from guardian.schemas import ReviewBulkIn, ReviewDecisionIn, ReviewItemPublic
from guardian.storage.db import utcnow
from guardian.types import ReviewStatus, Role
from guardian.web.auth import Principal
from guardian.web.keys import engine_key
from guardian.web.overrides import policy_of
from guardian.web.review import decide_items, limit_of, limit_sentence, public
from guardian.web.ui.render import see_other
from guardian.web.ui.sessions import Visitor, page, person_name, signed_in
from guardian.web.ui.signin import safe_next

routes = web.RouteTableDef()
PAGE_SIZE = 50
STORM_REASON = "storm"


def _me(visitor: Visitor) -> str:
    """The moderator as the API's audit and exposure count name them."""
    return visitor.principal(Role.moderator).actor


def _item_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, "not_found", f"There is no review item {raw[:20]!r}.")
    return int(raw)


def _names(policy: Policy) -> dict[str, str]:
    """Staff and team ids by their names in the policy."""
    return {**{t.id: t.name for t in policy.teams}, **{s.id: s.name for s in policy.staff}}


def _category_names(policy: Policy, lang: str) -> dict[str, str]:
    """Each category by its name in the policy, in the moderator's language."""
    return {c.id: category_name(policy, c.id, lang) for c in policy.categories}


@dataclass
class Filters:
    category: str = ""
    level: str = ""
    target: str = ""

    def query(self, **more: str) -> str:
        pairs = {"category": self.category, "level": self.level, "target": self.target,
                 **more}
        return urlencode({k: v for k, v in pairs.items() if v})


def _filters(request: web.Request, policy: Policy) -> Filters:
    """Unknown values are ignored (a stale bookmark shows the whole queue, not an error)."""
    q = request.query
    category = q.get("category", "")
    level = q.get("level", "")
    target = q.get("target", "")
    return Filters(
        category=category if category in {c.id for c in policy.categories} else "",
        level=level if level in LEVELS else "",
        target=target if target in _names(policy) else "")


@dataclass
class Storm:
    """Items held as one pile-on: one target, many authors."""

    target: str
    items: list[ReviewItemPublic] = field(default_factory=list)

    @property
    def authors(self) -> int:
        return len({(i.source, i.author_handle) for i in self.items})


async def _others_with_reading_left(request: web.Request, policy: Policy, me: str,
                                    limit: int, now: dt.datetime) -> list[str]:
    """The other moderators who may still read abusive items today, by name."""
    others = []
    async with request.app[engine_key].connect() as conn:
        for person in policy.moderation.moderators:
            actor = Principal(token_id=0, name="web", role=Role.moderator,
                              staff_id=person).actor
            if actor != me and await exposure_on(conn=conn, moderator=actor,
                                                 day=now.date()) < limit:
                others.append(person_name(policy, person))
    return others


async def _limit_page(request: web.Request, visitor: Visitor, policy: Policy,
                      exposure: int, now: dt.datetime) -> web.Response:
    """The calm page at the limit: the day's reading is done, and who else is on."""
    limit = limit_of(policy)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(),
                                   tzinfo=dt.UTC)
    return page(request, visitor, "limit.html", {
        "exposure": exposure, "limit": limit,
        "hours_left": max(1, round((midnight - now).total_seconds() / 3600)),
        "others": await _others_with_reading_left(request, policy, _me(visitor), limit, now)})


def _common(policy: Policy, exposure: int, lang: str) -> dict[str, Any]:
    return {"exposure": exposure, "limit": limit_of(policy), "names": _names(policy),
            "category_names": _category_names(policy, lang), "now": utcnow()}


@routes.get("/moderation", name="ui_queue")
@signed_in(Role.moderator)
async def queue(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    policy = policy_of(request)
    me, limit, now = _me(visitor), limit_of(policy), utcnow()
    filters = _filters(request, policy)
    async with request.app[engine_key].connect() as conn:
        exposure = await exposure_on(conn=conn, moderator=me, day=now.date())
    exposing = not filters.level or filters.level in EXPOSING_LEVELS
    if exposure >= limit and exposing:
        return await _limit_page(request, visitor, policy, exposure, now)
    after = request.query.get("after", "")
    found = await list_review(
        engine=request.app[engine_key], statuses=[ReviewStatus.open, ReviewStatus.claimed],
        levels=[filters.level] if filters.level else (),
        category=filters.category or None, target=filters.target or None,
        after_id=int(after) if after.isascii() and after.isdigit() and len(after) < 18
        else None, limit=PAGE_SIZE + 1, now=now)
    items = [public(q, me, exposure, limit, now) for q in found[:PAGE_SIZE]]
    storms: dict[str, Storm] = {}
    single = []
    for item in items:
        if item.reason == STORM_REASON and item.target:
            storms.setdefault(item.target, Storm(item.target)).items.append(item)
        else:
            single.append(item)
    # A storm of one message is just an item.
    for target, storm in list(storms.items()):
        if len(storm.items) < 2:
            single.extend(storm.items)
            del storms[target]
    single.sort(key=lambda i: i.id)
    q = request.query
    return page(request, visitor, "queue.html", {
        **_common(policy, exposure, visitor.lang), "items": single, "storms": list(storms.values()),
        "filters": filters, "categories": [c.id for c in policy.categories],
        "levels": LEVELS, "targets": sorted(_names(policy).items(), key=lambda kv: kv[1]),
        "next_after": items[-1].id if len(found) > PAGE_SIZE else None,
        "decided": q.get("decided", ""), "decision": q.get("decision", ""),
        "bulk_decided": q.get("bulk_decided", ""), "bulk_skipped": q.get("bulk_skipped", ""),
        "back": request.path_qs})


async def _item_page(request: web.Request, visitor: Visitor, item_id: int, *,
                     text: str | None = None, notice: str | None = None,
                     status: int = 200) -> web.Response:
    policy = policy_of(request)
    me, limit, now = _me(visitor), limit_of(policy), utcnow()
    engine = request.app[engine_key]
    async with engine.connect() as conn:
        queued = await get_review(conn=conn, item_id=item_id)
        if queued is None:
            raise ApiError(404, "not_found", f"There is no review item {item_id}.")
        exposure = await exposure_on(conn=conn, moderator=me, day=now.date())
        history = [h for h in await author_history(conn=conn, source=queued.source,
                                                   handle=queued.author_handle, limit=11)
                   if h.item.id != item_id][:10]
        author = (await author_statuses(conn=conn, authors=[
            (queued.source, queued.author_handle)]))[(queued.source, queued.author_handle)]
    item = public(queued, me, exposure, limit, now)
    waiting = (ReviewStatus.open, ReviewStatus.claimed)
    following = await list_review(engine=engine, statuses=waiting, after_id=item_id, limit=1,
                                  now=now)
    preceding = await list_review(engine=engine, statuses=waiting, after_id=item_id,
                                  newest_first=True, limit=1, now=now)
    return page(request, visitor, "item.html", {
        **_common(policy, exposure, visitor.lang), "item": item, "text": text, "notice": notice,
        "mine": item.claimed_by == me, "author": author,
        "history": [h.item for h in history],
        "next_id": following[0].item.id if following else None,
        "prev_id": preceding[0].item.id if preceding else None,
        "exposing": item.level in EXPOSING_LEVELS,
        "decided": request.query.get("decided", ""),
        "decision": request.query.get("decision", "")}, status)


@routes.get("/moderation/{id}", name="ui_item")
@signed_in(Role.moderator)
async def item_page(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """The item, masked; the original only through the reveal button."""
    return await _item_page(request, visitor, _item_id(request))


@routes.post("/moderation/{id}/claim", name="ui_claim")
@signed_in(Role.moderator)
async def claim(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    item_id = _item_id(request)
    policy = policy_of(request)
    form = await request.post()
    try:
        async with request.app[engine_key].begin() as conn:
            await claim_review(conn=conn, item_id=item_id, moderator=_me(visitor),
                               exposure_limit=limit_of(policy))
    except LookupError:
        raise ApiError(404, "not_found", f"There is no review item {item_id}.") from None
    except (ExposureLimitReached, ReviewConflict) as exc:
        if request.headers.get("HX-Request") == "true" and form.get("back"):
            # In place: the item, fetched again, says why it is not ours (htmx swaps
            # only successful answers).
            return see_other(safe_next(form.get("back")))
        if isinstance(exc, ExposureLimitReached):
            raise ApiError(409, "exposure_limit", limit_sentence(exc.limit)) from None
        raise ApiError(409, "conflict", f"Review item {item_id} cannot be claimed: {exc}."
                       ) from None
    return see_other(safe_next(form.get("back") or f"/moderation/{item_id}"))


@routes.post("/moderation/{id}/release", name="ui_release")
@signed_in(Role.moderator)
async def release(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    item_id = _item_id(request)
    form = await request.post()
    try:
        async with request.app[engine_key].begin() as conn:
            if await get_review(conn=conn, item_id=item_id) is None:
                raise ApiError(404, "not_found", f"There is no review item {item_id}.")
            await unclaim_review(conn=conn, item_id=item_id, moderator=_me(visitor))
    except ReviewConflict as exc:
        raise ApiError(409, "conflict", f"Review item {item_id} cannot be released: {exc}."
                       ) from None
    return see_other(safe_next(form.get("back") or f"/moderation/{item_id}"))


@routes.post("/moderation/{id}/reveal", name="ui_reveal")
@signed_in(Role.moderator)
async def reveal(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """The original text, once, in answer to the button (a GET never shows it); counted
    toward the day's exposure exactly as the API's reading of an item is."""
    item_id = _item_id(request)
    policy = policy_of(request)
    now = utcnow()
    async with request.app[engine_key].begin() as conn:
        shown = await reveal_review(conn=conn, item_id=item_id, moderator=_me(visitor),
                                    exposure_limit=limit_of(policy), now=now)
    if shown is None:
        raise ApiError(404, "not_found", f"There is no review item {item_id}.")
    if shown.withheld == "limit":
        return await _limit_page(request, visitor, policy, shown.exposure, now)
    if shown.withheld == "not_claimed":
        return await _item_page(request, visitor, item_id, notice="claim_first", status=409)
    return await _item_page(request, visitor, item_id, text=shown.queued.text)


def _decision_fields(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The decision as the API's body, from a form (empty fields left out)."""
    fields: dict[str, Any] = {}
    for name in ("decision", "note", "mute_days", "escalate_to"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    if fields.get("decision") != "escalate":
        fields.pop("escalate_to", None)
    if fields.get("decision") != "mute":
        fields.pop("mute_days", None)
    return fields


@routes.post("/moderation/{id}/decide", name="ui_decide")
@signed_in(Role.moderator)
async def decide(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    item_id = _item_id(request)
    policy = policy_of(request)
    data = ReviewDecisionIn.model_validate(_decision_fields(await request.post()))
    async with request.app[engine_key].connect() as conn:
        if await get_review(conn=conn, item_id=item_id) is None:
            raise ApiError(404, "not_found", f"There is no review item {item_id}.")
    decided = await decide_items(request.app, policy, _me(visitor), data, [item_id])
    if item_id in decided.skipped:
        raise ApiError(409, "conflict", f"Review item {item_id} cannot be decided: "
                       f"{decided.skipped[item_id]}.")
    following = await list_review(engine=request.app[engine_key],
                                  statuses=[ReviewStatus.open, ReviewStatus.claimed],
                                  after_id=item_id, limit=1)
    done = urlencode({"decided": item_id, "decision": data.decision})
    if following:  # straight on to the next item: a day's work is a run of these
        return see_other(f"/moderation/{following[0].item.id}?{done}")
    return see_other(f"/moderation?{done}")


@routes.post("/moderation/bulk", name="ui_bulk")
@signed_in(Role.moderator)
async def bulk(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """One decision for the ticked items, or a storm's whole group."""
    form = await request.post()
    ids = [int(v) for v in form.getall("ids", []) if isinstance(v, str) and v.isascii()
           and v.isdigit() and len(v) < 18]
    if not ids:
        raise ApiError(422, "invalid", "Tick at least one item (`ids`).")
    data = ReviewBulkIn.model_validate({**_decision_fields(form), "ids": ids})
    decided = await decide_items(request.app, policy_of(request), _me(visitor), data,
                                 data.ids)
    back = safe_next(form.get("back") or "/moderation")
    joiner = "&" if "?" in back else "?"
    return see_other(f"{back}{joiner}" + urlencode({
        "bulk_decided": len(decided.items), "bulk_skipped": len(decided.skipped)}))
