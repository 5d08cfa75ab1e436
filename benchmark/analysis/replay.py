"""A replay beside the run it replays: is each figure within the original's own noise?

The original's noise is the spread of its repetitions: each repetition's median (a pooled
figure's chunk, a per-repetition figure's one sample), from the lowest to the highest. A
replay's level is the median of its repetitions' medians, as compare's level of a run. A
figure the original measured once has no spread to judge by ("no spread"). Being within
the spread is a plain check, not a test: two repetitions span little, and a replay on a
busier machine lands outside however right the code is.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WITHIN, OUTSIDE, NO_SPREAD, MISSING = "within", "outside", "no spread", "missing"


@dataclass(frozen=True)
class Row:
    scenario: str
    figure: str
    unit: str
    original: float | None  # level
    replay: float | None
    low: float | None  # the original's repetitions' spread
    high: float | None
    verdict: str  # WITHIN, OUTSIDE, NO_SPREAD, MISSING (the replay lacks it)


Reps = Sequence[Sequence[float]]


def level(reps: Reps) -> float | None:
    medians = [statistics.median(r) for r in reps if r]
    return statistics.median(medians) if medians else None


def side_by_side(original: Mapping[tuple[str, str], tuple[str, Reps]],
                 replay: Mapping[tuple[str, str], Reps]) -> list[Row]:
    """(scenario, figure) -> (unit, repetitions) of the original, and the replay's
    repetitions: one Row per figure of the original, in its order."""
    rows = []
    for (scenario, figure), (unit, reps) in original.items():
        medians = [statistics.median(r) for r in reps if r]
        low, high = (min(medians), max(medians)) if medians else (None, None)
        mine = level(reps)
        theirs = level(replay[(scenario, figure)]) if (scenario, figure) in replay else None
        if theirs is None:
            verdict = MISSING
        elif len(medians) < 2:
            verdict = NO_SPREAD
        else:
            verdict = WITHIN if low <= theirs <= high else OUTSIDE
        rows.append(Row(scenario, figure, unit, mine, theirs, low, high, verdict))
    return rows


def summary(rows: Sequence[Row]) -> str:
    judged = [r for r in rows if r.verdict in (WITHIN, OUTSIDE)]
    within = sum(r.verdict == WITHIN for r in judged)
    extra = [f"{n} {v}" for v in (NO_SPREAD, MISSING) if (n := sum(r.verdict == v for r in rows))]
    return (f"{within} of {len(judged)} figures within the original's repetition spread"
            + (f" ({', '.join(extra)})" if extra else ""))
