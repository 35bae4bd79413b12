"""Reads `policies/*.yaml` into a `Policy`, reporting every problem with file and line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from guardian.policy.model import Policy, PolicyFile

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class LoadResult:
    policy: Policy | None
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class PolicyError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _node_at(root: yaml.Node, loc: Sequence[int | str]) -> tuple[yaml.Node, bool]:
    """The deepest node along `loc`, and whether the whole path was found."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    # An unknown key is best shown at the key itself.
                    child = value
                    break
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
        if child is None:
            return node, False
        node = child
    return node, True


def _key_node(root: yaml.Node, loc: Sequence[int | str]) -> yaml.Node | None:
    parent, found = _node_at(root, loc[:-1])
    if found and isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if key.value == loc[-1]:
                return key  # type: ignore[no-any-return]
    return None


def _sentence(error: Any) -> str:
    loc = [str(p) for p in error["loc"]]
    where = ".".join(loc) if loc else "the file"
    kind = error["type"]
    if kind == "missing":
        return f"`{loc[-1]}` is required here ({where})."
    if kind == "extra_forbidden":
        return f"`{loc[-1]}` is not a known field ({where}); check its spelling."
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}."


def _declared_ids(data: object) -> dict[str, set[str]]:
    """Ids a file declares, read from raw YAML: lets a file that failed validation still
    vouch for its people, so other files are not blamed for naming them."""
    found: dict[str, set[str]] = {"town": set(), "staff": set(), "teams": set(),
                                  "categories": set(), "unreadable": set()}
    if isinstance(data, dict):
        if "town" in data:
            found["town"].add("town")
        for section in ("staff", "teams", "categories"):
            items = data.get(section)
            if isinstance(items, list):
                found[section].update(
                    str(i["id"]) for i in items if isinstance(i, dict) and "id" in i)
    return found


def _read_file(path: Path, display: str, problems: list[Problem], declared: dict[str, set[str]]
               ) -> tuple[PolicyFile | None, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, None, f"cannot be read: {exc}."))
        return None, None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(display, line, f"is not valid YAML: {problem}."))
        declared["unreadable"].add(display)
        return None, None
    if root is None or data is None:
        return PolicyFile(), None
    for section, ids in _declared_ids(data).items():
        declared[section] |= ids
    if not isinstance(data, dict):
        problems.append(Problem(display, _line(root),
                                "must be a mapping with keys such as `staff:` or `teams:`."))
        return None, None
    try:
        return PolicyFile.model_validate(data), root
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] == "extra_forbidden":
                node = _key_node(root, loc)
                line = _line(node) if node is not None else _line(_node_at(root, loc)[0])
            else:
                line = _line(_node_at(root, loc)[0])
            problems.append(Problem(display, line, _sentence(error)))
        return None, root


def load_policy(directory: Path) -> LoadResult:
    """Read every `*.yaml`/`*.yml` file in `directory` and check them together."""
    problems: list[Problem] = []
    display_root = str(directory)
    if not directory.is_dir():
        return LoadResult(None, [Problem(display_root, None,
                                         "is not a directory of policy files.")])
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not paths:
        return LoadResult(None, [Problem(display_root, None, "holds no *.yaml policy files.")])
    files: list[tuple[str, PolicyFile, yaml.Node | None]] = []
    declared = _declared_ids(None)
    for path in paths:
        display = str(path)
        parsed, root = _read_file(path, display, problems, declared)
        if parsed is not None:
            files.append((display, parsed, root))
    policy = _merge(files, problems, display_root, declared)
    if any(p.severity == "error" for p in problems):
        policy = None
    return LoadResult(policy, problems, [str(p) for p in paths])


def _item_line(root: yaml.Node | None, section: str, index: int) -> int | None:
    if root is None:
        return None
    node, _ = _node_at(root, [section, index])
    return _line(node)


def _merge(files: list[tuple[str, PolicyFile, yaml.Node | None]], problems: list[Problem],
           display_root: str, declared: dict[str, set[str]]) -> Policy | None:
    town = None
    staff_where: dict[str, tuple[str, int | None]] = {}
    team_where: dict[str, tuple[str, int | None]] = {}
    category_where: dict[str, tuple[str, int | None]] = {}
    handle_owner: dict[tuple[str, str], str] = {}
    staff, teams, categories = [], [], []
    for display, parsed, root in files:
        if parsed.town is not None:
            if town is not None:
                problems.append(Problem(display, _line(_node_at(root, ["town"])[0])
                                        if root else None,
                                        "`town` is set in more than one file; keep one."))
            town = parsed.town
        for index, member in enumerate(parsed.staff):
            where = (display, _item_line(root, "staff", index))
            if member.id in staff_where:
                problems.append(Problem(*where, f"staff id `{member.id}` is used twice "
                                        f"(also at {_fmt(staff_where[member.id])})."))
            staff_where[member.id] = where
            staff.append(member)
            for feed, handle in member.handles.items():
                key = (feed, handle.lower().lstrip("@"))
                if key in handle_owner and handle_owner[key] != member.id:
                    problems.append(Problem(*where, f"handle {handle} on {feed} belongs to both "
                                            f"`{handle_owner[key]}` and `{member.id}`."))
                handle_owner[key] = member.id
        for index, team in enumerate(parsed.teams):
            where = (display, _item_line(root, "teams", index))
            if team.id in team_where:
                problems.append(Problem(*where, f"team id `{team.id}` is used twice."))
            team_where[team.id] = where
            teams.append((team, where))
        for index, category in enumerate(parsed.categories):
            where = (display, _item_line(root, "categories", index))
            if category.id in category_where:
                problems.append(Problem(*where, f"category `{category.id}` is defined twice."))
            category_where[category.id] = where
            categories.append(category)

    for team, where in teams:
        for member_id in team.members:
            if member_id not in declared["staff"]:
                problems.append(Problem(*where, f"team `{team.id}` lists `{member_id}`, who is "
                                        "not in `staff`; add them or fix the id."))
        if team.lead is not None and team.lead not in team.members:
            problems.append(Problem(*where, f"team `{team.id}`'s lead `{team.lead}` is not one "
                                    "of its members."))
        for category_id in team.categories:
            if category_id not in declared["categories"]:
                problems.append(Problem(*where, f"team `{team.id}` owns category "
                                        f"`{category_id}`, which is not defined in "
                                        "`categories`."))
    owned = {c for team, _ in teams for c in team.categories}
    for category_id, where in category_where.items():
        if category_id not in owned:
            problems.append(Problem(*where, f"no team owns category `{category_id}`: its "
                                    "messages would reach no one.", "warning"))
    # A file that could not be parsed may well set it: its own error says enough.
    if town is None and not declared["town"] and not declared["unreadable"]:
        problems.append(Problem(display_root, None,
                                "no file sets `town` (name, timezone, languages)."))
    if town is None:
        return None
    if any(p.severity == "error" for p in problems):
        return None
    return Policy(town=town, staff=tuple(staff), teams=tuple(t for t, _ in teams),
                  categories=tuple(categories))


def _fmt(where: tuple[str, int | None]) -> str:
    return f"{where[0]}:{where[1]}" if where[1] else where[0]
