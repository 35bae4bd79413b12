"""A policy with some of its files changed, for the what-if: the files of the policy in
force copied to a temporary directory, the changed ones written over them (a new name adds
a file; an empty file takes out what its namesake held), and the whole read by the same
loader as `guardian policies check`. Problems are named by the file's name, never by the
temporary path. Uploads are checked first: how many, how big, their names."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from guardian.policy.model import Policy
from guardian.policy_files.loader import Problem, WithProblems, load_policy, policy_files

MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 20
# A file's own name (no folders), ending as the loader reads them.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml")
UPLOAD = "upload"  # where a problem of the upload as a whole is said to be


@dataclass(frozen=True)
class Uploads:
    """Checked uploads: the texts by name, or the problems and the status they answer."""

    texts: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    status: int = 200      # 413 (too many, too big) or 422 (names, encoding) otherwise


def check_uploads(files: Sequence[tuple[str, bytes]]) -> Uploads:
    """Every problem of the uploaded files at once (none is read as YAML here)."""
    problems: list[Problem] = []
    too_big = False
    if not files:
        problems.append(Problem(UPLOAD, None, "Choose at least one policy file (.yaml or "
                                              ".yml)."))
    if len(files) > MAX_FILES:
        too_big = True
        problems.append(Problem(UPLOAD, None, f"{len(files)} files: at most {MAX_FILES} "
                                              "at a time."))
    texts: dict[str, str] = {}
    for raw_name, data in files[:MAX_FILES]:
        name = raw_name[:120]
        if not _NAME.fullmatch(raw_name):
            problems.append(Problem(name, None, "is not a policy file's name: a name such "
                                    "as staff.yaml (letters, digits, `.`, `-`, `_`, ending "
                                    "in .yaml or .yml), without folders."))
            continue
        if len(data) > MAX_FILE_BYTES:
            too_big = True
            problems.append(Problem(name, None, f"is {len(data):,} bytes: a policy file may "
                                    f"be at most {MAX_FILE_BYTES // 1024} KiB."))
            continue
        if name in texts:
            problems.append(Problem(name, None, "is there twice; send it once."))
            continue
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, None, "is not UTF-8 text."))
    if problems:
        return Uploads({}, problems, 413 if too_big else 422)
    return Uploads(texts)


@dataclass(frozen=True)
class Changed(WithProblems):
    policy: Policy | None                # None: an error, see `problems`
    problems: list[Problem]              # errors and warnings, by file name and line
    replaced: list[str]                  # files of the policy in force written over
    added: list[str]                     # new files


def with_changes(directory: Path, texts: Mapping[str, str], *, now: dt.datetime) -> Changed:
    """The policy of `directory` with `texts` (checked names) written over its files,
    checked as `guardian policies check` checks (looking ahead from `now`)."""
    existing = {p.name for p in policy_files(directory)} if directory.is_dir() else set()
    with tempfile.TemporaryDirectory(prefix="guardian-what-if-") as tmp:
        work = Path(tmp) / directory.name
        work.mkdir()
        for name in existing:
            shutil.copyfile(directory / name, work / name)
        for name, text in texts.items():
            (work / name).write_text(text, encoding="utf-8")
        loaded = load_policy(work, now=now)

    def named(problem: Problem) -> Problem:
        path = Path(problem.file)
        shown = path.name if path.parent == work else directory.name
        return Problem(shown, problem.line, problem.message, problem.severity)

    return Changed(loaded.policy, [named(p) for p in loaded.problems],
                   sorted(n for n in texts if n in existing),
                   sorted(n for n in texts if n not in existing))
