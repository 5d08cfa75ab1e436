"""Seeded synthetic per-commit histories whose change points are known, for the detector's benchmark.

Noise model, in log space (a relative error of x is log(1 + x) ~ x):
  log rep[i][r] = log level[i] + run[i] + rep_noise[i][r]
  run[i] ~ N(0, run_share * s^2)            shared by commit i's repetitions (process offset)
  rep_noise ~ N(0, (1 - run_share) * s^2)   independent per repetition
"CV" (`cv`) is the spread of one repetition around the true level: sqrt(run^2 + rep^2) = s when
cv_of="rep". The scalar series the anchors see is each commit's median of its repetitions, whose
spread is smaller (about 0.80 * cv for 5 repetitions and run_share 0.5); History.scalar_cv is
that figure, measured. With cv_of="scalar", s is scaled so that the median's spread equals `cv`:
the anchors then see exactly the nominal CV, and the repetitions add no noise reduction of their own.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

STEP_SIZES = (0.01, 0.02, 0.03, 0.05, 0.10)
CV_OF = ("rep", "scalar")


@dataclass(frozen=True)
class HistoryOptions:
    length: int = 300
    cv: float = 0.01
    cv_of: str = "rep"
    reps: int = 5
    run_share: float = 0.5         # fraction of the noise variance shared by a commit's repetitions
    steps: int = 3                 # how many steps, each of a size drawn from step_sizes, random sign
    step_sizes: tuple[float, ...] = STEP_SIZES
    gap: int = 25                  # least commits between two events, and between an event and an end
    outliers: float = 0.0          # per-commit probability of a single-commit outlier (whole run 6-15 s off)
    bimodal: float = 0.0           # per-commit probability that the run lands in a second mode
    bimodal_gap: float = 0.03      # how far (relative) the second mode is
    noisy_runs: float = 0.0        # per-commit probability of a noisy run: run offset and rep noise x3
    drifts: int = 0                # slow linear drifts, each drift_size over 40-80 commits
    drift_size: float = 0.05
    invalid: float = 0.0           # per-commit probability the run is invalid (throttled: 10-30 % slow)
    failed: float = 0.0            # per-commit probability the run failed (no value at all)
    p99_cv_factor: float = 2.0     # the p99 figure's own noise, relative to cv

    def __post_init__(self) -> None:
        if self.cv_of not in CV_OF:
            raise ValueError(f"cv_of must be one of {', '.join(CV_OF)}, not {self.cv_of!r}")
        if not 0.0 <= self.run_share <= 1.0:
            raise ValueError("run_share must be between 0 and 1")
        if self.reps < 1 or self.length < 2 * self.gap:
            raise ValueError("reps must be >= 1 and length >= 2 * gap")


@dataclass(frozen=True)
class Step:
    index: int          # first commit at the new level
    magnitude: float    # after / before - 1


@dataclass(frozen=True)
class Drift:
    start: int          # first commit of the ramp
    end: int            # first commit after it, at the final level
    magnitude: float


@dataclass(frozen=True)
class History:
    values: list[float | None]
    reps: list[list[float] | None]
    valid: list[bool]
    p99: list[float | None]
    steps: tuple[Step, ...]
    drifts: tuple[Drift, ...] = ()
    outliers: tuple[int, ...] = ()
    scalar_cv: float = 0.0        # measured spread (sd of log) of the median-of-reps series, Gaussian part
    extra: dict = field(default_factory=dict, compare=False)


@lru_cache(maxsize=None)
def median_variance_factor(n: int) -> float:
    """Var(median of n standard normals), by a fixed-seed simulation (0.2868 for n = 5)."""
    rng = random.Random(12345)
    draws = [_median([rng.gauss(0, 1) for _ in range(n)]) for _ in range(40000)]
    mean = sum(draws) / len(draws)
    return sum((d - mean) ** 2 for d in draws) / (len(draws) - 1)


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def _place(rng: random.Random, count: int, length: int, gap: int, taken: list[tuple[int, int]],
           span: tuple[int, int] = (0, 0)) -> list[int]:
    """Positions for `count` events (each covering [p, p + width)) at least `gap` from every other and the ends."""
    out = []
    for _ in range(count):
        for _attempt in range(200):
            width = rng.randint(*span) if span != (0, 0) else 0
            p = rng.randint(gap, length - gap - width)
            if all(p + width + gap <= a or b + gap <= p for a, b in taken):
                taken.append((p, p + width))
                out.append((p, width) if span != (0, 0) else p)
                break
    return out


def generate(options: HistoryOptions, seed: int) -> History:
    o = options
    rng = random.Random(seed)
    s = o.cv
    if o.cv_of == "scalar":
        s = o.cv / math.sqrt(o.run_share + (1 - o.run_share) * median_variance_factor(o.reps))
    run_sd = s * math.sqrt(o.run_share)
    rep_sd = s * math.sqrt(1 - o.run_share)

    taken: list[tuple[int, int]] = []
    drift_spans = _place(rng, o.drifts, o.length, o.gap, taken, span=(40, 80))
    step_at = sorted(_place(rng, o.steps, o.length, o.gap, taken))
    steps = tuple(Step(i, rng.choice(o.step_sizes) * rng.choice((-1, 1))) for i in step_at)
    drifts = tuple(Drift(p, p + w, o.drift_size * rng.choice((-1, 1))) for p, w in sorted(drift_spans))

    base = math.log(rng.uniform(0.5, 2.0))  # the history's starting level, in seconds say
    log_level = [0.0] * o.length
    for i in range(o.length):
        lv = base
        lv += sum(math.log1p(st.magnitude) for st in steps if st.index <= i)
        for d in drifts:
            frac = min(1.0, max(0.0, (i - d.start + 1) / (d.end - d.start + 1)))
            lv += math.log1p(d.magnitude) * frac
        log_level[i] = lv

    values: list[float | None] = []
    reps: list[list[float] | None] = []
    valid: list[bool] = []
    p99: list[float | None] = []
    outliers = []
    gaussian_err = []
    p99_sd = o.cv * o.p99_cv_factor
    for i in range(o.length):
        scale = 3.0 if rng.random() < o.noisy_runs else 1.0
        run = rng.gauss(0, run_sd * scale)
        special = 0.0
        if rng.random() < o.outliers:
            special = rng.uniform(6, 15) * max(s, 0.002) * rng.choice((-1, 1))
            outliers.append(i)
        elif rng.random() < o.bimodal:
            special = math.log1p(o.bimodal_gap)
        ok = True
        if rng.random() < o.invalid:
            special += math.log1p(rng.uniform(0.10, 0.30))
            ok = False
        logs = [log_level[i] + run + special + rng.gauss(0, rep_sd * scale) for _ in range(o.reps)]
        if rng.random() < o.failed:
            values.append(None)
            reps.append(None)
            p99.append(None)
            valid.append(False)
            continue
        r = [math.exp(x) for x in logs]
        med = _median(r)
        if special == 0.0 and scale == 1.0:
            gaussian_err.append(math.log(med) - log_level[i])
        values.append(med)
        reps.append(r)
        valid.append(ok)
        p99.append(math.exp(log_level[i] + math.log(1.3) + run + special + rng.gauss(0, p99_sd * scale)))
    m = sum(gaussian_err) / max(1, len(gaussian_err))
    scalar_cv = math.sqrt(sum((e - m) ** 2 for e in gaussian_err) / max(1, len(gaussian_err) - 1))
    return History(values=values, reps=reps, valid=valid, p99=p99, steps=steps, drifts=drifts,
                   outliers=tuple(outliers), scalar_cv=scalar_cv)
