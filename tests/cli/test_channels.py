"""`guardian channels test STAFF_ID`, run as a user runs it, against a real HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from guardian.notify.channels_check import message_for
from tests.commands import invoke
from tests.conftest import POLICIES, ROOT, example_policy
from tests.receivers import JsonReceiver, closed_port

SECRET = "cl1-S3cret-value"
SPANISH = ("Mensaje de prueba de Guardian para Antonio Molina: si lo lees, este canal "
           "funciona.")
LINE = re.compile(r"^(\d+)  (\S+)  (OK|FAILED)  (\d+) ms(?:  (.+))?$")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def lines(self) -> list[tuple[str, ...]]:
        found = []
        for line in self.stdout.splitlines():
            match = LINE.match(line)
            assert match is not None, f"not a result line: {line!r}"
            found.append(match.groups(default=""))
        return found


def policies_with(tmp_path: Path, channels: Sequence[str]) -> Path:
    """A copy of the example policies where Antonio's channels are `channels`."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    staff = target / "staff.yaml"
    text = staff.read_text()
    start = text.index("  - id: antonio\n")
    end = text.index("  - id: ", start + 1)
    listed = "".join(f'\n      - "{url}"' for url in channels) if channels else " []"
    block, count = re.subn(r"    channels:\n(?:      - .*\n)+", f"    channels:{listed}\n",
                           text[start:end])
    assert count == 1
    staff.write_text(text[:start] + block + text[end:])
    return target


async def guardian(*args: str, policies: Path, secrets_file: Path | None = None) -> Run:
    """The command in a thread of this process, while this test's loop serves the
    receiver."""
    env: dict[str, str | None] = {"GUARDIAN_ENV": "development",
                                  "GUARDIAN_POLICIES_DIR": str(policies), "HOOK_PASSWORD": None}
    if secrets_file is not None:
        env["GUARDIAN_SECRETS_FILE"] = str(secrets_file)
    ran = await asyncio.wait_for(asyncio.to_thread(invoke, *args, env=env, cwd=ROOT), 60)
    return Run(ran.returncode, ran.stdout, ran.stderr)


async def test_every_channel_works(receiver: JsonReceiver, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"# channel secrets\nHOOK_PASSWORD={SECRET}\n")
    policies = policies_with(tmp_path, [
        receiver.url("first"), receiver.url("second", userinfo="guardian:{env:HOOK_PASSWORD}@")])

    run = await guardian("channels", "test", "antonio", policies=policies, secrets_file=secrets)
    assert run.returncode == 0, run.stderr
    lines = run.lines()
    assert [(index, status, error) for index, _, status, _, error in lines] == [
        ("1", "OK", ""), ("2", "OK", "")]
    assert lines[0][1].startswith(f"json://127.0.0.1:{receiver.port}/first")
    assert lines[1][1].startswith("json://guardian:")
    assert "all 2 channel(s) OK" in run.stderr

    # The test message, in Antonio's language, went to each channel in order.
    assert [(p.path, p.json["message"]) for p in receiver.posts] == [
        ("/first", SPANISH), ("/second", SPANISH)]
    expected = base64.b64encode(f"guardian:{SECRET}".encode()).decode()
    assert receiver.posts[1].authorization == f"Basic {expected}"
    assert SECRET not in run.stdout and SECRET not in run.stderr


async def test_a_failing_channel_is_reported_and_the_rest_still_tried(
        receiver: JsonReceiver, tmp_path: Path) -> None:
    policies = policies_with(tmp_path, [f"json://127.0.0.1:{closed_port()}/hook",
                                        "json://guardian:{env:HOOK_PASSWORD}@127.0.0.1/x",
                                        receiver.url("last")])

    run = await guardian("channels", "test", "antonio", policies=policies)
    assert run.returncode == 1
    lines = run.lines()
    assert [(index, status) for index, _, status, _, _ in lines] == [
        ("1", "FAILED"), ("2", "FAILED"), ("3", "OK")]
    assert lines[0][4]  # why it failed
    assert "HOOK_PASSWORD" in lines[1][4] and "not set" in lines[1][4]
    assert lines[1][1] == "json://guardian:***@127.0.0.1/x"  # the template, masked
    assert [p.path for p in receiver.posts] == ["/last"]
    assert "2 of 3 channel(s) FAILED" in run.stderr


async def test_json_output(receiver: JsonReceiver, tmp_path: Path) -> None:
    policies = policies_with(tmp_path, [receiver.url(), f"json://127.0.0.1:{closed_port()}/"])
    run = await guardian("channels", "test", "antonio", "--json", policies=policies)
    assert run.returncode == 1
    results = json.loads(run.stdout)
    assert [(r["index"], r["ok"]) for r in results] == [(1, True), (2, False)]
    assert results[0]["url"].startswith(f"json://127.0.0.1:{receiver.port}/hook")
    assert results[0]["error"] is None and results[1]["error"]
    assert all(r["duration_ms"] >= 0 for r in results)


async def test_an_unknown_person_or_one_without_channels_is_a_usage_error(
        tmp_path: Path) -> None:
    policies = policies_with(tmp_path, [])
    unknown = await guardian("channels", "test", "nadie", policies=policies)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "no staff member `nadie`" in unknown.stderr and "antonio" in unknown.stderr

    empty = await guardian("channels", "test", "antonio", policies=policies)
    assert empty.returncode == 2 and empty.stdout == ""
    assert "has no channels" in empty.stderr


def test_the_message_is_in_the_persons_first_language() -> None:
    antonio = example_policy().people["antonio"]
    assert message_for(antonio)[1] == SPANISH
    english = antonio.model_copy(update={"languages": ["en", "es"]})
    assert message_for(english)[1] == ("Guardian test message for Antonio Molina: if you read "
                                      "this, this channel works.")
