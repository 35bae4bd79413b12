"""Which scorer runs: Detoxify when its weights are present, else lite, and we say so.

Detoxify runs on ONNX Runtime (GUARDIAN_DETOXIFY_RUNTIME=onnx, the default; the export is
made at load when `guardian models pull` or `export` has not made it) or on torch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from guardian.config.settings import Settings
from guardian.errors import ScorerUnavailable
from guardian.scoring.types import Model

log = logging.getLogger(__name__)
# The fallback warning goes to the service's log (serve, worker, the scoring process). A
# command that configures no logging prints the status itself (`warn_scorer`): without a
# handler here, Python's last-resort handler would print the warning to stderr a second time.
log.addHandler(logging.NullHandler())
__all__ = ["ScorerStatus", "ScorerUnavailable", "load_model"]


@dataclass(frozen=True)
class ScorerStatus:
    choice: str
    active: str
    variant: str
    version: str
    languages: tuple[str, ...]
    warning: str | None = None
    limitations: str | None = None
    # With Detoxify: the lite model, to find the words to mask cheaply.
    attributor: Model | None = None


def fix_command(settings: Settings) -> str:
    return f"guardian models pull {settings.detoxify_variant}"


def detoxify_present(settings: Settings) -> bool:
    # Imported here, like the models below: torch takes seconds to import.
    import guardian.scoring.detox as detox

    if settings.detoxify_checkpoint is not None:
        return settings.detoxify_checkpoint.is_file() and bool(
            settings.detoxify_config_dir and settings.detoxify_config_dir.is_dir())
    return detox.available(settings.detoxify_variant, settings.models_dir)


def _load_detoxify(settings: Settings) -> Model:
    import guardian.scoring.detox as detox

    if not detoxify_present(settings):
        where = (str(settings.detoxify_checkpoint) if settings.detoxify_checkpoint
                 else str(settings.models_dir / settings.detoxify_variant))
        raise ScorerUnavailable(
            f"Detoxify {settings.detoxify_variant} weights are not at {where}: run "
            f"`{fix_command(settings)}` (or set GUARDIAN_DETOXIFY_CHECKPOINT and "
            "GUARDIAN_DETOXIFY_CONFIG_DIR for an offline copy).")
    runtime: Callable[..., detox.DetoxifyScorer] = detox.DetoxifyModel
    if settings.detoxify_runtime == "onnx":
        # Imported only when used: the torch runtime has no use for onnxruntime.
        from guardian.scoring.detox_onnx import OnnxDetoxifyModel

        runtime = OnnxDetoxifyModel
    model = runtime(settings.detoxify_variant, checkpoint=settings.detoxify_checkpoint,
                    config_dir=settings.detoxify_config_dir, cache_dir=settings.models_dir,
                    quantize=settings.detoxify_quantize)
    model.warm_up()
    return model


def load_model(settings: Settings, choice: str | None = None) -> tuple[Model, ScorerStatus]:
    """Load the scorer once (and warm it); `choice` overrides GUARDIAN_SCORER."""
    from guardian.scoring.lite import LIMITATIONS, LiteModel

    wanted = choice or settings.scorer
    warning = None
    if wanted in ("auto", "detoxify"):
        try:
            model = _load_detoxify(settings)
        except ScorerUnavailable as exc:
            if wanted == "detoxify":
                raise
            warning = (f"{exc} Until then the lite scorer runs. {LIMITATIONS}")
            log.warning("scorer: %s", warning)
        else:
            return model, ScorerStatus(wanted, model.name, model.variant, model.version,
                                       tuple(sorted(model.languages)),
                                       attributor=LiteModel())
    lite = LiteModel()
    return lite, ScorerStatus(wanted, lite.name, lite.variant, lite.version,
                              tuple(sorted(lite.languages)), warning=warning,
                              limitations=LIMITATIONS)
