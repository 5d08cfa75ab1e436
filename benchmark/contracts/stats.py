"""Summary statistics of raw samples: what every stored figure carries beside its samples."""

from __future__ import annotations

import math
from dataclasses import dataclass


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass
class Stats:
    n: int
    mean: float
    median: float
    p90: float
    p99: float
    min: float
    max: float
    stdev: float  # sample standard deviation; 0.0 for a single value

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            raise ValueError("statistics of no values")
        s = sorted(values)
        n = len(s)
        mean = math.fsum(s) / n
        var = math.fsum((v - mean) ** 2 for v in s) / (n - 1) if n > 1 else 0.0
        return cls(n=n, mean=mean, median=percentile(s, 50), p90=percentile(s, 90), p99=percentile(s, 99),
                   min=s[0], max=s[-1], stdev=math.sqrt(var))


def repetitions(samples: list[float], n: int | None) -> list[list[float]]:
    """A figure's flat stored samples as each repetition's: a per-repetition figure has one
    sample per repetition, a pooled one (every decode step) `n` equal chunks in repetition
    order, a one-call figure one sample."""
    if n and len(samples) > n and len(samples) % n == 0:
        size = len(samples) // n
        return [samples[i:i + size] for i in range(0, len(samples), size)]
    return [[v] for v in samples]


def by_process(reps: list[list[float]], processes: int | None) -> list[list[list[float]]]:
    """A figure's repetitions (all processes', `repetitions(samples, repetitions * processes)`)
    as each worker process's: `processes` equal shares in process order. One share when the
    figure came from one process, or when the repetitions do not divide evenly."""
    k = processes or 1
    if k <= 1 or len(reps) < k or len(reps) % k:
        return [reps]
    size = len(reps) // k
    return [reps[i:i + size] for i in range(0, len(reps), size)]
