"""The parts and the ways between them (shared/reference/architecture.md), checked on the
source: contracts know no runner, database, CLI or torch; the store knows no runner and no
torch; a worker never reaches the store or the CLI; trackers only measure; read commands
load no torch; nothing imports in a circle; yardsticks and tests stay out of the product. And
the registries agree: every kind has a scenario, every figure is registered (tests/test_docs.py:
documented)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from benchmark.contracts.config import KINDS
from benchmark.contracts.figures import DIRECTIONS, FIGURES, SEED_KEYS, UNITS
from yardsticks.import_graph import module_level_imports

ROOT = Path(__file__).resolve().parents[1]

# part -> the parts (and heavy libraries) it must never import
FORBIDDEN = {
    "benchmark.contracts": ("benchmark.run", "benchmark.worker", "benchmark.trackers", "benchmark.cli",
                            "benchmark.models", "db", "torch", "transformers", "sqlalchemy"),
    "db": ("benchmark.run", "benchmark.worker", "benchmark.trackers", "benchmark.cli", "benchmark.models",
           "torch", "transformers"),
    "benchmark.worker": ("benchmark.run", "benchmark.cli", "db", "sqlalchemy"),
    "benchmark.trackers": ("benchmark.run", "benchmark.worker", "benchmark.cli", "benchmark.models", "db",
                           "sqlalchemy"),
    "benchmark.run": ("benchmark.cli", "benchmark.worker"),
    "benchmark.models": ("benchmark.run", "benchmark.worker", "benchmark.cli", "db"),
    # analysis is pure: numbers and options in, named dataclasses out
    "benchmark.analysis": ("benchmark.run", "benchmark.worker", "benchmark.trackers", "benchmark.cli",
                           "benchmark.models", "benchmark.verdicts", "db", "torch", "transformers", "sqlalchemy"),
    # stored runs to decisions: reads the store, feeds analysis; runs nothing, prints nothing
    "benchmark.verdicts": ("benchmark.run", "benchmark.worker", "benchmark.trackers", "benchmark.cli",
                           "benchmark.models", "torch", "transformers"),
    # the read side people look at: the store's read side and the contracts, nothing that runs
    "dashboards": ("benchmark.run", "benchmark.worker", "benchmark.trackers", "benchmark.cli", "benchmark.models",
                   "torch", "transformers"),
    # (#17) commands reach the database through db/ and flows/, never SQLAlchemy itself
    "benchmark.cli": ("sqlalchemy",),
    # use cases: commands call them, never the other way round
    "benchmark.flows": ("benchmark.cli",),
    # GitHub's REST client: the standard library and the contracts (a bare Python runs it)
    "benchmark.github": ("benchmark.cli", "benchmark.flows", "benchmark.run", "db", "sqlalchemy", "torch",
                         "transformers"),
}


def modules() -> dict[str, Path]:
    out = {}
    for path in [*ROOT.glob("benchmark/**/*.py"), *ROOT.glob("db/**/*.py"), *ROOT.glob("dashboards/**/*.py")]:
        rel = path.relative_to(ROOT).with_suffix("")
        out[".".join(p for p in rel.parts if p != "__init__")] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Absolute names of everything a module imports (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return found


def test_no_forbidden_way_between_parts():
    wrong = []
    for name, path in modules().items():
        if "migrations" in name:
            continue  # alembic's scripts: they import db and contracts only, checked by running them
        for part, banned in FORBIDDEN.items():
            if name == part or name.startswith(part + "."):
                for imp in imports(name, path):
                    if any(imp == b or imp.startswith(b + ".") for b in banned):
                        wrong.append(f"{name} imports {imp}")
    assert wrong == []


def test_trackers_sit_together():
    names = {p.stem for p in (ROOT / "benchmark" / "trackers").glob("*.py")}
    assert {"timing", "sampler", "nvml", "compile_stats", "environment", "events"} <= names


def test_every_kind_has_a_scenario_and_every_scenario_a_kind():
    from benchmark.worker.scenarios import SCENARIOS

    assert set(SCENARIOS) == set(KINDS)


def test_every_reported_figure_is_registered():
    reported = set()
    for path in (ROOT / "benchmark" / "worker").rglob("*.py"):
        reported |= set(re.findall(r'ctx\.add\(f?"([a-z_{}]+)"', path.read_text()))
    reported = {r.replace("{key}", k) for r in reported for k in (["first", "second", "third", "fourth"]
                                                                    if "{key}" in r else [""])}
    assert reported and reported <= set(FIGURES)


def test_the_registry_is_coherent():
    for f in FIGURES.values():
        assert f.unit in UNITS and f.direction in DIRECTIONS
        assert f.description
        if f.unit == "s":
            assert f.direction == "lower"
    assert [k for k in SEED_KEYS if FIGURES[k].seed_kind] == list(SEED_KEYS)
    assert {FIGURES[k].seed_kind for k in SEED_KEYS} == {"load", "eager", "compiled_decode", "compiled_generate"}


# Commands that only read or send: none may load torch or transformers when it starts (#11).
READ_COMMANDS = ("history", "show", "export", "compare", "detect", "reports", "status", "validate", "report",
                 "dashboards", "db", "ingest", "pr_comment", "issue",
                 "explain")


def loaded_by(start: str) -> set[str]:
    """Every module importing START loads: the closure of module-level imports over our own
    modules (a package's __init__ included), plus the outside names they reach."""
    ours = modules()
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        for i in range(1, len(parts)):  # importing a.b.c runs a and a.b first
            todo.append(".".join(parts[:i]))
        if name in ours:
            todo.extend(module_level_imports(name, ours[name]))  # yardsticks/import_graph.py
    return seen


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_read_command_loads_neither_torch_nor_transformers(command):
    heavy = {m for m in loaded_by(f"benchmark.cli.{command}") if m.split(".")[0] in ("torch", "transformers")}
    assert heavy == set()


def test_the_cli_package_imports_no_command():
    # `commitbench --help` and each command import only the chosen command's module
    loaded = {m for m in loaded_by("benchmark.cli") if m.startswith("benchmark.cli.")}
    assert loaded == {"benchmark.cli.errors", "benchmark.cli.errors.error"}


# -- yardsticks (benchmarks of our own tools) and tests stay out of the product ------------
def yardstick_modules() -> dict[str, Path]:
    return {".".join(p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__"): path
            for path in (ROOT / "yardsticks").rglob("*.py")}


def test_the_product_imports_neither_yardsticks_nor_tests():
    # tests/ has no __init__.py: its helpers are imported by their bare names (pg_server, ...)
    test_names = {"yardsticks", "tests"} | {p.stem for p in (ROOT / "tests").glob("*.py")}
    wrong = [f"{name} imports {imp}" for name, path in modules().items() for imp in imports(name, path)
             if imp.split(".")[0] in test_names]
    assert wrong == []


def test_no_unittest_mock_in_product_or_yardsticks():
    # `from unittest import mock` and `import unittest.mock` both import unittest.mock; the text
    # catches `import unittest` followed by unittest.mock.patch
    wrong = [name for name, path in {**modules(), **yardstick_modules()}.items()
             if any(i == "unittest.mock" or i.startswith("unittest.mock.") for i in imports(name, path))
             or "unittest.mock" in path.read_text()]
    assert len(yardstick_modules()) >= 8 and wrong == []


def test_yardsticks_are_not_installed():
    import fnmatch
    import tomllib

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    installed = [pattern for pattern in find["include"] for name in ("yardsticks", "yardsticks.bench_scale", "tests")
                 if fnmatch.fnmatchcase(name, pattern)]
    assert find["include"] and installed == []


def import_graph() -> dict[str, set[str]]:
    """Product module -> the product modules it imports, wherever the import statement sits
    (a deferred import inside a function closes a circle as surely: worker/context and
    worker/quantization's was deferred on both sides). `from pkg import mod` is an edge to
    pkg.mod, not to pkg's __init__ (which Python runs first for any module of pkg)."""
    mods = modules()
    graph = {}
    for name, path in mods.items():
        found = imports(name, path)
        graph[name] = set()
        for imp in found:
            if imp in mods and any(o in mods and o.startswith(imp + ".") for o in found):
                continue  # the package half of `from pkg import mod`
            while imp and imp not in mods:
                imp = imp.rpartition(".")[0]  # a name inside a module: the module
            if imp and imp != name:
                graph[name].add(imp)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle a depth-first search closes, as its path (first module repeated at the end)."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_among_product_modules():
    graph = import_graph()
    assert "benchmark.worker.unsupported" in graph["benchmark.worker.quantization"]  # the graph sees deferred imports
    assert circles(graph) == []


# (#17) A command imports no other command: what two commands share is a shared helper here
# or a flow (benchmark/flows/). The package itself (`from . import main`) counts as a command.
CLI_HELPERS = ("common", "errors", "table")


def test_a_command_imports_no_other_command():
    wrong = []
    for name, path in modules().items():
        if not name.startswith("benchmark.cli.") or name == "benchmark.cli.__main__":
            continue
        allowed = [f"benchmark.cli.{h}" for h in CLI_HELPERS] + [name]
        for imp in imports(name, path):
            if imp.split(".")[:2] != ["benchmark", "cli"]:
                continue
            if not any(imp == a or imp.startswith(a + ".") for a in allowed):
                wrong.append(f"{name} imports {imp}")
    assert wrong == []


def _writes_to_the_terminal(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"line {node.lineno}: print(")
        elif isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr") and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            found.append(f"line {node.lineno}: sys.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" and \
                {a.name for a in node.names} & {"stdout", "stderr"}:
            found.append(f"line {node.lineno}: from sys import stdout/stderr")
    return found


def test_a_flow_prints_nothing():
    """Flows return or raise; the command prints (progress goes through a `say` it hands in)."""
    paths = sorted((ROOT / "benchmark" / "flows").rglob("*.py"))
    assert paths
    wrong = [f"{p.relative_to(ROOT)} {w}" for p in paths for w in _writes_to_the_terminal(ast.parse(p.read_text()))]
    assert wrong == []


def test_the_terminal_check_sees_what_it_looks_for():
    seen = _writes_to_the_terminal(ast.parse("import sys\nprint(1)\nsys.stderr.write('x')\nf(out=sys.stdout)\n"
                                             "from sys import stderr\n"))
    assert len(seen) == 4
    assert _writes_to_the_terminal(ast.parse("say('x')\nlog.print_it()\nself.stdout = None\n")) == []

