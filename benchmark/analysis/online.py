"""Newest-commit mode: after each run, is one of the last few commits the first at a new level?

The history is cut to its last `history` commits, prepared exactly as offline (log space, reps
weights, robust noise). The level before is taken over at most `window` commits, starting after
the last change point offline detection finds in that part (so an older step does not
contaminate it). For each of the last `lookback` usable commits c, the evidence that c starts a
new level is the two-sample z of [before, c) against [c, newest]; the commit with the strongest
evidence is named. It is "suspected" when that z clears `threshold`, "confirmed" once
`confirm_after` commits sit at the new level and z clears `confirm_threshold`. A commit that on its
own cleared `threshold` (it was suspected when it was newest) but whose successors went back is
"withdrawn": an outlier, not a step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .changepoints import DetectOptions, Figures, Prepared, Sums, _check_int, _check_lengths, _check_pos, prepare, split_points

STATES = ("suspected", "confirmed", "withdrawn")


@dataclass(frozen=True)
class OnlineOptions:
    window: int = 30             # commits before the candidate that make the old level
    lookback: int = 4            # the last commits that may be named
    threshold: float = 3.4       # z to suspect
    confirm_threshold: float = 4.5
    confirm_after: int = 3       # commits at the new level (the named one included) to confirm
    min_magnitude: float = 0.005
    min_before: int = 8          # usable commits needed before the candidate
    history: int = 150           # most recent commits looked at

    def __post_init__(self) -> None:
        _check_int("window", self.window, 4)
        _check_int("lookback", self.lookback, 1)
        _check_int("confirm_after", self.confirm_after, 1)
        _check_int("min_before", self.min_before, 2)
        _check_int("history", self.history, self.window + self.lookback)
        _check_pos("threshold", self.threshold)
        _check_pos("confirm_threshold", self.confirm_threshold)
        if not (isinstance(self.min_magnitude, (int, float)) and 0 <= self.min_magnitude < 1):
            raise ValueError(f"min_magnitude must be a number in [0, 1), not {self.min_magnitude!r}")
        if self.min_before > self.window:
            raise ValueError(f"min_before must be at most window ({self.window}), not {self.min_before}")


@dataclass(frozen=True)
class Suspect:
    index: int            # the commit suspected to be the first at a new level
    magnitude: float      # level after / level before - 1 (geometric weighted means)
    score: float          # the two-sample z of the segment from `index` to the newest commit
    state: str            # "suspected" | "confirmed" | "withdrawn"
    commits_since: int    # commits after `index` seen so far (0: it is the newest)


def newest(values: Sequence[float | None], reps: Sequence[Sequence[float] | None] | None = None,
           valid: Sequence[bool] | None = None, options: OnlineOptions = OnlineOptions()) -> Suspect | None:
    o = options
    n = len(values)
    _check_lengths(n, reps=reps, valid=valid)
    start = max(0, n - o.history)
    vals = list(values[start:])
    rps = list(reps[start:]) if reps is not None else None
    vld = list(valid[start:]) if valid is not None else None
    prep = prepare(vals, rps, vld)
    m = len(prep.index)
    if m < o.min_before + 1:
        return None
    sums = Sums(prep.y, prep.w)
    last = m - 1
    first_candidate = max(o.min_before, m - o.lookback)
    # the old level starts after the last change point offline detection sees before the candidates
    old_cps = _settled_change_points(prep, first_candidate, o.window)
    best = None
    single = None
    for k in range(first_candidate, m):
        a = max(old_cps[-1] if old_cps else 0, k - o.window)
        if k - a < o.min_before:
            continue
        z = sums.t(a, k, m)
        mag = _mag(sums, a, k, m)
        if abs(mag) >= o.min_magnitude and (best is None or abs(z) > abs(best[0])):
            best = (z, k, mag)
        if k < last and abs(sums.t(a, k, k + 1)) >= o.threshold and abs(_mag(sums, a, k, k + 1)) >= o.min_magnitude:
            single = (z, k, mag)  # the latest commit that was alarming on its own
    if best is not None and abs(best[0]) >= o.threshold:
        z, k, mag = best
        since = n - 1 - (start + prep.index[k])
        state = "confirmed" if m - k >= o.confirm_after and abs(z) >= o.confirm_threshold else "suspected"
        return Suspect(start + prep.index[k], mag, abs(z), state, since)
    if single is not None:
        z, k, mag = single
        return Suspect(start + prep.index[k], mag, abs(z), "withdrawn", n - 1 - (start + prep.index[k]))
    return None


def _mag(sums: Sums, a: int, k: int, b: int) -> float:
    ml, _ = sums.mean(a, k)
    mr, _ = sums.mean(k, b)
    return math.exp(mr - ml) - 1


def _settled_change_points(prep: Prepared, end: int, window: int) -> list[int]:
    """Positions of the change points offline detection finds among the first `end` usable commits."""
    part = Prepared(prep.index[:end], prep.y[:end], prep.w[:end])
    return split_points(Figures(part, None), DetectOptions(window=window))
