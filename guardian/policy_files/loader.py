"""Reads `policies/*.yaml` into a `Policy`, reporting every problem with file and line.

Reads files but never the clock: checks that look ahead (periods where a team has no one,
holiday calendars running out) need `now`, passed in by the caller; without it they are
skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from guardian.notify.channels import apprise_problem
from guardian.policy.harassment import HarassmentPolicy
from guardian.policy.model import (
    Category,
    Connector,
    Delivery,
    Escalation,
    EscalationChain,
    ExposureLimits,
    HolidayCalendar,
    Moderation,
    OnCallLimits,
    Policy,
    PolicyFile,
    Queue,
    RateLimits,
    Replies,
    Retention,
    Rotation,
    StaffMember,
    StormThresholds,
    Swaps,
    Team,
    Town,
    UrgencyPolicy,
)
from guardian.schedule.coverage import format_week_minutes, quiet_overlaps, team_gaps
from guardian.schedule.fairness import long_runs
from guardian.schedule.localtime import zone

Severity = Literal["error", "warning"]
COVERAGE_HORIZON = dt.timedelta(weeks=4)
_GAPS_LISTED = 3


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


def policy_files(directory: Path) -> list[Path]:
    """The files of a policy directory, as the loader reads them (sorted by name)."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


class WithProblems:
    """A check's problems split by severity (a load, a what-if's changed files)."""

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


@dataclass
class LoadResult(WithProblems):
    policy: Policy | None
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class PolicyError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# libyaml's parser when PyYAML was built with it (its wheels are): ten times as fast.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML without YAML 1.1's base-60 integers: unquoted `22:00` stays a string
    (SafeLoader reads it as 1320), so HR need not quote times of day."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
               r"|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A date or time as YAML reads it; one that does not exist (2026-12-32) is reported
    with its line, not raised from the parser's depths."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"`{node.value}` is not a real date or time ({exc})",
            node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


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


_SECTIONS = ("staff", "teams", "categories", "rotations", "holiday_calendars", "connectors")


def _declared_ids(data: object) -> dict[str, set[str]]:
    """Ids a file declares, read from raw YAML: lets a file that failed validation still
    vouch for its people, so other files are not blamed for naming them."""
    found: dict[str, set[str]] = {name: set() for name in
                                  ("town", *_SECTIONS, "chains", "unreadable")}
    if isinstance(data, dict):
        if "town" in data:
            found["town"].add("town")
        for section in _SECTIONS:
            found[section].update(_ids(data.get(section)))
        escalation = data.get("escalation")
        if isinstance(escalation, dict):
            found["chains"].update(_ids(escalation.get("chains")))
    return found


def _ids(items: object) -> set[str]:
    if not isinstance(items, list):
        return set()
    return {str(i["id"]) for i in items if isinstance(i, dict) and "id" in i}


@dataclass(frozen=True)
class _Parsed:
    display: str
    file: PolicyFile
    root: yaml.Node | None
    # Per list section, each kept item's index in the file (items that failed validation
    # are left out of a partial file but keep their neighbours' lines right).
    origin: dict[str, list[int]] = field(default_factory=dict)

    def items(self, section: str, items: Sequence[Any]) -> list[tuple[int, Any]]:
        indices = self.origin.get(section, range(len(items)))
        return list(zip(indices, items, strict=True))


_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "staff": StaffMember, "teams": Team, "categories": Category, "rotations": Rotation,
    "holiday_calendars": HolidayCalendar, "connectors": Connector}
_SINGLE_MODELS: dict[str, type[BaseModel]] = {
    "town": Town, "escalation": Escalation, "rate_limits": RateLimits,
    "storm": StormThresholds, "exposure_limits": ExposureLimits,
    "harassment": HarassmentPolicy, "urgency": UrgencyPolicy, "moderation": Moderation,
    "delivery": Delivery, "swaps": Swaps, "on_call_limits": OnCallLimits,
    "retention": Retention, "replies": Replies, "queue": Queue}
# A section missing here would silently vanish from partial files.
assert {*_ITEM_MODELS, *_SINGLE_MODELS} == set(PolicyFile.model_fields)


def _partial(data: dict[str, Any]) -> tuple[PolicyFile, dict[str, list[int]]]:
    """The parts of an invalid file that are valid on their own: enough to check the rest
    of the policy against, so one typo does not hide other problems."""
    kept: dict[str, Any] = {}
    origin: dict[str, list[int]] = {}
    for name, value in data.items():
        if name in _ITEM_MODELS and isinstance(value, list):
            good = [(i, item) for i, item in enumerate(value)
                    if _valid(_ITEM_MODELS[name], item)]
            kept[name] = [item for _, item in good]
            origin[name] = [i for i, _ in good]
        elif name in _SINGLE_MODELS and _valid(_SINGLE_MODELS[name], value):
            kept[name] = value
    return PolicyFile.model_validate(kept), origin


def _valid(model: type[BaseModel], value: object) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, from one parse."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _read_file(path: Path, display: str, problems: list[Problem], declared: dict[str, set[str]]
               ) -> _Parsed | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, None, f"cannot be read: {exc}."))
        return None
    try:
        root, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(display, line, f"is not valid YAML: {problem}."))
        declared["unreadable"].add(display)
        return None
    if root is None or data is None:
        return _Parsed(display, PolicyFile(), None)
    for section, ids in _declared_ids(data).items():
        declared[section] |= ids
    if not isinstance(data, dict):
        problems.append(Problem(display, _line(root),
                                "must be a mapping with keys such as `staff:` or `teams:`."))
        return None
    try:
        return _Parsed(display, PolicyFile.model_validate(data), root)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] == "extra_forbidden":
                node = _key_node(root, loc)
                line = _line(node) if node is not None else _line(_node_at(root, loc)[0])
            else:
                line = _line(_node_at(root, loc)[0])
            problems.append(Problem(display, line, _sentence(error)))
        partial, origin = _partial(data)
        return _Parsed(display, partial, root, origin)


def load_policy(directory: Path, *, now: dt.datetime | None = None,
                horizon: dt.timedelta = COVERAGE_HORIZON) -> LoadResult:
    """Read every `*.yaml`/`*.yml` file in `directory` and check them together.

    With `now` (an aware datetime), also warn about the next `horizon`: periods where a
    team with a rotation has no one on duty or on call, teams where no one works at all,
    and holiday calendars that run out.
    """
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("`now` must be an aware datetime")
    problems: list[Problem] = []
    display_root = str(directory)
    if not directory.is_dir():
        return LoadResult(None, [Problem(display_root, None,
                                         "is not a directory of policy files.")])
    paths = policy_files(directory)
    if not paths:
        return LoadResult(None, [Problem(display_root, None, "holds no *.yaml policy files.")])
    files: list[_Parsed] = []
    declared = _declared_ids(None)
    for path in paths:
        parsed = _read_file(path, str(path), problems, declared)
        if parsed is not None:
            files.append(parsed)
    merger = _Merger(problems, declared)
    policy = merger.merge(files, display_root)
    if policy is not None and now is not None:
        merger.look_ahead(policy, now, horizon)
    if any(p.severity == "error" for p in problems):
        policy = None
    return LoadResult(policy, problems, [str(p) for p in paths])


Where = tuple[str, int | None]


def _field_line(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    if root is None:
        return None
    return _line(_node_at(root, loc)[0])


def _fmt(where: Where) -> str:
    return f"{where[0]}:{where[1]}" if where[1] else where[0]


class _Merger:
    """Merges the parsed files into one `Policy` and runs the checks across files."""

    def __init__(self, problems: list[Problem], declared: dict[str, set[str]]) -> None:
        self.problems = problems
        self.declared = declared
        self.staff: list[tuple[StaffMember, str, yaml.Node | None, int]] = []
        self.teams: list[tuple[Team, str, yaml.Node | None, int]] = []
        self.rotations: list[tuple[Rotation, str, yaml.Node | None, int]] = []
        self.calendars: list[tuple[HolidayCalendar, str, yaml.Node | None, int]] = []
        self.connectors: list[Connector] = []
        self.chains: list[tuple[EscalationChain, str, yaml.Node | None, int]] = []
        self.single_where: dict[str, Where] = {}

    def error(self, where: Where, message: str) -> None:
        self.problems.append(Problem(where[0], where[1], message))

    def warn(self, where: Where, message: str) -> None:
        self.problems.append(Problem(where[0], where[1], message, "warning"))

    def merge(self, files: list[_Parsed], display_root: str) -> Policy | None:
        singles: dict[str, Any] = {}
        categories = []
        handle_owner: dict[tuple[str, str], str] = {}
        seen: dict[str, dict[str, Where]] = {s: {} for s in (*_SECTIONS, "chains")}

        def first_time(section: str, item_id: str, where: Where, message: str) -> None:
            if item_id in seen[section]:
                self.error(where, f"{message} (also at {_fmt(seen[section][item_id])}).")
            seen[section][item_id] = where

        for source in files:
            display, parsed, root = source.display, source.file, source.root
            for name in PolicyFile.SINGLE:
                value = getattr(parsed, name)
                if value is None:
                    continue
                where = (display, _field_line(root, [name]))
                if name in singles:
                    self.error(where, f"`{name}` is set in more than one file "
                                      f"(also at {_fmt(self.single_where[name])}); keep one.")
                singles[name] = value
                self.single_where[name] = where
            for index, member in source.items("staff", parsed.staff):
                where = (display, _field_line(root, ["staff", index]))
                first_time("staff", member.id, where, f"staff id `{member.id}` is used twice")
                self.staff.append((member, display, root, index))
                for feed, handle in member.handles.items():
                    key = (feed, handle.lower().lstrip("@"))
                    if key in handle_owner and handle_owner[key] != member.id:
                        self.error(where, f"handle {handle} on {feed} belongs to both "
                                          f"`{handle_owner[key]}` and `{member.id}`.")
                    handle_owner[key] = member.id
            for index, team in source.items("teams", parsed.teams):
                where = (display, _field_line(root, ["teams", index]))
                first_time("teams", team.id, where, f"team id `{team.id}` is used twice")
                self.teams.append((team, display, root, index))
            for index, category in source.items("categories", parsed.categories):
                where = (display, _field_line(root, ["categories", index]))
                first_time("categories", category.id, where,
                           f"category `{category.id}` is defined twice")
                categories.append(category)
            for index, rotation in source.items("rotations", parsed.rotations):
                where = (display, _field_line(root, ["rotations", index]))
                first_time("rotations", rotation.id, where,
                           f"rotation id `{rotation.id}` is used twice")
                self.rotations.append((rotation, display, root, index))
            for index, calendar in source.items("holiday_calendars", parsed.holiday_calendars):
                where = (display, _field_line(root, ["holiday_calendars", index]))
                first_time("holiday_calendars", calendar.id, where,
                           f"holiday calendar `{calendar.id}` is defined twice")
                self.calendars.append((calendar, display, root, index))
            for index, connector in source.items("connectors", parsed.connectors):
                where = (display, _field_line(root, ["connectors", index]))
                first_time("connectors", connector.id, where,
                           f"connector id `{connector.id}` is used twice")
                self.connectors.append(connector)
            if parsed.escalation is not None:
                for index, chain in enumerate(parsed.escalation.chains):
                    where = (display, _field_line(root, ["escalation", "chains", index]))
                    first_time("chains", chain.id, where,
                               f"escalation chain `{chain.id}` is defined twice")
                    self.chains.append((chain, display, root, index))

        self._check_staff(singles.get("town"))
        self._check_teams(seen["categories"], singles.get("escalation"))
        self._check_rotations()
        self._check_calendars()
        self._check_escalation(singles.get("escalation"))
        self._check_decisions(files)
        town = singles.get("town")
        # A file that could not be parsed may well set it: its own error says enough.
        if town is None and not self.declared["town"] and not self.declared["unreadable"]:
            self.problems.append(Problem(display_root, None,
                                         "no file sets `town` (name, timezone, languages)."))
        if town is None or any(p.severity == "error" for p in self.problems):
            return None
        return Policy(town=town, staff=tuple(s[0] for s in self.staff),
                      teams=tuple(t[0] for t in self.teams), categories=tuple(categories),
                      rotations=tuple(r[0] for r in self.rotations),
                      holiday_calendars=tuple(c[0] for c in self.calendars),
                      connectors=tuple(self.connectors),
                      **{k: v for k, v in singles.items() if k != "town"})

    # --- checks across files ----------------------------------------------------------

    def _known(self, section: str, item_id: str) -> bool:
        return item_id in self.declared[section]

    def _check_staff(self, town: Any) -> None:
        if town is not None and town.holidays is not None and not self._known(
                "holiday_calendars", town.holidays):
            self.error(self.single_where["town"], f"the town follows holiday calendar "
                       f"`{town.holidays}`, which is not defined in `holiday_calendars`.")
        for member, display, root, index in self.staff:
            if member.holidays is not None and not self._known("holiday_calendars",
                                                               member.holidays):
                self.error((display, _field_line(root, ["staff", index, "holidays"])),
                           f"`{member.id}` follows holiday calendar `{member.holidays}`, "
                           "which is not defined in `holiday_calendars`.")
            for number, url in enumerate(member.channels):
                problem = apprise_problem(url)
                if problem is not None:
                    self.error((display, _field_line(root, ["staff", index, "channels",
                                                            number])),
                               f"channel {number + 1} of `{member.id}`: {problem}.")
            overlaps = quiet_overlaps(member)
            if overlaps:
                spans = ", ".join(format_week_minutes(s, e) for s, e in overlaps[:3])
                more = f" and {len(overlaps) - 3} more" if len(overlaps) > 3 else ""
                self.warn((display, _field_line(root, ["staff", index, "quiet_hours"])),
                          f"`{member.id}`'s working hours overlap their quiet hours "
                          f"({spans}{more}); quiet hours win, so they will not be contacted "
                          "then. Shorten one or the other.")

    def _check_teams(self, categories: dict[str, Where], escalation: Any) -> None:
        chain_steps = {c.id: {s.who for s in c.steps} for c, *_ in self.chains}
        for team, display, root, index in self.teams:
            where = (display, _field_line(root, ["teams", index]))
            for member_id in team.members:
                if not self._known("staff", member_id):
                    self.error(where, f"team `{team.id}` lists `{member_id}`, who is not in "
                                      "`staff`; add them or fix the id.")
            if team.lead is not None and team.lead not in team.members:
                self.error(where, f"team `{team.id}`'s lead `{team.lead}` is not one of its "
                                  "members.")
            for category_id in team.categories:
                if not self._known("categories", category_id):
                    self.error(where, f"team `{team.id}` owns category `{category_id}`, "
                                      "which is not defined in `categories`.")
            for role in ("duty", "on_call"):
                rotation_id = getattr(team, role)
                if rotation_id is not None and not self._known("rotations", rotation_id):
                    self.error((display, _field_line(root, ["teams", index, role])),
                               f"team `{team.id}` uses rotation `{rotation_id}` for `{role}`, "
                               "but no rotation has that id.")
            chain_id = team.escalation or (escalation.default_chain if escalation else None)
            if team.escalation is not None and not self._known("chains", team.escalation):
                self.error((display, _field_line(root, ["teams", index, "escalation"])),
                           f"team `{team.id}` uses escalation chain `{team.escalation}`, "
                           "which is not defined in `escalation.chains`.")
            steps = chain_steps.get(chain_id or "", set())
            if "team_on_call" in steps and team.on_call is None:
                self.warn(where, f"team `{team.id}`'s escalation chain `{chain_id}` pages "
                                 "the team's on-call person, but the team has no `on_call` "
                                 "rotation: that step will reach no one.")
            if "team_lead" in steps and team.lead is None:
                self.warn(where, f"team `{team.id}`'s escalation chain `{chain_id}` pages "
                                 "the team lead, but the team has no `lead`: that step will "
                                 "reach no one.")
        owned = {c for team, *_ in self.teams for c in team.categories}
        for category_id, where in categories.items():
            if category_id not in owned:
                self.warn(where, f"no team owns category `{category_id}`: its messages would "
                                 "reach no one.")

    def _check_rotations(self) -> None:
        used = {r for team, *_ in self.teams for r in (team.duty, team.on_call)}
        for rotation, display, root, index in self.rotations:
            if rotation.id not in used:
                self.warn((display, _field_line(root, ["rotations", index])),
                          f"rotation `{rotation.id}` is not used by any team (as `duty` or "
                          "`on_call`).")
            for layer_index, layer in enumerate(rotation.layers):
                for member_id in dict.fromkeys(layer.members):
                    if not self._known("staff", member_id):
                        self.error((display, _field_line(
                            root, ["rotations", index, "layers", layer_index, "members"])),
                            f"rotation `{rotation.id}` (layer `{layer.name}`) lists "
                            f"`{member_id}`, who is not in `staff`; add them or fix the id.")

    def _check_calendars(self) -> None:
        includes = {c.id: c.include for c, *_ in self.calendars}
        for calendar, display, root, index in self.calendars:
            where = (display, _field_line(root, ["holiday_calendars", index]))
            for included in calendar.include:
                if not self._known("holiday_calendars", included):
                    self.error(where, f"holiday calendar `{calendar.id}` includes "
                                      f"`{included}`, which is not defined.")
            if _reaches(calendar.id, includes):
                self.error(where, f"holiday calendar `{calendar.id}` includes itself through "
                                  "`include`; remove one of the includes.")
            dates: dict[dt.date, int] = {}
            for day_index, holiday in enumerate(calendar.days):
                if holiday.date in dates:
                    self.warn((display, _field_line(
                        root, ["holiday_calendars", index, "days", day_index])),
                        f"holiday calendar `{calendar.id}` lists {holiday.date} twice.")
                dates[holiday.date] = day_index

    def _check_escalation(self, escalation: Any) -> None:
        if escalation is None:
            return
        where = self.single_where["escalation"]
        if not self._known("staff", escalation.last_resort):
            self.error(where, f"the last-resort contact `{escalation.last_resort}` is not in "
                              "`staff`; add them or fix the id.")
        if not self._known("chains", escalation.default_chain):
            self.error(where, f"the default escalation chain `{escalation.default_chain}` is "
                              "not one of `escalation.chains`.")
        for chain, display, root, index in self.chains:
            for step_index, step in enumerate(chain.steps):
                if step.person is not None and not self._known("staff", step.person):
                    self.error((display, _field_line(
                        root, ["escalation", "chains", index, "steps", step_index])),
                        f"escalation chain `{chain.id}` pages `{step.person}`, who is not "
                        "in `staff`; add them or fix the id.")

    def _check_decisions(self, files: list[_Parsed]) -> None:
        """The urgency and moderation sections name categories and people defined
        elsewhere; say which name is wrong and where."""
        for source in files:
            delivery = source.file.delivery
            if delivery is not None:
                for index, person in enumerate(delivery.admins):
                    if not self._known("staff", person):
                        self.error((source.display, _field_line(
                            source.root, ["delivery", "admins", index])),
                            f"`delivery.admins` lists `{person}`, who is not in `staff`; "
                            "add them or fix the id.")
            urgency, moderation = source.file.urgency, source.file.moderation
            if urgency is not None:
                for category_id in urgency.category_defaults:
                    if not self._known("categories", category_id):
                        self.error((source.display, _field_line(
                            source.root, ["urgency", "category_defaults", category_id])),
                            f"`urgency.category_defaults` names category `{category_id}`, "
                            "which is not defined in `categories`.")
            if moderation is not None:
                for role in ("moderators", "hr", "report_readers"):
                    for index, person in enumerate(getattr(moderation, role)):
                        if not self._known("staff", person):
                            self.error((source.display, _field_line(
                                source.root, ["moderation", role, index])),
                                f"`moderation.{role}` lists `{person}`, who is not in "
                                "`staff`; add them or fix the id.")

    # --- checks that look ahead (need `now`) -------------------------------------------

    def look_ahead(self, policy: Policy, now: dt.datetime, horizon: dt.timedelta) -> None:
        tz = zone(policy.town.timezone)
        end = now + horizon

        def when(instant: dt.datetime) -> str:
            return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")

        span = f"in the {horizon.days} days from {when(now)} ({policy.town.timezone})"
        team_where = {team.id: (display, _field_line(root, ["teams", index]))
                      for team, display, root, index in self.teams}
        for gaps in team_gaps(policy, now, end):
            where = team_where[gaps.team]
            if not gaps.covered_always:
                self.warn(where, f"team `{gaps.team}` has no one on duty at any time {span}: "
                                 "give its members working hours or the team a rotation.")
                continue
            listed = "; ".join(f"{when(s)} to {when(e)}" for s, e in gaps.gaps[:_GAPS_LISTED])
            more = (f"; and {len(gaps.gaps) - _GAPS_LISTED} more"
                    if len(gaps.gaps) > _GAPS_LISTED else "")
            self.warn(where, f"team `{gaps.team}` has no one on duty or on call for "
                             f"{gaps.hours:.1f} hours {span}, in {len(gaps.gaps)} period(s): "
                             f"{listed}{more}. Extend its rotations (or move their start) "
                             "or add someone.")
        self._calendars_ahead(policy, now, end)
        self._on_call_weeks(policy, now, horizon)

    def _on_call_weeks(self, policy: Policy, now: dt.datetime, horizon: dt.timedelta) -> None:
        limit = policy.on_call_limits.max_consecutive_weeks
        weeks = max(horizon.days // 7, 2 * limit + 2)
        staff_where = {member.id: (display, _field_line(root, ["staff", index]))
                       for member, display, root, index in self.staff}
        for run in long_runs(policy, now, weeks, limit):
            self.warn(staff_where.get(run.person, (self.single_where.get(
                "town", ("policies", None))[0], None)),
                f"{run.sentence(policy, limit)}: share the on-call weeks with someone else.")

    def _calendars_ahead(self, policy: Policy, now: dt.datetime, end: dt.datetime) -> None:
        used = {policy.calendar_of(p) for p in policy.staff} - {None}
        calendar_where = {c.id: (display, _field_line(root, ["holiday_calendars", index]))
                          for c, display, root, index in self.calendars}
        for calendar_id in sorted(c for c in used if c is not None):
            years = {d.year for d in policy.holiday_dates.get(calendar_id, frozenset())}
            missing = sorted({now.year, end.year} - years)
            if missing:
                self.warn(calendar_where[calendar_id],
                          f"holiday calendar `{calendar_id}` lists no holidays in "
                          f"{', '.join(map(str, missing))}; add that year's days, or staff "
                          "will be treated as working on them.")


def _reaches(start: str, includes: Mapping[str, Iterable[str]]) -> bool:
    """Whether `start` includes itself, directly or through others."""
    pending, seen = list(includes.get(start, ())), set()
    while pending:
        current = pending.pop()
        if current == start:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(includes.get(current, ()))
    return False
