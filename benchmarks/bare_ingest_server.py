"""The yardstick for ingest: a bare aiohttp + asyncpg server doing one INSERT per request.

No validation, no auth, no middleware, no ORM: it parses the JSON body, inserts it into a
table of the same shape as `messages` (`CREATE TABLE … (LIKE messages INCLUDING ALL)`: the
same columns, defaults, constraints and indexes, so PostgreSQL does the same work per row)
in autocommit, and answers 202 with the new id as JSON. What Guardian's
`POST /api/v1/messages` costs beyond this is what Guardian adds.

    .venv/bin/python benchmarks/bare_ingest_server.py --dsn postgresql://…/guardian_bench \
        --port 8099 [--table bare_messages] [--pool 10]

`benchmarks/ingest_vs_bare.py` starts it beside `guardian serve` and drives both with the
same load generator. `GET /health` answers 200 once the pool is up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

POOL_KEY = web.AppKey("pool", asyncpg.Pool)
SQL_KEY = web.AppKey("sql", str)
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """asyncpg's default reset on release is a round trip (`RESET ALL`, `UNLISTEN *`…);
    nothing here changes session state, so the bare server does one round trip a request."""


async def ingest(request: web.Request) -> web.Response:
    body: dict[str, Any] = json.loads(await request.read())
    now = dt.datetime.now(dt.UTC)
    author = body["author"]
    ident = await request.app[POOL_KEY].fetchval(
        request.app[SQL_KEY], body["source"], body["external_id"], author["handle"],
        author.get("name"), body["text"], body.get("lang"), json.dumps(body.get("mentions", [])),
        body.get("in_reply_to"), body.get("url"), dt.datetime.fromisoformat(body["created_at"]),
        now, "received", now, 0, json.dumps({"received": now.isoformat()}))
    return web.json_response({"id": ident}, status=202)


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(dsn: str, table: str, pool_size: int) -> web.Application:
    if not IDENTIFIER.match(table):
        raise SystemExit(f"--table {table!r}: a lower-case SQL identifier, please")
    app = web.Application()
    app[SQL_KEY] = (
        f"INSERT INTO {table} (source, external_id, author_handle, author_name, text, lang, "
        "mentions, in_reply_to, url, created_at, received_at, stage, available_at, attempts, "
        "stage_times) VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9, $10, $11, $12, $13, "
        "$14, $15::json) RETURNING id")

    async def pool(app: web.Application) -> AsyncIterator[None]:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (LIKE messages INCLUDING ALL)")
        finally:
            await connection.close()
        app[POOL_KEY] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size,
                                                  reset=_no_reset)
        yield
        await app[POOL_KEY].close()

    app.cleanup_ctx.append(pool)
    app.router.add_post("/api/v1/messages", ingest)
    app.router.add_get("/health", health)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dsn", required=True, help="PostgreSQL database holding `messages`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--table", default="bare_messages")
    parser.add_argument("--pool", type=int, default=10, help="connections (10)")
    args = parser.parse_args(argv)
    web.run_app(build_app(args.dsn, args.table, args.pool), host=args.host, port=args.port,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
