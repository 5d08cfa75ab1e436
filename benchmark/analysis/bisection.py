"""Bisect's judgement: a tested commit's level and noise, and whether a level is the good
endpoint's or the bad one's (`commitbench bisect`, benchmark/flows/bisect.py).

A level is the median of every sample of the figure over the commit's runs. Its noise is
the larger of the samples' robust spread (compare's `robust_sigma`: 1.4826 x the median
absolute deviation, robust to outliers) and the spread of the runs' medians: samples of one
process share its offset, so only several runs show how far one process lands from the
next. The endpoints must lie more than SEPARATION noise apart (the larger endpoint noise),
and a commit is good or bad only when its level is more than MARGIN noise from their
midpoint, on one side; otherwise bisect cannot decide. Numbers in, dataclasses out."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..contracts.stats import percentile
from .compare import robust_sigma

SEPARATION = 4.0  # endpoints at least this many noise units apart
MARGIN = 1.0  # a commit at least this many noise units from the midpoint
GOOD, BAD = "good", "bad"


@dataclass(frozen=True)
class Level:
    median: float
    noise: float
    n: int

    @classmethod
    def of(cls, runs: Sequence[Sequence[float]]) -> Level:
        """The level of a commit from its runs' samples (one list per run; at least one sample)."""
        s = sorted(v for run in runs for v in run)
        median = percentile(s, 50)
        within = robust_sigma(s, center=median)
        medians = [percentile(sorted(run), 50) for run in runs if run]
        between = statistics.stdev(medians) if len(medians) > 1 else 0.0
        return cls(median=median, noise=max(within, between), n=len(s))


@dataclass(frozen=True)
class Judge:
    good: Level
    bad: Level

    @property
    def noise(self) -> float:
        return max(self.good.noise, self.bad.noise)

    @property
    def midpoint(self) -> float:
        return (self.good.median + self.bad.median) / 2

    def separated(self) -> bool:
        """The endpoints lie far enough apart, against their noise, to bisect between them."""
        gap = abs(self.bad.median - self.good.median)
        return gap > 0 and gap > SEPARATION * self.noise

    def verdict(self, level: Level) -> str | None:
        """GOOD, BAD, or None when the level is too near the midpoint to tell."""
        offset = level.median - self.midpoint
        if abs(offset) <= MARGIN * self.noise:
            return None
        toward_bad = (offset > 0) == (self.bad.median > self.good.median)
        return BAD if toward_bad else GOOD
