"""`guardian tokens`: create, list, revoke."""

from __future__ import annotations

import json

from tests.commands import env_for, run
from tests.conftest import Database


def test_tokens_create_list_and_revoke(database: Database) -> None:
    env = env_for(database)
    created = run("tokens", "create", "--role", "ingest", "--name", "mastodon-feed", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and token.startswith("gdn_")  # the token alone
    listed = run("tokens", "list", "--json", env=env)
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"]) for r in rows] == [("mastodon-feed", "ingest")]
    assert token not in listed.stdout
    assert run("tokens", "revoke", "mastodon-feed", env=env).returncode == 0
    assert json.loads(run("tokens", "list", "--json", env=env).stdout) == []
    again = run("tokens", "revoke", "mastodon-feed", env=env)
    assert again.returncode == 1 and "no live token" in again.stderr
    bad_role = run("tokens", "create", "--role", "boss", "--name", "x", env=env)
    assert bad_role.returncode == 2 and "boss" in bad_role.stderr


