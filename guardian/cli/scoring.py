"""`guardian score`, `eval`, `train-lite`, `train-signals` and `models`: the harassment
scorer."""

from __future__ import annotations

import json
from pathlib import Path

import click

from guardian.cli.common import settings_or_exit, warn_scorer
from guardian.config.settings import DETOXIFY_VARIANTS, Settings
from guardian.errors import ScorerUnavailable
from guardian.policy_files.loader import load_policy
from guardian.scoring.assessor import Assessor, assessor_for
from guardian.scoring.select import ScorerStatus, load_model

SCORERS = click.Choice(["auto", "lite", "detoxify"])


def assessor_or_exit(settings: Settings, scorer: str | None) -> tuple[Assessor, ScorerStatus]:
    """The scorer the service would use, with the policy's harassment rules."""
    try:
        model, status = load_model(settings, scorer)
    except ScorerUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    loaded = load_policy(settings.policies_dir)
    return assessor_for(model, loaded.policy, status.attributor), status


@click.command()
@click.option("--scorer", type=SCORERS, default=None, help="Override GUARDIAN_SCORER.")
@click.option("--lang", default=None, help="Language hint (otherwise detected).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text.")
@click.argument("texts", nargs=-1, required=True)
def score(scorer: str | None, lang: str | None, as_json: bool, texts: tuple[str, ...]) -> None:
    """Score TEXTS for harassment: labels, level, masked text and reasons."""
    settings = settings_or_exit()
    assessor, status = assessor_or_exit(settings, scorer)
    warn_scorer(status)
    for text, result in zip(texts, assessor.assess(list(texts), [lang] * len(texts)),
                            strict=True):
        if as_json:
            click.echo(json.dumps({"text": text, **result.as_json(),
                                   "masked_text": result.masked_text}, ensure_ascii=False))
            continue
        labels = "  ".join(f"{k}={v:.2f}" for k, v in result.labels.items())
        click.echo(f"level: {result.level}   language: {result.lang or 'unknown'}"
                   f"{'' if result.covered else ' (not covered)'}   scorer: "
                   f"{result.scorer.name} {result.scorer.variant}\n  {labels}\n"
                   f"  masked: {result.masked_text}")
        for reason in result.reasons:
            click.echo(f"  - {reason}")


@click.command("eval")
@click.option("--levels", "levels_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Town-hall messages with their expected level and masked text (JSON "
                   "Lines, as tests/data/town_messages.jsonl): print the confusion table of "
                   "levels and the masked-text mismatches instead.")
@click.option("--data", "data_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A labelled CSV or TSV file.")
@click.option("--text-column", default=None, help="Column holding the text.")
@click.option("--label-column", default=None, help="Column holding the label.")
@click.option("--positive", default=None,
              help="Label value(s) that mean abusive, comma-separated (e.g. 0,1 or OFP,OFG).")
@click.option("--delimiter", default=",", show_default=True,
              help="Field separator; `\\t` (or `tab`) for TSV.")
@click.option("--scorer", type=SCORERS, default=None)
@click.option("--obfuscate", is_flag=True,
              help="Obfuscate every text first (seeded) to measure robustness.")
@click.option("--seed", type=int, default=0, show_default=True, help="Obfuscation seed.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N rows.")
@click.option("--json", "as_json", is_flag=True,
              help="With --levels: the whole report as JSON.")
def eval_command(levels_path: Path | None, data_path: Path | None, text_column: str | None,
                 label_column: str | None, positive: str | None, delimiter: str,
                 scorer: str | None, obfuscate: bool, seed: int, limit: int | None,
                 as_json: bool) -> None:
    """Measure the scorer: on labelled data (--data), ROC-AUC, precision, recall, F1 and
    texts/s as JSON; on town-hall messages (--levels), levels and masked texts."""
    from guardian.scoring.evaluate import DataError, evaluate, read_labelled

    settings = settings_or_exit()
    if levels_path is not None:
        _eval_levels(settings, levels_path, scorer, as_json)
        return
    needed = {"--data": data_path, "--text-column": text_column,
              "--label-column": label_column, "--positive": positive}
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        click.echo(f"error: give --levels FILE, or {', '.join(missing)} (labelled data).",
                   err=True)
        raise SystemExit(2)
    assert data_path and text_column and label_column and positive  # for the type checker
    separator = "\t" if delimiter in ("\\t", "tab", "\t") else delimiter
    try:
        data = read_labelled(data_path, text_column=text_column, label_column=label_column,
                             positive=positive.split(","), delimiter=separator, limit=limit)
    except DataError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    assessor, status = assessor_or_exit(settings, scorer)
    warn_scorer(status)
    report = evaluate(assessor, data, obfuscate_seed=seed if obfuscate else None)
    click.echo(json.dumps({"data": str(data_path), **report}, indent=2))


def _eval_levels(settings: Settings, path: Path, scorer: str | None, as_json: bool) -> None:
    from guardian.scoring.evaluate import DataError, evaluate_levels, levels_table, read_cases

    try:
        cases = read_cases(path)
    except DataError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    assessor, status = assessor_or_exit(settings, scorer)
    warn_scorer(status)
    report = evaluate_levels(assessor, cases)
    if as_json:
        click.echo(json.dumps({"data": str(path), **report}, indent=2, ensure_ascii=False))
        return
    click.echo(levels_table(report))
    for wrong in report["wrong_level"]:
        click.echo(f"level  {wrong['id']}: expected {wrong['expected']}, got {wrong['got']}")
    for shown in report["visible"]:
        click.echo(f"shown  {shown['id']}: {', '.join(shown['visible'])} left in "
                   f"{shown['masked']!r}")
    for lost in report["stripped"]:
        click.echo(f"lost   {lost['id']}: {', '.join(lost['lost'])} gone from "
                   f"{lost['masked']!r}")
    for mismatch in report["masked_mismatches"]:
        click.echo(f"masked {mismatch['id']}:\n  expected {mismatch['expected']!r}\n"
                   f"  got      {mismatch['got']!r}")


@click.command("train-lite")
@click.option("--lang", type=click.Choice(["es"]), required=True,
              help="Language of the model (Spanish: trained on OffendES).")
@click.option("--data", "data_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="OffendES-style TSV: columns comment and label (OFP/OFG offensive).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Cross-validation folds reported before the final fit.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the weights (.npz); a .json report goes beside it.")
def train_lite_command(lang: str, data_path: Path, seed: int, folds: int, out: Path) -> None:
    """Train the lite scorer's model for LANG, deterministically; print the CV report."""
    from guardian.scoring.linear import save_trained, train_lite

    if out.suffix != ".npz":
        click.echo("error: --out must name a .npz file.", err=True)
        raise SystemExit(2)
    model, report = train_lite(lang=lang, data=data_path, seed=seed, folds=folds)
    out.parent.mkdir(parents=True, exist_ok=True)
    report_path = save_trained(model, report, out)
    click.echo(report_path.read_text(encoding="utf-8"), nl=False)


@click.command("train-signals")
@click.option("--data", "data_paths", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Town-hall messages labelled threat, sexual, identity, insult or other "
                   "(JSON Lines with text and label; training/signals/*.jsonl). Repeatable.")
@click.option("--offendes", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None,
              help="OffendES directory: its comments are negatives (harmless ones for every "
                   "label, offensive ones for what they are not).")
@click.option("--davidson", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Davidson et al. (2017) directory: its tweets are negatives, "
                                 "as OffendES's.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the model (.npz).")
def train_signals_command(data_paths: tuple[Path, ...], offendes: Path | None,
                          davidson: Path | None, seed: int, out: Path) -> None:
    """Train the town's signal model (threats, sexual harassment, attacks on groups,
    insults), deterministically; print its report as JSON."""
    from guardian.scoring import signals
    from guardian.scoring.normalise import normalise

    if out.suffix != ".npz":
        click.echo("error: --out must name a .npz file.", err=True)
        raise SystemExit(2)
    try:
        examples = [*signals.read_examples(data_paths),
                    *signals.read_offensive(offendes, davidson)]
        ordinary = signals.read_ordinary(offendes, davidson)
        model = signals.train(examples, ordinary, seed=seed,
                              normalise_text=lambda text: normalise(text).text)
    except (ValueError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    click.echo(json.dumps({"model": str(out), "version": model.version, **model.report},
                          indent=2))


@click.group()
def models() -> None:
    """Detoxify model weights."""


@models.command("pull")
@click.argument("variant", type=click.Choice(list(DETOXIFY_VARIANTS)))
def models_pull(variant: str) -> None:
    """Download VARIANT's weights into GUARDIAN_MODELS_DIR, with a progress bar.

    Files already copied there by hand (GUARDIAN_MODELS_DIR/VARIANT/checkpoint.ckpt and
    hf/) are checked and recorded instead of downloaded again. With
    GUARDIAN_DETOXIFY_RUNTIME=onnx (the default) the ONNX Runtime files are made beside them
    (VARIANT/onnx/), or made again when they are another checkpoint's.
    """
    import guardian.scoring.detox as detox
    from guardian.scoring import detox_onnx

    settings = settings_or_exit()
    by_hand = detox.copied_by_hand(variant, settings.models_dir)
    try:
        path = detox.pull(variant, settings.models_dir, progress=True)
        if settings.detoxify_runtime == "onnx":
            checkpoint, config_dir = detox.cached_files(variant, settings.models_dir)
            detox_onnx.export(variant, checkpoint, config_dir, cache_dir=settings.models_dir,
                              on_start=lambda reason: _exporting(variant, checkpoint, reason))
    except detox.ModelUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    if by_hand:
        click.echo(f"{variant}: the files copied into {path} are the {variant} model's; "
                   f"recorded them in {path / detox.MANIFEST_FILE}, nothing was downloaded; "
                   "`guardian score` and the service use them now.")
    else:
        click.echo(f"{variant} is ready in {path}; `guardian score` and the service use it now.")
    if settings.detoxify_runtime == "onnx":
        _echo_export(variant, detox_onnx.onnx_dir(path / detox.CHECKPOINT_FILE))


def _exporting(variant: str, checkpoint: Path, reason: str) -> None:
    click.echo(f"{variant}: exporting {checkpoint} to ONNX Runtime (current export: {reason}); "
               "about a minute for a base model ...", err=True)


@models.command("export")
@click.argument("variant", type=click.Choice(list(DETOXIFY_VARIANTS)), required=False)
@click.option("--force", is_flag=True, help="Export again even if the files are current.")
def models_export(variant: str | None, force: bool) -> None:
    """Make the ONNX Runtime files of VARIANT (default GUARDIAN_DETOXIFY_VARIANT).

    From GUARDIAN_DETOXIFY_CHECKPOINT and GUARDIAN_DETOXIFY_CONFIG_DIR when they are set (an
    offline install: the files go to onnx/ beside the checkpoint), else from what `guardian
    models pull` left in GUARDIAN_MODELS_DIR/VARIANT. Nothing is done when the files there
    were made from this very checkpoint, unless --force. The service makes them at first
    load otherwise; this does it ahead of time.
    """
    import guardian.scoring.detox as detox
    from guardian.scoring import detox_onnx

    settings = settings_or_exit()
    variant = variant or settings.detoxify_variant
    try:
        checkpoint, config_dir, cache_dir = detox.resolve_files(
            variant, settings.detoxify_checkpoint, settings.detoxify_config_dir,
            settings.models_dir)
        result = detox_onnx.export(
            variant, checkpoint, config_dir, cache_dir=cache_dir, force=force,
            on_start=lambda reason: _exporting(variant, checkpoint, reason))
    except detox.ModelUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    if not result.exported:
        click.echo(f"{variant}: the ONNX Runtime files in {result.directory} are already "
                   f"{checkpoint.name}'s; nothing to do (--force exports again).")
        return
    _echo_export(variant, result.directory)


def _echo_export(variant: str, directory: Path) -> None:
    from guardian.scoring import detox_onnx

    manifest = detox_onnx.read_manifest(directory)
    differences = manifest.get("max_difference_from_torch", {})
    sizes = manifest.get("files", {})
    files = ", ".join(f"{name} ({sizes.get(name, 0) / 1e6:.0f} MB, within "
                      f"{differences.get(name, float('nan')):.1e} of torch)"
                      for name in (detox_onnx.FP32_FILE, detox_onnx.INT8_FILE))
    click.echo(f"{variant}: ONNX Runtime files in {directory}: {files}.")
