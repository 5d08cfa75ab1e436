"""Synthetic (base, head, history) cases with a known true change, and a scorer of verdicts.

The generator puts the noise where it lives on real machines: every run (process) draws its own
offset, every repetition inside it another, every per-token sample a third, all multiplicative
(log-normal). Conditions add whole-run shifts, two process modes, or outlier repetitions and
spikes; layouts say how many runs each side has and how much base history there is, and whether
that history contains a step (earlier base commits at another speed). All figures are "lower is
better" (seconds per token): a positive true change is a regression.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from benchmark.analysis.compare import Run

LEVEL = 0.02  # seconds per token of the base revision
REPS, SAMPLES = 5, 16  # repetitions per run, per-token samples per repetition


@dataclass(frozen=True)
class Condition:
    name: str
    description: str
    process_cv: tuple[float, float]  # each case draws the process-offset CV uniformly in this range
    rep_cv: float                    # offset of each repetition within its process
    sample_cv: float                 # each per-token sample within its repetition
    shift_prob: float = 0.0          # a whole run is shifted by `shift` with this probability
    shift: float = 0.0
    outlier_rep_prob: float = 0.0    # a repetition is 20-50 % slow (a pause, page faults)
    spike_prob: float = 0.0          # a sample is 1.5-3x slow


CONDITIONS = (
    Condition("quiet", "process CV 0.5 %, repetition CV 0.5 %, sample CV 1 %", (0.005, 0.005), 0.005, 0.01),
    Condition("shared", "process CV 3-5 % (drawn per case), repetition CV 1 %, sample CV 2 %",
              (0.03, 0.05), 0.01, 0.02),
    Condition("run shifts", "quiet, and each run is 2 % slow as a whole with probability 0.3",
              (0.005, 0.005), 0.005, 0.01, shift_prob=0.3, shift=0.02),
    Condition("bimodal", "quiet, and each process lands in a mode 3 % slower with probability 0.5",
              (0.005, 0.005), 0.005, 0.01, shift_prob=0.5, shift=0.03),
    Condition("outliers", "quiet, and each repetition is 20-50 % slow with probability 0.1, "
              "each sample 1.5-3x slow with probability 0.02",
              (0.005, 0.005), 0.005, 0.01, outlier_rep_prob=0.1, spike_prob=0.02),
)


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    runs: tuple[int, int]  # runs per side, drawn uniformly in this inclusive range
    history: int           # earlier base runs on the same runner, oldest first
    step_prob: float = 0.5  # the history has a step of +-3 % at a random point (older runs differ)


LAYOUTS = (
    Layout("1+1, history 10", "1 base run, 1 head run, 10 earlier base runs (a +-3 % step in half)", (1, 1), 10),
    Layout("ab 3-5", "3-5 interleaved runs per side (`commitbench ab`), no history", (3, 5), 0),
    Layout("ab 3-5, history 10", "3-5 interleaved runs per side and 10 earlier base runs (a +-3 % step in half)",
           (3, 5), 10),
    Layout("1+1, no history", "1 base run, 1 head run, nothing else", (1, 1), 0),
)

# +1 %: a real change below the 2 % threshold, the case "suspicious" is for (never an alarm)
CHANGES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.10, -0.03)


@dataclass(frozen=True)
class Case:
    id: str
    condition: str
    layout: str
    true_change: float  # head / base - 1 of the underlying level
    base: tuple[Run, ...]
    head: tuple[Run, ...]
    history: tuple[Run, ...]


def make_run(level: float, cond: Condition, process_cv: float, rng: random.Random) -> Run:
    offset = rng.gauss(0.0, process_cv)
    if rng.random() < cond.shift_prob:
        offset += math.log1p(cond.shift)
    reps = []
    for _ in range(REPS):
        rep_level = level * math.exp(offset + rng.gauss(0.0, cond.rep_cv))
        if rng.random() < cond.outlier_rep_prob:
            rep_level *= rng.uniform(1.2, 1.5)
        samples = [rep_level * math.exp(rng.gauss(0.0, cond.sample_cv)) for _ in range(SAMPLES)]
        if cond.spike_prob:
            samples = [s * rng.uniform(1.5, 3.0) if rng.random() < cond.spike_prob else s for s in samples]
        reps.append(tuple(samples))
    return Run(reps=tuple(reps))


def make_case(cond: Condition, layout: Layout, change: float, rng: random.Random, id: str) -> Case:
    process_cv = rng.uniform(*cond.process_cv)
    n_base, n_head = rng.randint(*layout.runs), rng.randint(*layout.runs)
    history = []
    if layout.history:
        step_at = rng.randint(1, layout.history - 1) if rng.random() < layout.step_prob else 0
        step = rng.choice((-0.03, 0.03))
        history = [make_run(LEVEL * (1 + step if i < step_at else 1.0), cond, process_cv, rng)
                   for i in range(layout.history)]
    base = [make_run(LEVEL, cond, process_cv, rng) for _ in range(n_base)]
    head = [make_run(LEVEL * (1 + change), cond, process_cv, rng) for _ in range(n_head)]
    return Case(id, cond.name, layout.name, change, tuple(base), tuple(head), tuple(history))


def cases(seed: int, pairs: int, conditions: Sequence[Condition] = CONDITIONS,
          layouts: Sequence[Layout] = LAYOUTS, changes: Sequence[float] = CHANGES) -> Iterator[Case]:
    """`pairs` cases for every layout x condition x change, reproducible from `seed`."""
    rng = random.Random(seed)
    for layout in layouts:
        for cond in conditions:
            for change in changes:
                for i in range(pairs):
                    yield make_case(cond, layout, change, rng, f"{layout.name}/{cond.name}/{change:+.2f}/{i}")


@dataclass
class Tally:
    """Outcomes of one method on the cases of one true change."""
    pairs: int = 0
    alarms: int = 0        # regression or improvement
    caught: int = 0        # the alarm of the true change's direction
    no_change: int = 0
    noisy: int = 0
    with_ci: int = 0
    covered: int = 0       # intervals containing the true change
    verdicts: Counter = field(default_factory=Counter)  # how often each verdict class fired

    def add(self, true_change: float, verdict: str, ci: tuple[float, float] | None = None) -> None:
        self.pairs += 1
        self.verdicts[verdict] += 1
        self.alarms += verdict in ("regression", "improvement")
        right = "regression" if true_change > 0 else "improvement" if true_change < 0 else None
        self.caught += verdict == right
        self.no_change += verdict == "no_change"
        self.noisy += verdict == "noisy"
        if ci is not None:
            self.with_ci += 1
            self.covered += ci[0] <= true_change <= ci[1]


@dataclass
class Scores:
    """Tallies by (layout, condition, method, true change)."""
    tallies: dict[tuple[str, str, str, float], Tally] = field(default_factory=dict)

    def add(self, case: Case, method: str, verdict: str, ci: tuple[float, float] | None = None) -> None:
        key = (case.layout, case.condition, method, case.true_change)
        self.tallies.setdefault(key, Tally()).add(case.true_change, verdict, ci)

    def get(self, layout: str, condition: str, method: str, change: float) -> Tally:
        return self.tallies.get((layout, condition, method, change), Tally())
