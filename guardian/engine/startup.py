"""What a long-running process does once it has started."""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Put every object alive now (imported libraries, the loaded model, the policy) out of
    the garbage collector's sight.

    Those are a million objects or more that live as long as the process, and every full
    collection walked them all: pauses of 80 to 120 ms every few seconds under load, the
    largest source of ingest-to-decision p99 at 200 messages a second. Frozen, a full
    collection walks only what was made since (`gc.freeze`, as its documentation suggests
    for long-lived servers).
    """
    gc.collect()
    gc.freeze()
    log.debug("%d objects frozen out of garbage collection", gc.get_freeze_count())
