"""What changed in the harness, configuration or environment between runs: so a step that
an upgrade caused is labelled as such, not blamed on a commit.

Watched: the config hash, and from the stored environment torch, transformers, CUDA (torch's
runtime), the driver and commitbench's own version. A value counts as changed only where
both runs recorded it: a run stored before a key was recorded is not an "upgrade". The
overview dashboard's annotation (dashboards/queries.env_changes_annotation) applies the
same rule in SQL, over the same WATCHED keys.

The code under test is no environment: where the benchmarked repository is an installed
package (transformers' own checkout, `pip install -e .`), the runner stores its name in
`environment.code_under_test`, and that package's version is left out of the run's facts
(its change is the commit's change, not an upgrade beside it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CONFIG = "config_hash"
# (key in the run's facts, label): config_hash is a column, the rest environment keys
WATCHED: tuple[tuple[str, str], ...] = (
    (CONFIG, "config"), ("torch", "torch"), ("transformers", "transformers"), ("torch_cuda", "CUDA"),
    ("driver_version", "driver"), ("commitbench", "commitbench"))
HASH_CHARS = 8  # a config hash is shown by its first characters


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    before: str
    after: str

    def text(self) -> str:
        return f"{self.label} {self.before} -> {self.after}"


def facts(config_hash: str | None, environment: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The watched values of one run, as text (a hash shortened)."""
    env = environment or {}
    code = env.get("code_under_test")
    code = {c for c in code if isinstance(c, str)} if isinstance(code, list) else set()
    out: dict[str, str | None] = {}
    for key, _ in WATCHED:
        value = config_hash if key == CONFIG else None if key in code else env.get(key)
        out[key] = None if value is None else str(value)[:HASH_CHARS] if key == CONFIG else str(value)
    return out


def changes(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> list[Change]:
    """What differs from one run's facts to the next's, in WATCHED order."""
    return [Change(key, label, before[key], after[key]) for key, label in WATCHED
            if before.get(key) is not None and after.get(key) is not None and before[key] != after[key]]


def consecutive(runs: Sequence[tuple[Any, Mapping[str, str | None]]]) -> list[tuple[Any, list[Change]]]:
    """(run, facts) in history order -> (run, what changed since the run before) for each
    run where something did."""
    return [(run, found) for (_, a), (run, b) in zip(runs, runs[1:]) if (found := changes(a, b))]


def between_sides(base: Sequence[Mapping[str, str | None]], head: Sequence[Mapping[str, str | None]]) -> list[Change]:
    """Where compare's two sides differ: a watched value whose set of values (over a side's
    runs) differs; each side's values listed."""
    out = []
    for key, label in WATCHED:
        b = sorted({f[key] for f in base if f.get(key) is not None})
        h = sorted({f[key] for f in head if f.get(key) is not None})
        if b and h and b != h:
            out.append(Change(key, label, "/".join(b), "/".join(h)))
    return out
