"""Exceptions that carry what a caller needs to act: an HTTP status, a sentence, a place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class ConfigError(Exception):
    """The environment does not describe a service that can start; lists every problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class ScorerUnavailable(Exception):
    """The scorer asked for cannot load; the message names the command that fixes it."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ApiError(Exception):
    """An error answered to an API client, always in one JSON shape (see `as_json`)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = headers or {}

    def as_json(self) -> dict[str, Any]:
        return {
            "error": {
                "status": self.status,
                "code": self.code,
                "message": self.message,
                "errors": [e.as_json() for e in self.errors],
            }
        }


def unauthorized(message: str = "A bearer token is required: send "
                 "`Authorization: Bearer <token>`.") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(role: str, allowed: Sequence[str]) -> ApiError:
    return ApiError(
        403, "forbidden",
        f"A token with role `{role}` cannot do this; it needs one of: {', '.join(allowed)}.",
    )


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist.")
