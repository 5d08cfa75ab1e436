"""A run's validity violations said once per run, not once per phase.

The rules (analysis/validity.py) are judged per measured phase, so on a shared machine one
busy neighbour breaks `cpu_load` in every phase of every scenario: eleven stored violations
that say the same thing. Everything that shows why a run is invalid (the run's last lines,
`show`, compare's notes and errors, the HTML report) says it through `summary`: each rule
once, with its worst value, where that was, and how many phases it broke; `line` adds what
to do about it. Stored reasons are not changed (they keep every phase).

A rule's value is the first number in its detail (validity.py writes each detail so: other
processes' cores, the SM clock in MHz, the temperature, the other GPU processes, the
throttled samples); it reads the same from rows stored before this module existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .result import Violation

LOWER_IS_WORSE = ("sm_clock",)  # a lower SM clock is the worse one; every other rule's value is worse higher
NAMED_PHASES = 3  # phases named in a rule's summary; the rest are counted
REMEDY = ("to fix: a quieter runner, or turn the rule off in a [validity] rules file and judge again with "
          "`commitbench validate --rules FILE`")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def value(v: Violation) -> float | None:
    """The rule's measure: the first number in its detail."""
    found = _NUMBER.search(v.detail)
    return float(found.group()) if found else None


def _where(v: Violation) -> str:
    return "/".join(x for x in (v.scenario, v.phase) if x)


def _worst(group: list[Violation]) -> Violation:
    rule = group[0].rule
    scored = [(x, value(x)) for x in group]
    known = [(x, s) for x, s in scored if s is not None]
    if not known:
        return group[0]
    pick = min if rule in LOWER_IS_WORSE else max
    return pick(known, key=lambda p: p[1])[0]


def summary(reasons: Iterable[Violation | Mapping[str, Any]]) -> str:
    """Each broken rule once: "cpu_load in 11 phases (eager/generate, ... and 8 more), worst:
    DETAIL (where)"; one phase reads as the violation itself. "" for none."""
    groups: dict[str, list[Violation]] = {}
    for r in reasons:
        v = r if isinstance(r, Violation) else Violation.of(r)
        groups.setdefault(v.rule, []).append(v)
    parts = []
    for rule, group in groups.items():
        worst = _worst(group)
        if len(group) == 1:
            parts.append(worst.line())
            continue
        wheres = [w for w in dict.fromkeys(_where(x) for x in group) if w]
        named = ", ".join(wheres[:NAMED_PHASES]) + (f" and {len(wheres) - NAMED_PHASES} more"
                                                   if len(wheres) > NAMED_PHASES else "")
        at = f" ({_where(worst)})" if _where(worst) else ""
        parts.append(f"{rule} in {len(group)} phases" + (f" ({named})" if named else "")
                     + f", worst: {worst.detail}{at}")
    return "; ".join(parts)


def line(reasons: Iterable[Violation | Mapping[str, Any]], what: str = "INVALID") -> str:
    """The summary and what to do, in one line: "INVALID (left out of compare and detect):
    SUMMARY; to fix: ..."."""
    said = summary(reasons) or "no reason stored"
    return f"{what} (left out of compare and detect): {said}; {REMEDY}"
