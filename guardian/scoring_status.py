"""Which harassment scorer is active and what it cannot do, for /health and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from guardian.config import ScorerChoice


@dataclass(frozen=True)
class ScorerStatus:
    active: str
    languages: tuple[str, ...]
    warning: str | None


def resolve_scorer(choice: ScorerChoice) -> ScorerStatus:
    """The scorer `choice` gives on this installation.

    No scorer ships yet (Detoxify and the lite scorer arrive with the scoring issue), so
    `auto` resolves to `none`: messages pass the scoring stage unscored, and we say so.
    """
    del choice  # both choices resolve to the same scorer until one is installed
    return ScorerStatus(
        active="none",
        languages=(),
        warning="No harassment scorer is installed: messages are not scored yet.",
    )
