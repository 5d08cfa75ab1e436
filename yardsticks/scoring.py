"""Scores detectors against histories whose change points are known.

Offline: a true step is found when a report lies within +-1 commit of it (each report matches at
most one step, nearest first). A report that matches no step is a false alarm, except the first
report inside a slow drift's span (+-1), which is counted as a drift report: a drift may be
reported once (as one move of level), never as several steps.
Online: see OnlineTally.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from yardsticks.histories import History

TOLERANCE = 1


@dataclass
class OfflineTally:
    steps: Counter = field(default_factory=Counter)        # |magnitude| -> true steps
    found: Counter = field(default_factory=Counter)        # |magnitude| -> found within +-1
    errors: Counter = field(default_factory=Counter)       # location error (report - true), nearest within +-5; None: none
    false_alarms: int = 0
    drift_reports: int = 0
    drifts: int = 0
    commits: int = 0
    histories: int = 0

    def add(self, history: History, reported: list[int]) -> None:
        self.histories += 1
        self.commits += len(history.values)
        self.drifts += len(history.drifts)
        free = sorted(reported)
        matched: set[int] = set()
        pairs = sorted(((abs(r - s.index), si, ri) for si, s in enumerate(history.steps)
                        for ri, r in enumerate(free) if abs(r - s.index) <= TOLERANCE))
        step_done: set[int] = set()
        for _, si, ri in pairs:
            if si in step_done or ri in matched:
                continue
            step_done.add(si)
            matched.add(ri)
        for si, s in enumerate(history.steps):
            size = round(abs(s.magnitude), 4)
            self.steps[size] += 1
            if si in step_done:
                self.found[size] += 1
            near = [r - s.index for r in free if abs(r - s.index) <= 5]
            self.errors[min(near, key=abs) if near else None] += 1
        drift_used: set[int] = set()
        for ri, r in enumerate(free):
            if ri in matched:
                continue
            d = next((di for di, d in enumerate(history.drifts) if d.start - 1 <= r <= d.end + 1), None)
            if d is not None and d not in drift_used:
                drift_used.add(d)
                self.drift_reports += 1
            else:
                self.false_alarms += 1

    def recall(self, size: float | None = None) -> float:
        if size is None:
            n = sum(self.steps.values())
            return sum(self.found.values()) / n if n else float("nan")
        n = self.steps[round(size, 4)]
        return self.found[round(size, 4)] / n if n else float("nan")

    def false_alarms_per_100(self) -> float:
        return 100.0 * self.false_alarms / self.commits if self.commits else float("nan")


@dataclass
class OnlineTally:
    """Newest-commit mode, replayed commit by commit.

    For a step landing at commit s, newest() is called on the history up to s, s+1, s+2, s+3:
    `within1` counts steps flagged (suspected or confirmed) by the call ending at s or s+1,
    `within3` by the one ending at s+3 at the latest; `right` counts, among flagged steps, those
    whose first flag names commit s exactly. On step-free histories every call is a trial, and a
    call that names a suspected or confirmed commit is a false alarm; `false_confirmed` counts
    the calls that name a confirmed one.
    """
    steps: Counter = field(default_factory=Counter)
    within1: Counter = field(default_factory=Counter)
    within3: Counter = field(default_factory=Counter)
    right: int = 0
    flagged: int = 0
    calls: int = 0
    false_alarms: int = 0
    false_confirmed: int = 0

    def rate(self, counter: Counter, size: float | None = None) -> float:
        if size is None:
            n = sum(self.steps.values())
            return sum(counter.values()) / n if n else float("nan")
        n = self.steps[round(size, 4)]
        return counter[round(size, 4)] / n if n else float("nan")
