"""`guardian simulate` and `guardian explain`: what Guardian decides, and why."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from guardian.cli.common import policy_or_exit, settings_or_exit, warn_scorer, with_database
from guardian.cli.scoring import SCORERS
from guardian.scoring.assessor import assessor_for
from guardian.scoring.select import load_model


@click.command()
@click.option("--policies", "policies_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Policy directory to try (default GUARDIAN_POLICIES_DIR).")
@click.option("--messages", "messages_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines: messages with `received_at`, acks and mutes (see docs).")
@click.option("--scorer", type=SCORERS, default="lite", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@click.option("--reasons", is_flag=True, help="Print each event's reasons under it.")
@click.option("--no-bodies", "no_bodies", is_flag=True,
              help="Leave out what each delivery says (title and body).")
def simulate(policies_dir: Path | None, messages_file: Path, scorer: str, as_json: bool,
             reasons: bool, no_bodies: bool) -> None:
    """Replay messages through the live pipeline (scoring, decisions, escalation timers,
    the outbox's send-time rules, digests, the hourly cap) in simulated time, on a
    temporary database with the channels replaced by a recorder, and print every event:
    each delivery as its recipient reads it, each decision with its reasons, each skipped
    escalation step. Touches no database of yours: try a policy change before it goes
    live."""
    from guardian.engine.simulate import ReplayError, Simulation, read_replay

    settings = settings_or_exit()
    policy = policy_or_exit(policies_dir or settings.policies_dir)
    try:
        items = read_replay(messages_file)
    except ReplayError as exc:
        raise click.ClickException(f"{messages_file}: {exc}") from None
    model, status = load_model(settings, scorer)
    warn_scorer(status)
    simulation = Simulation(policy=policy,
                            assessor=assessor_for(model, policy, status.attributor))
    zone = ZoneInfo(policy.town.timezone)
    for event in simulation.run(items):
        if as_json:
            click.echo(json.dumps(event.as_json(), ensure_ascii=False))
            continue
        click.echo(event.line(zone))
        if event.body and not no_bodies:
            for line in [event.title, *event.body.splitlines()]:
                if line.strip():
                    click.echo(f"      | {line}")
        if reasons:
            for reason in event.reasons:
                click.echo(f"      - {reason}")


@click.command()
@click.argument("message_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="The stored assessment and decision.")
def explain(message_id: int, as_json: bool) -> None:
    """Why a message went where it went: its scores, its category and urgency, and each
    outcome with its reasons (rotation, override, quiet hours, rate limit...)."""
    from guardian.decide import Decision
    from guardian.storage.messages import get_message

    settings = settings_or_exit()
    found = with_database(settings, lambda engine: get_message(engine=engine,
                                                               message_id=message_id))
    message = found[0] if found else None
    if message is None:
        raise click.ClickException(f"no message {message_id}")
    if as_json:
        click.echo(json.dumps({"id": message.id, "stage": message.stage,
                               "assessment": message.assessment,
                               "masked_text": message.masked_text,
                               "decision": message.decision}, indent=2, ensure_ascii=False))
        return
    click.echo(f"message {message.id} from {message.author_handle} on {message.source}, "
               f"stage {message.stage}")
    if message.assessment:
        click.echo(f"scored {message.assessment['level']} by "
                   f"{message.assessment['scorer']['name']}:")
        for reason in message.assessment.get("reasons", []):
            click.echo(f"  - {reason}")
        click.echo(f"staff see: {message.masked_text}")
    if message.decision is None:
        click.echo("not decided yet.")
        return
    for line in Decision.from_json(message.decision).explain():
        click.echo(line)
