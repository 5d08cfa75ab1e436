"""Maintained libraries as anchors for the detector's benchmark, imported only when asked for.

Each anchor sees what a scalar-only tool sees: the per-commit values (each commit's median of
repetitions), invalid runs included as stored, a failed run's missing value forward-filled.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass(frozen=True)
class Anchor:
    name: str
    module: str                                   # the import that must exist
    run: Callable[[list[float]], list[int]]        # filled values -> first commits at a new level


def _filled(values: Sequence[float | None]) -> list[float]:
    out: list[float] = []
    prev = next((v for v in values if v is not None), 1.0)
    for v in values:
        prev = v if v is not None else prev
        out.append(prev)
    return out


def _otava(values: list[float]) -> list[int]:
    from otava.analysis import compute_change_points
    cps, _ = compute_change_points(values, window_len=50, max_pvalue=0.001)
    return [int(c.index) for c in cps]


def _pelt(values: list[float]) -> list[int]:
    import numpy as np
    import ruptures
    y = np.log(np.asarray(values, dtype=float))
    sd = float(np.median(np.abs(np.diff(y) - np.median(np.diff(y))))) * 1.4826 / math.sqrt(2)
    # BIC-style penalty for a mean shift under Gaussian noise of the robustly measured scale
    ends = ruptures.Pelt(model="l2", min_size=2, jump=1).fit(y).predict(pen=2 * sd * sd * math.log(len(y)))
    return [int(e) for e in ends[:-1]]


ANCHORS = (
    Anchor("Otava (window 50, p 0.001)", "otava", _otava),
    Anchor("ruptures Pelt (l2, BIC penalty)", "ruptures", _pelt),
)


def available() -> tuple[list[Anchor], list[str]]:
    """The anchors whose package is installed, and a line for each that is not."""
    have, missing = [], []
    for a in ANCHORS:
        if importlib.util.find_spec(a.module) is None:
            missing.append(f"{a.name}: skipped, package `{a.module}` is not installed")
        else:
            have.append(a)
    return have, missing


def run(anchor: Anchor, values: Sequence[float | None]) -> list[int]:
    return anchor.run(_filled(values))
