"""The OpenAPI 3.1 document, built from the pydantic schemas and each route's access rule."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from guardian import __version__
from guardian.schemas import ErrorResponse, HealthResponse, IngestResponse, MessageIn, MessagePublic
from guardian.storage.models import Role
from guardian.web.access import requires

routes = web.RouteTableDef()

_ERRORS = {
    "400": "Malformed JSON.",
    "401": "No token, or an unknown or revoked one.",
    "403": "The token's role may not do this.",
    "404": "No such thing.",
    "413": "Body or batch larger than the limits.",
    "415": "Not `application/json`.",
    "422": "A field is invalid; `errors` names each one.",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    schema = model if isinstance(model, dict) else _ref(model)
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"description": _ERRORS[code], **_json(ErrorResponse)} for code in codes}


def _roles(*roles: Role) -> list[str]:
    return sorted({r.value for r in roles} | {Role.admin.value})


def build_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [MessageIn, IngestResponse, MessagePublic, ErrorResponse,
                                     HealthResponse]
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Guardian", "version": __version__,
                 "description": "Moderation and staff-wellbeing guard for a town hall's "
                                "public social feed."},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "`guardian tokens create`"}},
        },
        "paths": {
            "/api/v1/messages": {"post": {
                "operationId": "ingest",
                "summary": "Store one message or a list; idempotent on (source, external_id).",
                "security": bearer, "x-roles": _roles(Role.ingest),
                "requestBody": {"required": True, **_json({"oneOf": [
                    _ref(MessageIn), {"type": "array", "items": _ref(MessageIn),
                                      "minItems": 1}]})},
                "responses": {"202": {"description": "Stored (or already stored).",
                                      **_json(IngestResponse)},
                              **_errors("400", "401", "403", "413", "415", "422")},
            }},
            "/api/v1/messages/{id}": {"get": {
                "operationId": "message",
                "summary": "One message, its stage and the history of its stages.",
                "security": bearer, "x-roles": _roles(Role.moderator),
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "The message.", **_json(MessagePublic)},
                              **_errors("401", "403", "404", "422")},
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.",
                "security": bearer, "x-roles": _roles(*Role),
                "responses": {"200": {"description": "OpenAPI 3.1."}, **_errors("401")},
            }},
            "/health": {"get": {
                "operationId": "health",
                "summary": "Database, migrations, scorer, policies; no token needed.",
                "security": [], "x-roles": [],
                "responses": {"200": {"description": "All is well.", **_json(HealthResponse)},
                              "503": {"description": "Something is wrong.",
                                      **_json(HealthResponse)}},
            }},
            "/metrics": {"get": {
                "operationId": "metrics", "summary": "Prometheus metrics.",
                "security": bearer, "x-roles": _roles(Role.admin),
                "responses": {"200": {"description": "Prometheus text format.",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}},
                              **_errors("401", "403")},
            }},
        },
    }


@routes.get("/api/v1/openapi.json", name="openapi")
@requires(*Role)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi())
