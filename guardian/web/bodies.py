"""Reading JSON request bodies: 415, 400 and 422 in the one error shape, naming fields."""

from __future__ import annotations

import json
import re
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
    if body.count(b"[") + body.count(b"{") > MAX_NESTING and _depth(body) > MAX_NESTING:
        raise ApiError(400, "malformed_json", f"The body nests arrays and objects more than "
                       f"{MAX_NESTING} deep.", [FieldError("body", "is nested too deeply.")])
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else "the body"
        raise ApiError(400, "malformed_json", f"The body is not valid JSON ({where}).",
                       [FieldError("body", str(exc))]) from None
    unsafe = _unsafe_text(payload, "")
    if unsafe:
        raise invalid([FieldError(path, "contains a NUL character or an unpaired surrogate, "
                                        "which no text may hold.") for path in unsafe[:20]])
    return payload


# Deeper than any request Guardian takes (a batch of messages is three levels); the
# parser's recursion would otherwise end in an error of the server's own.
MAX_NESTING = 32
# NUL (PostgreSQL's text cannot hold it) and unpaired surrogates (JSON escapes allow them;
# they are not characters and cannot be encoded).
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def _depth(body: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def unsafe_text(value: str) -> bool:
    return _UNSAFE.search(value) is not None


def _unsafe_text(value: Any, path: str) -> list[str]:
    """The paths of the strings (and keys) in `value` that no text column can hold."""
    if isinstance(value, str):
        return [path or "body"] if unsafe_text(value) else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if unsafe_text(str(key)):
                found.append(path or "body")
            found += _unsafe_text(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _unsafe_text(item, f"{path}[{index}]" if path else f"[{index}]")
    return found


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
