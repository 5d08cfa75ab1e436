"""The parts of commitbench and the imports between them, as a Graphviz picture.

    python -m yardsticks.import_graph > docs/img/import-graph.dot
    dot -Tsvg docs/img/import-graph.dot -o docs/img/import-graph.svg   (Debian's graphviz)

A part is a package of the product (benchmark.cli, benchmark.flows, db, ...; the map in
docs/architecture.md). An edge A -> B is drawn when some module of A imports B when it is
imported (module level, as tests/test_layout.py reads it); the label counts those modules.
torch, transformers and SQLAlchemy are drawn too, so one can see which parts load them.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("benchmark.cli", "benchmark.flows", "benchmark.github", "benchmark.run", "benchmark.worker", "benchmark.models",
         "benchmark.trackers", "benchmark.analysis", "benchmark.verdicts", "benchmark.contracts", "db",
         "dashboards")
HEAVY = ("torch", "transformers", "sqlalchemy")
# rank: Face at the top, Types at the bottom
RANKS = (("benchmark.cli",), ("benchmark.flows", "benchmark.github"), ("benchmark.run", "dashboards"),
         ("benchmark.worker", "benchmark.verdicts"), ("benchmark.models", "benchmark.trackers", "db",
                                                       "benchmark.analysis"),
         ("benchmark.contracts",), HEAVY)


def part_of(name: str) -> str | None:
    for part in (*PARTS, *HEAVY):
        if name == part or name.startswith(part + "."):
            return part
    return None


def module_level_imports(name: str, path: Path) -> set[str]:
    """What importing the module runs: its top-level imports (under `if`/`try` too), not
    those inside functions, nor those under `if TYPE_CHECKING:`; relative ones resolved, and
    `from m import n` as both m and m.n. (tests/test_layout.py reads the source by it too.)"""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                target = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else (node.module or "")
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names)

    visit(ast.parse(path.read_text()).body)
    return found


def edges() -> Counter:
    count: Counter = Counter()
    for path in [*ROOT.glob("benchmark/**/*.py"), *ROOT.glob("db/**/*.py"), *ROOT.glob("dashboards/**/*.py")]:
        if "migrations" in path.parts:
            continue  # alembic's frozen scripts
        name = ".".join(p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__")
        src = part_of(name)
        if src is None:
            continue
        for dst in {part_of(i) for i in module_level_imports(name, path)} - {None, src}:
            count[(src, dst)] += 1
    return count


def dot(count: Counter) -> str:
    lines = ["digraph commitbench {", '  rankdir=TB; nodesep=0.35; ranksep=0.55;',
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=11];',
             '  edge [color="#7a869a", fontname="Helvetica", fontsize=9];']
    for h in HEAVY:
        lines.append(f'  "{h}" [shape=ellipse, fillcolor="#fbeeee"];')
    for rank in RANKS:
        lines.append("  { rank=same; " + " ".join(f'"{p}";' for p in rank) + " }")
    for (src, dst), n in sorted(count.items()):
        style = ', color="#c0392b"' if dst in ("torch", "transformers") else ""
        lines.append(f'  "{src}" -> "{dst}" [label="{n}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(dot(edges()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
