"""A citizen's rights over their data, for the operators (admin): access (export) and
erasure, each audited (the erasure without the author in clear)."""

from __future__ import annotations

from aiohttp import web

from guardian.engine.privacy import AuthorError, erase_author, export_author, parse_author
from guardian.errors import FieldError
from guardian.storage.audit import audit
from guardian.types import Role
from guardian.web.access import requires
from guardian.web.bodies import invalid, read_payload
from guardian.web.keys import clock_key, engine_key, principal_key

routes = web.RouteTableDef()


async def _author(request: web.Request) -> tuple[str, str]:
    data = await read_payload(request)
    raw = data.get("author") if isinstance(data, dict) else None
    if not isinstance(raw, str):
        raise invalid([FieldError("author", "is required: SOURCE:HANDLE, e.g. twitter:@vecina.")])
    try:
        return parse_author(raw[:300])
    except AuthorError as exc:
        raise invalid([FieldError("author", f"{exc}.")]) from None


@routes.post("/api/v1/privacy/export", name="privacy_export")
@requires(Role.admin)
async def export(request: web.Request) -> web.Response:
    """Everything kept about an author (`{"author": "twitter:@vecina"}`), as JSON."""
    source, handle = await _author(request)
    async with request.app[engine_key].begin() as conn:
        found = await export_author(conn=conn, source=source, handle=handle)
        await audit(conn=conn, actor=request[principal_key].actor, action="privacy.export",
                    subject="author", details={"messages": len(found["messages"])})
    return web.json_response(found)


@routes.post("/api/v1/privacy/erase", name="privacy_erase")
@requires(Role.admin)
async def erase(request: web.Request) -> web.Response:
    """Erase an author's messages and their traces (`{"author": "twitter:@vecina"}`)."""
    source, handle = await _author(request)
    async with request.app[engine_key].begin() as conn:
        counts = await erase_author(conn=conn, source=source, handle=handle,
                                    actor=request[principal_key].actor,
                                    now=request.app[clock_key]())
    return web.json_response({"erased": counts})
