"""The web pages' routes and static files, added to the app by `setup_ui`."""

from __future__ import annotations

import functools
from pathlib import Path

from aiohttp import web

from guardian.web.access import public, web_page
from guardian.web.ui import (
    ack,
    admin,
    channels,
    hr,
    moderation,
    report,
    signin,
    staff,
    swaps,
    today,
    whatif,
)

STATIC = Path(__file__).parent / "static"
_TYPES = {".css": "text/css", ".js": "text/javascript"}


@functools.cache
def _static_files() -> dict[str, tuple[bytes, str]]:
    """Our stylesheet and scripts, read once; nothing else is served from the directory."""
    return {p.name: (p.read_bytes(), _TYPES[p.suffix]) for p in sorted(STATIC.iterdir())
            if p.suffix in _TYPES}


@web_page
@public
async def static_file(request: web.Request) -> web.Response:
    found = _static_files().get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    body, content_type = found
    return web.Response(body=body, content_type=content_type, charset="utf-8",
                        headers={"Cache-Control": "public, max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})


def setup_ui(app: web.Application) -> None:
    app.add_routes(signin.routes)
    app.add_routes(moderation.routes)
    app.add_routes(admin.routes)
    app.add_routes(staff.routes)   # the message page (signed in, or a notification's link)
    app.add_routes(ack.routes)     # the acknowledgement page of a page's link
    app.add_routes(today.routes)   # staff's today page and inbox
    app.add_routes(channels.routes)  # staff's own channels, and a test
    app.add_routes(swaps.routes)   # staff's swaps: ask, answer, withdraw
    app.add_routes(hr.routes)      # HR's schedule, overrides and swaps
    app.add_routes(report.routes)  # the wellbeing report (HR and its readers)
    app.add_routes(whatif.routes)  # HR's policy what-if
    app.router.add_get("/static/{name}", static_file, name="ui_static")
