"""Is a runner's benchmarking alive? Pure: times and run outcomes in, a Health out.

A (repository, branch, runner) is *stale* when its newest finished run is older than the
allowed age (or it has none: never benchmarked is not "no regressions"), and *failing* when
its newest finished runs failed this many times in a row. A cancelled run says nothing
either way (someone stopped it) and is skipped; a run still in progress is not finished.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
FAILED, SUCCEEDED, CANCELLED = "failed", "succeeded", "cancelled"


def parse_age(text: str) -> float:
    """'2d', '12h', '90m', '30s', '1w' -> seconds; ValueError saying what is allowed."""
    m = AGE.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not an age: a positive number and a unit, s, m, h, d or w (e.g. 2d, 12h)")
    return float(m.group(1)) * UNITS[m.group(2)]


def age_text(seconds: float) -> str:
    """A short age for people: 3d 4h, 5h 10m, 12m, 40s."""
    s = int(seconds)
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m" if m else f"{s}s"


def consecutive_failures(statuses_newest_first: Sequence[str]) -> int:
    """Failed finished runs before the newest succeeded one (cancelled ones skipped)."""
    n = 0
    for status in statuses_newest_first:
        if status == FAILED:
            n += 1
        elif status == SUCCEEDED:
            break
    return n


@dataclass(frozen=True)
class Health:
    stale: bool
    failing: bool
    age_s: float | None  # of the newest finished run; None: there is none
    failures: int
    reasons: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not (self.stale or self.failing)

    @property
    def state(self) -> str:
        return "ok" if self.healthy else ", ".join(s for s, on in (("stale", self.stale),
                                                                  ("failing", self.failing)) if on)


def judge(latest_finished: float | None, statuses_newest_first: Sequence[str], now: float, max_age_s: float,
          max_failures: int) -> Health:
    """`latest_finished`: unix time of the newest finished run (None: none finished)."""
    failures = consecutive_failures(statuses_newest_first)
    age = None if latest_finished is None else max(0.0, now - latest_finished)
    reasons = []
    stale = age is None or age > max_age_s
    if age is None:
        reasons.append("no finished run")
    elif stale:
        reasons.append(f"newest finished run {age_text(age)} ago (allowed {age_text(max_age_s)})")
    failing = failures >= max_failures
    if failing:
        reasons.append(f"{failures} failed runs in a row (allowed {max_failures - 1})")
    return Health(stale, failing, age, failures, tuple(reasons))
