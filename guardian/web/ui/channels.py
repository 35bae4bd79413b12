"""Channels as people see them: each of a person's channels in the policy's order, its
URL with secrets masked, its last delivery and failure from the delivery log; and a test
message sent at once (through apprise, not the outbox), as `guardian channels test`.

Staff see and test their own (`/channels`); the admin's desk every person's
(guardian/web/ui/admin.py, which builds its rows here too). The channels themselves are
the policy's: HR changes them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from guardian.config.secrets import secret_source
from guardian.config.settings import Settings
from guardian.errors import ApiError
from guardian.notify.channels import missing_secrets
from guardian.notify.channels_check import ChannelResult, check_person
from guardian.policy.model import StaffMember
from guardian.policy.urls import redact
from guardian.storage.audit import audit, audit_table
from guardian.storage.db import utcnow
from guardian.storage.models import DeliveryAttempt
from guardian.storage.notifications import ChannelDeliveries, last_deliveries
from guardian.types import Role
from guardian.web.keys import engine_key, settings_key
from guardian.web.overrides import policy_of
from guardian.web.ui.sessions import Visitor, page, signed_in
from guardian.web.ui.staff import local_time

routes = web.RouteTableDef()

# A person may test their own channels once a minute (each test reaches every channel).
TEST_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class ChannelRow:
    number: int                 # the channel's place in the person's list, from 1
    shown: str                  # the policy's URL, secrets masked
    missing: list[str]          # `{env:NAME}` secrets not set here (names only)
    attempts: int = 0
    last_ok: str = ""
    last_failure: str = ""
    last_error: str | None = None
    logged_url: str = ""        # where the last attempt went, as the log masked it
    failing: bool = False


def failing(last_ok: DeliveryAttempt | None, last_failure: DeliveryAttempt | None) -> bool:
    """The channel's last attempt failed."""
    if last_failure is None:
        return False
    return last_ok is None or (last_failure.id or 0) > (last_ok.id or 0)


def channel_rows(person: StaffMember, logged: Mapping[tuple[str, int], ChannelDeliveries],
                 environ: Mapping[str, str], when: Callable[[dt.datetime | None], str]
                 ) -> list[ChannelRow]:
    """The person's channels with what the delivery log says of each."""
    rows = []
    for index, template in enumerate(person.channels):
        found = logged.get((person.id, index))
        last = None
        if found is not None:
            last = max((a for a in (found.last_ok, found.last_failure) if a is not None),
                       key=lambda a: a.id or 0)
        rows.append(ChannelRow(
            number=index + 1, shown=redact(template),
            missing=missing_secrets(template, environ),
            attempts=found.attempts if found else 0,
            last_ok=when(found.last_ok.at if found and found.last_ok else None),
            last_failure=when(found.last_failure.at if found and found.last_failure
                              else None),
            last_error=found.last_failure.error if found and found.last_failure else None,
            logged_url=last.channel_url_masked if last is not None else "",
            failing=bool(found and failing(found.last_ok, found.last_failure))))
    return rows


async def test_channels(person: StaffMember, settings: Settings) -> list[ChannelResult]:
    """A short test message on each of the person's channels, now (apprise blocks: in a
    thread)."""
    if not person.channels:
        raise ApiError(422, "no_channels", f"{person.name} has no channels in the policy; "
                       "add apprise URLs under `channels:` in their entry.")
    environ = secret_source(settings)
    return await asyncio.to_thread(lambda: list(check_person(person, environ)))


async def _tested_lately(request: web.Request, staff_id: str, now: dt.datetime) -> bool:
    a = audit_table.c
    async with request.app[engine_key].connect() as conn:
        found = (await conn.execute(select(a.id).where(
            a.action == "channels.test", a.subject == f"person:{staff_id}",
            a.at > now - TEST_EVERY).limit(1))).first()
    return found is not None


async def _own_page(request: web.Request, visitor: Visitor,
                    tested: list[ChannelResult] | None = None, status: int = 200,
                    error: str = "") -> web.Response:
    policy = policy_of(request)
    settings = request.app[settings_key]
    me = policy.people[visitor.staff_id]
    logged = {(d.recipient, d.channel_index): d
              for d in await last_deliveries(engine=request.app[engine_key])
              if d.recipient == me.id}
    rows = channel_rows(me, logged, secret_source(settings),
                        lambda at: local_time(policy, me.id, at) if at else "")
    return page(request, visitor, "channels.html", {
        "rows": rows, "tested": tested, "error": error,
        "deliver_to": bool(settings.deliver_to)}, status)


@routes.get("/channels", name="ui_channels")
@signed_in(Role.staff)
async def own_channels(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    return await _own_page(request, visitor)


@routes.post("/channels/test", name="ui_channels_test")
@signed_in(Role.staff)
async def own_channels_test(request: web.Request, visitor: Visitor) -> web.StreamResponse:
    """"Send me a test": every channel of the person's, once a minute at most; audited."""
    now = utcnow()
    if await _tested_lately(request, visitor.staff_id, now):
        response = await _own_page(request, visitor, status=429, error="too_soon")
        response.headers["Retry-After"] = str(int(TEST_EVERY.total_seconds()))
        return response
    person = policy_of(request).people[visitor.staff_id]
    if not person.channels:
        return await _own_page(request, visitor, status=422, error="no_channels")
    results = await test_channels(person, request.app[settings_key])
    async with request.app[engine_key].begin() as conn:
        await audit(conn=conn, actor=f"person:{visitor.staff_id}", action="channels.test",
                    subject=f"person:{visitor.staff_id}",
                    details={"ok": sum(r.ok for r in results),
                             "failed": sum(not r.ok for r in results)}, at=now)
    return await _own_page(request, visitor, tested=results)
