"""Behind a reverse proxy: the client's address and scheme from `X-Forwarded-For` and
`X-Forwarded-Proto`, believed only when the request comes from one of
`GUARDIAN_TRUSTED_PROXIES` (anyone else could write the headers).

The parsing is aiohttp-remotes' `XForwardedFiltered` (the right-most address not a
trusted proxy is the client); what it lacks, checking that the peer itself is a trusted
proxy before reading anything, is here. Without it, sign-in rate limits per address
would count every person behind the proxy as one."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_remotes import XForwardedFiltered

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _from(peer: str | None, networks: tuple[Network, ...]) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:  # a Unix socket's peer: no address to trust
        return False
    return any(address in network for network in networks)


def forwarded_middleware(trusted: Iterable[str]) -> Middleware:
    networks = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)
    filtered = XForwardedFiltered({str(n) for n in networks})

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _from(request.remote, networks):
            return await handler(request)
        return await filtered.middleware(request, handler)

    return forwarded
