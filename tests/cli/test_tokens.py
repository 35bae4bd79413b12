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




def test_a_live_tokens_name_is_not_given_twice(database: Database) -> None:
    """The audit log and `tokens revoke NAME` must name one caller: a second live token
    of the same name is refused; once the first is revoked, the name is free again."""
    env = env_for(database)
    assert run("tokens", "create", "--role", "moderator", "--name", "maria",
               env=env).returncode == 0
    twice = run("tokens", "create", "--role", "moderator", "--name", "maria", env=env)
    assert twice.returncode == 2 and "already named `maria`" in twice.stderr
    assert run("tokens", "revoke", "maria", env=env).returncode == 0
    assert run("tokens", "create", "--role", "moderator", "--name", "maria",
               env=env).returncode == 0
