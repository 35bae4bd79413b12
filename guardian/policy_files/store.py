"""The running service's policy: reloaded on SIGHUP or when its files change; a policy that
does not load is reported and the last good one stays in force."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from guardian.policy.model import Policy
from guardian.policy_files.loader import LoadResult, Problem, load_policy, policy_files

log = logging.getLogger(__name__)
Listener = Callable[[Policy], None]


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the policy files: cheap to poll."""
    found = []
    for path in policy_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


@dataclass
class PolicyStore:
    directory: Path
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    current: LoadResult = field(init=False)
    rejected: LoadResult | None = field(init=False, default=None)
    loaded_at: dt.datetime | None = field(init=False, default=None)
    rejected_at: dt.datetime | None = field(init=False, default=None)
    _listeners: list[Listener] = field(init=False, default_factory=list)
    _seen: tuple[tuple[str, int, int], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self.current = LoadResult(None, [])
        self.reload()

    @property
    def policy(self) -> Policy | None:
        return self.current.policy

    @property
    def errors(self) -> list[Problem]:
        return (self.rejected or self.current).errors

    @property
    def warnings(self) -> list[Problem]:
        return self.current.warnings

    def on_change(self, listener: Listener) -> None:
        """Call `listener` with each newly loaded policy (not with the current one)."""
        self._listeners.append(listener)

    def reload(self) -> bool:
        """Load the files again; True when a new policy is now in force."""
        self._seen = fingerprint(self.directory)
        result = load_policy(self.directory, now=self.clock())
        if result.policy is None:
            for problem in result.errors:
                log.error("policy: %s", problem)
            if self.current.policy is None:
                self.current = result
            else:
                log.error("policy: %d error(s) in %s; keeping the policy loaded at %s",
                          len(result.errors), self.directory, self.loaded_at)
                self.rejected, self.rejected_at = result, self.clock()
            return False
        for problem in result.warnings:
            log.warning("policy: %s", problem)
        self.current, self.rejected, self.rejected_at = result, None, None
        self.loaded_at = self.clock()
        log.info("policy loaded from %s: %s", self.directory, result.policy.summary())
        for listener in self._listeners:
            listener(result.policy)
        return True

    def reload_if_changed(self) -> bool:
        """Reload when a file was added, removed or modified since the last look."""
        if fingerprint(self.directory) == self._seen:
            return False
        return self.reload()
