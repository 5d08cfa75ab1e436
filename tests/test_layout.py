"""The parts and the ways between them (shared/reference/architecture.md), checked on the
source: contracts know no runner, database, CLI or torch; the store knows no runner and no
torch; a worker never reaches the store or the CLI; trackers only measure. And the
registries agree: every kind has a scenario, every figure is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from benchmark.contracts.config import KINDS
from benchmark.contracts.figures import DIRECTIONS, FIGURES, SEED_KEYS, UNITS

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


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_readme_explains_every_figure(name):
    assert f"`{name}`" in (ROOT / "README.md").read_text()


# An edge a known circle runs through, deferred (`from . import main` inside a function):
# #17 part 2 makes ab a flow that no longer re-enters `main`; delete the line then.
CIRCLE_EXEMPT = {("benchmark.cli.ab", "benchmark.cli")}


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
            if imp and imp != name and (name, imp) not in CIRCLE_EXEMPT:
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
