"""Errors in one JSON shape, bearer-token checks, and request metrics."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.web_urldispatcher import SystemRoute

from guardian import metrics
from guardian.errors import ApiError, FieldError, forbidden, unauthorized
from guardian.web.access import PUBLIC, SESSION, Handler, access_of
from guardian.web.auth import binding_problem
from guardian.web.bodies import unsafe_text
from guardian.web.keys import policy_key, principal_key, settings_key, verifier_key

log = logging.getLogger(__name__)


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.as_json(), status=error.status, headers=error.headers)


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    return resource.canonical if resource is not None else "unmatched"


def _check_url(request: web.Request) -> None:
    """A path or query that no text can hold (NUL, unpaired surrogates) is refused before
    any handler or database sees it."""
    if unsafe_text(request.path):
        raise ApiError(400, "bad_request", "The path holds a NUL character or an unpaired "
                       "surrogate.", [FieldError("path", "holds a character no text can.")])
    if not request.query_string:  # most requests: no query to parse
        return
    bad = [name for name, value in request.query.items()
           if unsafe_text(name) or unsafe_text(value)]
    if bad:
        raise ApiError(400, "bad_request", f"The query parameter `{bad[0]}` holds a NUL "
                       "character or an unpaired surrogate.",
                       [FieldError(name, "holds a character no text can.") for name in bad])


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    route = _route_name(request)
    try:
        _check_url(request)
        response = await handler(request)
    except ApiError as exc:
        response = error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(ApiError(
            413, "too_large",
            f"The request body is larger than the limit of "
            f"{request.app[settings_key].max_body_bytes} bytes; "
            "send fewer messages per request.",
        ))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        message = {404: f"There is no {request.path} here; see /api/v1/openapi.json.",
                   405: f"{request.method} is not allowed on {request.path}."}.get(
            exc.status, exc.reason)
        response = error_response(ApiError(exc.status, code, message))
    except Exception:
        log.exception("unexpected error on %s %s", request.method, route)
        response = error_response(ApiError(
            500, "internal", "Something went wrong on our side; it has been logged."))
    metrics.REQUESTS.labels(request.method, route, str(response.status)).inc()
    metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    if isinstance(route, SystemRoute):  # 404 / 405: nothing to protect
        return await handler(request)
    access = access_of(route.handler)
    if access in (PUBLIC, SESSION):  # a web page checks its session cookie itself
        return await handler(request)
    if access is None or isinstance(access, str):
        raise ApiError(403, "forbidden", "This endpoint declares no access rule.")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    principal = await request.app[verifier_key].verify(token.strip())
    if principal is None:
        raise unauthorized("The bearer token is unknown or revoked.")
    if principal.role not in access:
        raise forbidden(principal.role.value, sorted(r.value for r in access))
    problem = binding_problem(principal, request.app[policy_key].policy)
    if problem is not None:
        raise ApiError(403, "forbidden", problem)
    request[principal_key] = principal
    return await handler(request)
