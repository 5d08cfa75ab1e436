"""`commitbench detect --input`: per-commit series from elsewhere, judged as stored ones are.

Lines are JSON objects `{"id", "values", "reps"}`, one series each, oldest commit first. `read`
checks every line before anything is judged (bad input: Failure naming the line). The history
question (`change_points`) is the offline detector's (analysis/changepoints.py); the newest-commit
question (`suspects`) is the online one (analysis/online.py) as `detect --newest` asks it of
stored series: a suspected or confirmed commit is named, a withdrawn one (an outlier its
successors went back from) is not. One JSON line out per series."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..analysis.changepoints import DetectOptions, detect
from ..analysis.online import newest
from .lines import parsed


@dataclass(frozen=True)
class Case:
    id: object                              # any JSON value, echoed as it came
    values: list[float | None]              # one per commit; None: no value
    reps: list[list[float] | None] | None   # each commit's repetitions, when given


def read(text: str, source: str) -> list[Case]:
    return parsed(text, source, _case)


def change_points(cases: list[Case]) -> list[str]:
    """`{"id", "change_points": [i, ...]}`: the first commit at each new level."""
    options = DetectOptions()
    return [json.dumps({"id": c.id, "change_points": [cp.index for cp in detect(c.values, reps=c.reps,
                                                                                 options=options)]})
            for c in cases]


def suspects(cases: list[Case]) -> list[str]:
    """`{"id", "suspected": [i]}` or `[]`: the commit suspected as a step at the newest end."""
    out = []
    for c in cases:
        found = newest(c.values, reps=c.reps)
        named = [found.index] if found is not None and found.state != "withdrawn" else []
        out.append(json.dumps({"id": c.id, "suspected": named}))
    return out


def _case(obj: dict) -> Case:
    values, reps = obj.get("values"), obj.get("reps")
    if values is None and reps is None:
        raise ValueError('"values" (a list of numbers) is required, or "reps"')
    if values is not None and (not isinstance(values, list) or not all(_number(v) or v is None for v in values)):
        raise ValueError('"values" must be a list of numbers (null for a missing commit)')
    if reps is not None:
        if not isinstance(reps, list) or not all(r is None or (isinstance(r, list) and all(_number(x) for x in r))
                                                 for r in reps):
            raise ValueError('"reps" must be a list (one per commit) of lists of numbers')
        if values is not None and len(reps) != len(values):
            raise ValueError(f'"reps" has {len(reps)} commits, "values" {len(values)}: one per commit in both')
    if values is None:
        values = [None] * len(reps)
    if any(v is not None and v <= 0 for v in values) or any(x <= 0 for r in reps or [] if r for x in r):
        raise ValueError("values must be positive (relative changes are measured)")
    return Case(obj.get("id"), [None if v is None else float(v) for v in values], reps)


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
