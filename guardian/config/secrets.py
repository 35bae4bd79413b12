"""Where `{env:NAME}` secrets are looked up: the environment first, then the secrets file
named by `GUARDIAN_SECRETS_FILE` (`NAME=value` lines, as a systemd EnvironmentFile or a
mounted Docker/Kubernetes secret), re-read when the file changes. Values are never logged.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

SECRETS_FILE_SETTING = "GUARDIAN_SECRETS_FILE"
_SECRET_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)")

log = logging.getLogger(__name__)


class SecretsFileError(ValueError):
    """Why a secrets file cannot be used. Names the file and a line, never a value."""


def parse_secrets(text: str, path: Path | str) -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments are skipped, spaces around the name
    and the value are dropped, and one pair of quotes around a value is removed (as systemd
    does). The last of two lines with the same name wins."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SECRET_LINE.fullmatch(line)
        if match is None:
            # Never quote the line: it may hold a secret.
            raise SecretsFileError(f"line {number} of the secrets file {path} is not "
                                   "NAME=value (a name of letters, digits and _), a # comment "
                                   "or a blank line")
        value = match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[match[1]] = value
    return values


def read_secrets_file(path: Path | str) -> dict[str, str]:
    """The file's secrets; `SecretsFileError` (naming the path) if it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretsFileError(f"the secrets file {path} does not exist") from None
    except OSError as exc:
        raise SecretsFileError(f"the secrets file {path} cannot be read "
                               f"({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise SecretsFileError(f"the secrets file {path} is not UTF-8 text") from None
    return parse_secrets(text, path)


class SecretsFile:
    """A secrets file read once, and again whenever its modification time, size or inode
    changes (an edit, or a rotated Kubernetes secret). If a new version cannot be read, the
    last good values stay in use and a warning (never a value) is logged once."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._values: dict[str, str] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._unreadable = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SecretsFile({str(self.path)!r})"

    def values(self) -> Mapping[str, str]:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            self._warn_once(f"the secrets file {self.path} cannot be read now "
                            f"({exc.strerror or type(exc).__name__})")
            return self._values
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._values = read_secrets_file(self.path)
                    except SecretsFileError as exc:
                        self._warn_once(str(exc))
                    else:
                        if self._stamp is not None or self._unreadable:
                            log.info("re-read the secrets file %s (%d names)", self.path,
                                     len(self._values))
                        self._unreadable = False
                    self._stamp = stamp
        return self._values

    def _warn_once(self, why: str) -> None:
        if not self._unreadable:
            self._unreadable = True
            kept = "the secrets read before stay in use" if self._values else "it is ignored"
            log.warning("%s; %s until it is fixed", why, kept)


class Secrets(Mapping[str, str]):
    """Where `{env:NAME}` is looked up: the environment first, then the secrets file."""

    def __init__(self, file: SecretsFile | None, environ: Mapping[str, str] | None = None
                 ) -> None:
        self.file = file
        self._environ = environ

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def __getitem__(self, name: str) -> str:
        environ = self.environ
        if name in environ:
            return environ[name]
        if self.file is not None:
            return self.file.values()[name]
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self.environ or (self.file is not None and name in self.file.values())

    def __iter__(self) -> Iterator[str]:
        environ = self.environ
        yield from environ
        if self.file is not None:
            yield from (name for name in self.file.values() if name not in environ)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:  # never the values
        return f"Secrets(file={self.file!r})"


@functools.lru_cache(maxsize=8)
def _shared_file(path: str) -> SecretsFile:
    """One reader per file in a process, so that a file is read once, not per sender."""
    return SecretsFile(path)


class WithSecretsFile(Protocol):
    """What `secret_source` reads of the settings (`guardian.config.settings.Settings`)."""

    @property
    def secrets_file(self) -> Path | None: ...


def secret_source(settings: WithSecretsFile | None = None,
                  environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """The mapping `{env:NAME}` is resolved against: `environ` (default `os.environ`) over
    the secrets file of `settings` (default: `GUARDIAN_SECRETS_FILE` in the environment).
    Without a secrets file it is the environment itself."""
    if settings is not None:
        path = str(settings.secrets_file) if settings.secrets_file is not None else ""
    else:
        path = os.environ.get(SECRETS_FILE_SETTING, "").strip()
    if not path:
        return os.environ if environ is None else environ
    return Secrets(_shared_file(os.path.abspath(path)), environ)
