"""`guardian tokens`: create, list, revoke."""

from __future__ import annotations

import json
from pathlib import Path

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
    maria = ("tokens", "create", "--role", "moderator", "--name", "maria", "--staff", "maria")
    assert run(*maria, env=env).returncode == 0
    twice = run(*maria, env=env)
    assert twice.returncode == 2 and "already named `maria`" in twice.stderr
    assert run("tokens", "revoke", "maria", env=env).returncode == 0
    assert run(*maria, env=env).returncode == 0


def test_people_s_tokens_are_bound_to_a_person_of_the_policy(database: Database) -> None:
    """Staff and moderator tokens name a member of staff (a moderator one listed in
    moderation.moderators), so that claims, exposure and acknowledgements are a person's;
    a machine's ingest token names nobody; HR and admin tokens may name their holder."""
    env = env_for(database)

    def refused(*args: str) -> str:
        ran = run("tokens", "create", "--name", "x", *args, env=env)
        assert ran.returncode == 2 and ran.stdout == "", ran
        return ran.stderr

    assert "--staff ID" in refused("--role", "staff")
    assert "--staff ID" in refused("--role", "moderator")
    assert "not listed in moderation.moderators" in refused("--role", "moderator",
                                                            "--staff", "antonio")
    assert "no staff member `nadie`" in refused("--role", "staff", "--staff", "nadie")
    assert "drop --staff" in refused("--role", "ingest", "--staff", "antonio")
    for role, person in (("staff", "antonio"), ("moderator", "maria"), ("hr", "lucia")):
        made = run("tokens", "create", "--role", role, "--name", role, "--staff", person,
                   env=env)
        assert made.returncode == 0, made.stderr
    rows = json.loads(run("tokens", "list", "--json", env=env).stdout)
    assert [(r["role"], r["staff"]) for r in rows] == [
        ("staff", "antonio"), ("moderator", "maria"), ("hr", "lucia")]


def test_a_token_for_a_person_needs_policies_that_load(database: Database,
                                                       tmp_path: Path) -> None:
    (tmp_path / "staff.yaml").write_text("staff: [\n", encoding="utf-8")
    env = {**env_for(database), "GUARDIAN_POLICIES_DIR": str(tmp_path)}
    ran = run("tokens", "create", "--role", "staff", "--name", "x", "--staff", "antonio",
              env=env)
    assert ran.returncode == 2 and "do not load" in ran.stderr
