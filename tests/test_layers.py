"""The import contract: Guardian's layers, each importing only the ones before it.

    types  ->  pure core  ->  adapters  ->  engine  ->  entry points

Every module of `guardian/` is parsed (never imported) and each of its imports checked
against the order below; a failure names the file and line of the import that breaks it.
The pure core (and the pure modules among the adapters) must not reach the database, the
network, threads or the clock. No packages, nor modules, import each other in a circle.
docs/architecture.md shows the same layers.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

PACKAGE = Path(__file__).resolve().parents[1] / "guardian"

# (unit, the modules in it by prefix), in order: a module may import its own unit and the
# units before it. The first prefix that matches a module decides its unit.
LAYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # layer, unit, module prefixes
    ("types", "types", ("guardian.types", "guardian.errors", "guardian.metrics",
                        "guardian.schemas")),
    ("core", "policy", ("guardian.policy",)),
    ("core", "schedule", ("guardian.schedule",)),
    ("core", "decide", ("guardian.decide",)),
    ("core", "review rules", ("guardian.review.rules",)),
    ("core", "report", ("guardian.report",)),
    ("adapters", "config", ("guardian.config",)),
    ("adapters", "storage", ("guardian.storage",)),
    ("adapters", "scoring", ("guardian.scoring",)),
    ("adapters", "acks", ("guardian.acks",)),
    ("adapters", "notify", ("guardian.notify",)),
    ("adapters", "review", ("guardian.review",)),
    ("adapters", "policy files", ("guardian.policy_files",)),
    ("adapters", "connectors", ("guardian.connectors",)),
    ("engine", "engine", ("guardian.engine",)),
    ("entry points", "web", ("guardian.web",)),
    ("entry points", "cli", ("guardian.cli", "guardian.__main__")),
)
# The package face (`guardian/__init__.py`: the version) belongs to no layer: anyone may
# import it, and it imports nothing.
FACE = "guardian"

# Modules that must stay pure: no database, network, threads, processes or clock. The core
# entirely, and the pure passes that live beside their adapters.
PURE_PREFIXES = ("guardian.types", "guardian.errors", "guardian.schemas", "guardian.policy",
                 "guardian.schedule", "guardian.decide", "guardian.review.rules",
                 "guardian.report",
                 "guardian.notify.compose", "guardian.notify.timing", "guardian.notify.render",
                 "guardian.acks.links", "guardian.scoring.normalise",
                 "guardian.scoring.obfuscate", "guardian.scoring.rules",
                 "guardian.scoring.level", "guardian.scoring.assessor",
                 "guardian.connectors.whatsapp", "guardian.connectors.signed_webhook")
IMPURE_IMPORTS = ("sqlalchemy", "sqlmodel", "alembic", "asyncpg", "aiosqlite", "aiohttp",
                  "apprise", "paho", "asyncio", "threading", "multiprocessing", "subprocess",
                  "socket", "urllib.request", "http", "concurrent", "guardian.storage",
                  "guardian.config", "guardian.engine", "guardian.web", "guardian.cli")
# Reading the clock (pure code is given `now`): these calls on these owners.
CLOCK_CALLS = {"datetime": {"now", "utcnow", "today"}, "date": {"today"},
               "time": {"time", "monotonic", "perf_counter", "time_ns"}}


@dataclass(frozen=True)
class Import:
    module: str       # the importing module
    path: Path
    line: int
    target: str       # what it imports (a module of ours, or a third-party name)

    def where(self) -> str:
        return f"{self.path.relative_to(PACKAGE.parent)}:{self.line}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
            if "migrations" not in p.parts}


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """`guardian.x.y` as the module it names (`from guardian.x import y` names module y when
    there is one, else the attribute y of module x)."""
    return name if name in modules or not name.startswith("guardian") else name.rsplit(".", 1)[0]


def imports_of(module: str, path: Path, modules: dict[str, Path], tree: ast.AST | None = None
               ) -> Iterator[Import]:
    tree = tree or ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, path, node.lineno, _resolve(alias.name, modules))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                yield Import(module, path, node.lineno,
                             _resolve(f"{source}.{alias.name}", modules)
                             if source.startswith("guardian") else source)


def unit_of(module: str) -> int | None:
    for index, (_, _, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def violations(modules: dict[str, Path]) -> list[str]:
    """Every import of ours that breaks the order, as `file:line: why`."""
    found = []
    for module, path in modules.items():
        if module == FACE:
            continue
        mine = unit_of(module)
        if mine is None:
            found.append(f"{path.relative_to(PACKAGE.parent)}: belongs to no layer "
                         "(add it to LAYERS in tests/test_layers.py)")
            continue
        for imp in imports_of(module, path, modules):
            if not imp.target.startswith("guardian") or imp.target == FACE:
                continue
            theirs = unit_of(imp.target)
            if theirs is not None and theirs > mine:
                found.append(
                    f"{imp.where()}: {module} ({LAYERS[mine][0]}: {LAYERS[mine][1]}) imports "
                    f"{imp.target} ({LAYERS[theirs][0]}: {LAYERS[theirs][1]}), which comes "
                    "after it")
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _circles(edges: dict[str, dict[str, Import]], what: str) -> list[str]:
    """The circles of a graph (Tarjan's strongly connected components of more than one),
    each named with one import of every edge, file and line."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            components.append(component)

    for node in list(edges):
        if node not in index:
            visit(node)
    found = []
    for component in components:
        if len(component) > 1:
            members = set(component)
            links = [f"{imp.where()} ({a} -> {b})" for a in sorted(members)
                     for b, imp in sorted(edges[a].items()) if b in members]
            found.append(f"{what} in a circle: {', '.join(sorted(members))}; "
                         f"imports: {'; '.join(links)}")
    return found


def _edges(modules: dict[str, Path], node: Callable[[str], str]) -> dict[str, dict[str, Import]]:
    edges: dict[str, dict[str, Import]] = defaultdict(dict)
    for module, path in modules.items():
        for imp in imports_of(module, path, modules):
            if imp.target.startswith("guardian.") and imp.target != FACE:
                source, target = node(module), node(imp.target)
                if source != target:
                    edges[source].setdefault(target, imp)
    return edges


def package_cycles(modules: dict[str, Path]) -> list[str]:
    """Circles between packages (`guardian.x` imports `guardian.y` imports ... `guardian.x`)."""
    return _circles(_edges(modules, _package), "packages")


def module_cycles(modules: dict[str, Path]) -> list[str]:
    """Circles between modules, within a package too (type-checking imports included)."""
    return _circles(_edges(modules, lambda module: module), "modules")


def impurities(modules: dict[str, Path]) -> list[str]:
    """Imports of I/O (database, network, threads, our adapters) and calls that read the
    clock, in the modules that must stay pure."""
    found = []
    for module, path in modules.items():
        if not any(module == p or module.startswith(p + ".") for p in PURE_PREFIXES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for imp in imports_of(module, path, modules, tree):
            if any(imp.target == bad or imp.target.startswith(bad + ".")
                   for bad in IMPURE_IMPORTS):
                found.append(f"{imp.where()}: {module} must stay pure but imports "
                             f"{imp.target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = (owner.id if isinstance(owner, ast.Name) else
                        owner.attr if isinstance(owner, ast.Attribute) else "")
                if node.func.attr in CLOCK_CALLS.get(name, ()):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {module} "
                                 f"must stay pure but reads the clock ({name}.{node.func.attr})")
    return found


# --- the contract ---------------------------------------------------------------------------

def test_every_import_follows_the_layers() -> None:
    assert violations(_modules()) == []


def test_no_packages_import_each_other_in_a_circle() -> None:
    assert package_cycles(_modules()) == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert module_cycles(_modules()) == []


def test_the_pure_core_does_no_io_and_reads_no_clock() -> None:
    assert impurities(_modules()) == []


def test_every_pure_prefix_and_layer_names_real_modules() -> None:
    """A renamed module must not slip out of the contract unnoticed."""
    modules = _modules()
    for prefix in [*PURE_PREFIXES, *(p for _, _, ps in LAYERS for p in ps)]:
        assert any(m == prefix or m.startswith(prefix + ".") for m in modules), prefix


def test_importing_the_core_loads_no_adapter_library() -> None:
    """`import guardian.decide` once loaded apprise, threads and the secrets file through
    the policy model; a fresh interpreter shows what the pure modules pull in."""
    code = ("import sys\n"
            "import guardian.decide, guardian.schedule, guardian.review.rules\n"
            "import guardian.notify.compose, guardian.notify.timing, guardian.acks.links\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True, cwd=PACKAGE.parent).stdout.split())
    assert loaded.isdisjoint({"apprise", "sqlalchemy", "sqlmodel", "aiohttp", "asyncpg",
                              "aiosqlite", "paho", "torch", "detoxify", "alembic"})


# --- the checks themselves can fail -------------------------------------------------------

def _write(root: Path, name: str, text: str) -> None:
    path = root / Path(*name.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(root).parents:
        init = root / parent / "__init__.py"
        if parent != Path(".") and not init.exists():
            init.write_text("")
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny `guardian/` of a few modules, checked by the same functions."""
    root = tmp_path
    (root / "guardian").mkdir()
    (root / "guardian" / "__init__.py").write_text("")
    monkeypatch.setattr(f"{__name__}.PACKAGE", root / "guardian")
    return root


def test_a_core_module_importing_the_engine_is_named_with_file_and_line(fake: Path) -> None:
    _write(fake, "guardian.engine.loop", "X = 1\n")
    _write(fake, "guardian.decide.rules", "import re\n\nfrom guardian.engine.loop import X\n")
    [found] = violations(_modules())
    assert found.startswith("guardian/decide/rules.py:3: guardian.decide.rules (core: decide) "
                            "imports guardian.engine.loop (engine: engine)")


def test_a_circle_between_packages_is_named(fake: Path) -> None:
    _write(fake, "guardian.storage.pages", "from guardian.notify import outbox\n")
    _write(fake, "guardian.notify.outbox", "from guardian.storage.pages import X\n")
    [found] = package_cycles(_modules())
    assert "guardian.notify, guardian.storage" in found
    assert "guardian/storage/pages.py:1" in found and "guardian/notify/outbox.py:1" in found


def test_a_circle_within_a_package_is_named(fake: Path) -> None:
    _write(fake, "guardian.config.settings", "from guardian.config.secrets import X\n")
    _write(fake, "guardian.config.secrets",
           "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
           "    from guardian.config.settings import Settings\n")
    assert package_cycles(_modules()) == []
    [found] = module_cycles(_modules())
    assert found.startswith("modules in a circle: guardian.config.secrets, "
                            "guardian.config.settings")
    assert "guardian/config/secrets.py:4" in found


def test_io_or_the_clock_in_the_core_is_named(fake: Path) -> None:
    _write(fake, "guardian.schedule.duty",
           "import datetime as dt\nfrom sqlalchemy import select\n\n"
           "def now() -> object:\n    return dt.datetime.now(dt.UTC)\n")
    found = impurities(_modules())
    assert found == [
        "guardian/schedule/duty.py:2: guardian.schedule.duty must stay pure but imports "
        "sqlalchemy",
        "guardian/schedule/duty.py:5: guardian.schedule.duty must stay pure but reads the "
        "clock (datetime.now)"]


def test_a_module_outside_every_layer_is_reported(fake: Path) -> None:
    _write(fake, "guardian.gadgets", "X = 1\n")
    assert violations(_modules()) == [
        "guardian/gadgets.py: belongs to no layer (add it to LAYERS in tests/test_layers.py)"]


def test_relative_imports_are_resolved(fake: Path) -> None:
    _write(fake, "guardian.engine.loop", "X = 1\n")
    _write(fake, "guardian.policy.model", "from ..engine import loop\n")
    [found] = violations(_modules())
    assert "guardian/policy/model.py:1" in found and "guardian.engine.loop" in found
