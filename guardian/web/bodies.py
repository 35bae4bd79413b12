"""Reading JSON request bodies: 415, 400 and 422 in the one error shape, naming fields."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from guardian.errors import ApiError, FieldError

M = TypeVar("M", bound=BaseModel)


def field_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def plain(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required."
    if kind == "extra_forbidden":
        return "is not a known field."
    return str(error["msg"]).removeprefix("Value error, ") + "."


async def read_payload(request: web.Request) -> Any:
    """The parsed JSON body (any JSON value)."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Send JSON with `Content-Type: application/json`.")
    body = await request.read()
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else "the body"
        raise ApiError(400, "malformed_json", f"The body is not valid JSON ({where}).",
                       [FieldError("body", str(exc))]) from None


def validation_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    return [FieldError(field_path(prefix, tuple(e["loc"])), plain(e)) for e in exc.errors()]


def invalid(problems: list[FieldError], consequence: str = "Nothing was changed.") -> ApiError:
    first = problems[0]
    return ApiError(422, "invalid", f"`{first.field}` {first.message} {consequence}", problems)


async def read_model(request: web.Request, model: type[M]) -> M:
    """The body validated as `model`; every invalid field is named in the 422."""
    payload = await read_payload(request)
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid", "The body must be a JSON object.",
                       [FieldError("body", "must be an object.")])
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid(validation_errors(exc)) from None
