"""`guardian labels export`: the moderators' decisions as a private TSV that `guardian eval`
reads, run as an operator runs them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import stat
from pathlib import Path

from guardian.review.decisions import decide_review
from guardian.review.queue import enqueue_review, flag_message, staff_flagger
from guardian.schemas import MessageIn
from guardian.storage.db import create_engine
from guardian.storage.messages import messages_table, store_messages
from guardian.types import ReviewDecision
from tests.commands import env_for, run
from tests.conftest import Database, example_policy, message

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
# (text, how it reached the queue, the moderator's decision); decided a minute apart.
DECIDED = [
    ("Eres un idiota y un inútil", "flagged", ReviewDecision.confirm),
    ("Sois unos payasos, dimitid", "abusive", ReviewDecision.confirm),
    ("Menudo imbécil el concejal", "flagged", ReviewDecision.block),
    ("Que asco de ayuntamiento de sinvergüenzas", "abusive", ReviewDecision.mute),
    ("Quiero reservar la sala el viernes", "flagged", ReviewDecision.dismiss),
    ("¿A qué hora abre\tel centro\nde salud?", "storm", ReviewDecision.dismiss),
    ("La farola de mi calle no funciona", "flagged", ReviewDecision.dismiss),
    ("Gracias por arreglar el contenedor", "storm", ReviewDecision.dismiss),
    ("Sé dónde vives", "threat", ReviewDecision.escalate),   # no label
]
UNDECIDED = "Un mensaje marcado que nadie ha revisado"
COLUMNS = ["id", "text", "lang", "label", "source", "level", "decided_at"]


async def _prepare(url: str) -> list[int]:
    engine = create_engine(url)
    ids = []
    try:
        for n, (text, reason, decision) in enumerate(
                [*DECIDED, (UNDECIDED, "flagged", None)]):
            async with engine.begin() as conn:
                [row] = await store_messages(conn=conn, messages=[MessageIn.model_validate(
                    message(str(n), text=text, author={"handle": f"@a{n}"}))])
                await conn.execute(messages_table.update()
                                   .where(messages_table.c.id == row.id)
                                   .values(harassment_level="abusive", masked_text="▒▒▒"))
                if reason == "flagged":
                    flagged = await flag_message(conn=conn, message_id=row.id,
                                                 flagger=staff_flagger("carmen"), via="link")
                    assert flagged is not None
                    item_id = flagged.item.id or 0
                else:
                    item = await enqueue_review(conn=conn, message_id=row.id, reason=reason,
                                                level="abusive")
                    item_id = item.id or 0
                if decision is not None:
                    await decide_review(
                        conn=conn, item_ids=[item_id], decision=decision,
                        moderator="moderator:ana", moderation=example_policy().moderation,
                        now=T0 + dt.timedelta(minutes=n),
                        escalated_to="hr" if decision == ReviewDecision.escalate else None)
            ids.append(row.id)
    finally:
        await engine.dispose()
    return ids


def test_labels_export_writes_a_private_tsv_that_eval_reads(database: Database,
                                                             tmp_path: Path) -> None:
    ids = asyncio.run(_prepare(database.url))
    env = env_for(database, GUARDIAN_MODELS_DIR=str(tmp_path / "models"))
    out = tmp_path / "labels.tsv"
    out.write_text("an older export\n")
    out.chmod(0o644)
    shown = run("labels", "export", "--out", str(out), env=env)
    assert shown.returncode == 0, shown.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "raw text" in shown.stderr and "private" in shown.stderr
    assert "8 labelled messages (4 abusive, 4 not abusive)" in shown.stderr
    assert f"guardian eval --data {out} --text-column text" in shown.stderr
    assert shown.stdout == ""

    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[0].split("\t") == COLUMNS and lines[-1] == ""
    rows = [dict(zip(COLUMNS, line.split("\t"), strict=True)) for line in lines[1:-1]]
    assert [int(r["id"]) for r in rows] == ids[:8]   # no escalation, no undecided flag
    assert [(r["label"], r["source"]) for r in rows] == [
        ("abusive", "flag"), ("abusive", "moderation"), ("abusive", "flag"),
        ("abusive", "moderation"), ("not_abusive", "flag"), ("not_abusive", "moderation"),
        ("not_abusive", "flag"), ("not_abusive", "moderation")]
    # The raw text (not the masked one), on one line; the scorer's level, the language.
    assert rows[0]["text"] == "Eres un idiota y un inútil"
    assert rows[5]["text"] == "¿A qué hora abre el centro de salud?"
    assert {(r["lang"], r["level"]) for r in rows} == {("es", "abusive")}
    assert dt.datetime.fromisoformat(rows[2]["decided_at"]) == T0 + dt.timedelta(minutes=2)

    evaluated = run("eval", "--data", str(out), "--text-column", "text", "--label-column",
                    "label", "--positive", "abusive", "--delimiter", "tab", "--scorer", "lite",
                    env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert (report["texts"], report["positives"]) == (8, 4)


def test_labels_export_to_standard_output_since_an_instant(database: Database) -> None:
    ids = asyncio.run(_prepare(database.url))
    env = env_for(database)
    since = (T0 + dt.timedelta(minutes=6)).isoformat()
    shown = run("labels", "export", "--since", since, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split("\t") == COLUMNS
    assert [int(line.split("\t")[0]) for line in lines[1:]] == ids[6:8]
    assert "raw text" in shown.stderr
    refused = run("labels", "export", "--since", "yesterday", env=env)
    assert refused.returncode == 2 and "--since" in refused.stderr
