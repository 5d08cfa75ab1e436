"""Sequential interleaved A/B: after each round of one base and one head process, is the change
decided ("done") or does it need another round ("more")? Pure: runs in, a Decision out.

Why paired rounds: a round's two processes run back to back (AB, then BA next round), so the
machine's state at that time (a drift, a neighbour that starts from some round on) shifts both
alike. Each round gives one observation, ``d_r = log(head level) - log(base level)`` (a level
as in analysis/compare.py: the median of the repetitions' medians, so a cold first repetition
or an outlier sample does not move it), and the change is ``exp(mean d) - 1``.

Noise. ``Var(d_r)`` is twice the process-to-process variance (plus the levels' within-process
uncertainty). The job's own rounds estimate it with ``n - 1`` degrees of freedom: after two
rounds one, so nothing could stop early on them alone. Main's earlier runs on this runner
(``history``: one base process from each earlier job) estimate the process-to-process sigma
as compare does (successive differences, a step and broken runs dropped); that estimate, doubled,
is pooled with the rounds' own as a prior, weighted by its degrees of freedom. A round whose
difference lies beyond 5 robust sigmas of the others (a neighbour that started between its two
processes, a broken process) is left out once 4 rounds exist; the reason says so.

Looks and error rates. The rule looks after every round from ``min_rounds`` to ``max_rounds``.
Looking at a fixed-N test every round would raise its false-alarm rate with each look, so the
looks share the total rate by alpha spending (Lan-DeMets) with the Hwang-Shih-DeCani function
``alpha(t) = alpha (1 - exp(-gamma t)) / (1 - exp(-gamma))``, ``t = rounds / max_rounds``, and
the boundaries are exact group-sequential ones (analysis/boundaries.py, Armitage-McPherson-Rowe's
recursion): with no change, the chance of crossing first at look k is ``alpha(t_k) -
alpha(t_{k-1})`` for the correlated cumulative means, so the chance of any false alarm over all
looks is ``alpha`` itself. (Testing each look at its share alone, a union bound, wastes most of
it: the means after 9 and 10 rounds are 95 % correlated, and the last look got 0.27 % of 1 % where
its exact boundary tests at 0.63 %.) ``gamma = -3`` spends little early and most at the end; a
large change still stops after 2-3 rounds. (yardsticks/bench_ab.py's seed 1: gamma -6, -3 and 0
alarm on the same shared and bimodal jobs within two in 1000, and -3 stops unchanged quiet jobs
after a median of 5 rounds.) A look forced final by the caller's budget spends all that is left.

The boundaries are computed for a known variance (z). The variance here is estimated, with
``df`` = the prior's degrees of freedom + the rounds' own, so each look's z boundary is carried
to the t scale by its nominal level: the look tests at the single-look rate ``p_k`` of its z
boundary with Student's t on the look's ``df`` (the "significance level approach" for unknown
variance in Jennison & Turnbull, Group Sequential Methods, 2000). It is exact as df grows, keeps the
early looks (few df) as strict as their share demands, and needs no design for a df the job only
learns as it goes; its cost, the looks' shared prior making their t's a little more alike than
z's, raises the rate by about a tenth (1.1 % for 1 % with the prior's 6 df, a Monte Carlo of
ideal normal jobs). The default ``alpha`` spends 0.8 %, a margin for that and for noise the model
fits loosely: on the benchmark's shared and bimodal conditions even one look at 10 rounds at 1 %
alarms on 1.2-1.4 % of unchanged jobs (seed 1). The equivalence stop spends ``beta`` the same way,
one-sided: its boundaries are exact for the statistic ``(mean - threshold) / se``, which has no
drift when the change is at the threshold, ignoring the alarm stop (which only takes away paths),
so the chance of an early no_change at the threshold is at most ``beta``.

A runner too noisy for no_change. Where main's history says that even ``max_rounds`` rounds of
processes as spread as its own could not show no_change (an unchanged job's last equivalence
interval, from the history's sigma alone, is wider than the threshold), the looks can only
alarm, so the alarm spends its rate late (``late_gamma``): the last look tests at 0.77 % of the
0.8 % instead of 0.49 %, the power a single look at the end would have, while a change many
times the noise still stops in the first looks. The shape is chosen from the history before the
job's rounds, a design fixed in advance, so the rate spent stays ``alpha``. Futility, on such a
runner only: at a look from half of ``max_rounds`` on, if the chance that the last look decides
at all (an alarm, or an equivalence no_change), with the rounds to come like those so far
(conditional power under the trend), is below ``futility`` (1 %), the job stops early with
compare's verdict on the interval it has (noisy when it is wide) and says why. That only takes
alarms away, so it spends no rate. It is kept from runners where no_change is within reach
because there the trend of a few rounds misleads: on yardsticks/bench_ab.py's seed 1, futility
judged on every runner cut no_change on the unchanged "everything" jobs (drift, neighbour, cold
repetitions and outliers at once) from 96 % to 88 %, the rest ending noisy.

At each look, with the interval oriented so that positive is worse:
- the alarm interval (two-sided, at the look's nominal level) excludes 0: done, with compare's
  verdict on it (regression, improvement, or suspicious / no_change for a real change smaller
  than the threshold);
- else the equivalence interval (one-sided at the look's nominal level from ``beta``, the total
  chance of stopping early as no_change when the change is at the threshold) lies within +-threshold:
  done, no_change (an equivalence stop: the rounds rule out a change that matters);
- else, at the last look (max_rounds, or the caller's budget ran out): done, with compare's
  verdict on the alarm interval (noisy when it is too wide: the interval and rounds are said);
- else, on a runner too noisy for no_change (above), from half the rounds on, when the last look
  would decide with a chance below ``futility``: done, the same way (a futility stop);
- else more.
When the rounds disagree far more than main's history says processes do (an F-test at 1 %),
the reason says so: a machine that switches clock states per process is out of reach of a
process-level test in 10 rounds, and its telemetry (the device readings) shows the clocks.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from benchmark.contracts.figures import DIRECTIONS

from . import boundaries
from .compare import CompareOptions, Comparison, Noise, Run, robust_sigma, run_from_json, run_noise, t_quantile, verdict

DONE, MORE = "done", "more"
ORDERS = ("AB", "BA")
_OUTLIER_SIGMAS = 5.0  # a round's difference this many robust sigmas from the others' median is broken
_MIN_FOR_OUTLIERS = 4  # rounds needed before one can be called broken
_WIDEST = math.log(100.0)  # an interval's half-width shown at most (x100 either way): wider says no more
_DISAGREE_P = 0.01  # the F-test's level for "rounds disagree more than history says"
_FUTILITY_FROM = 0.5  # a futility stop needs this share of max_rounds: a few rounds' trend misleads


@dataclass(frozen=True)
class Round:
    """One base process and one head process, run back to back in `order`."""
    base: Run
    head: Run
    order: str = "AB"

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"order: must be AB or BA, got {self.order!r}")


@dataclass(frozen=True)
class SequentialOptions:
    threshold: float = 0.02
    alpha: float = 0.008      # false-alarm rate spent over every look (two-sided): 1 % less a margin (docstring)
    beta: float = 0.05        # total rate of an early no_change when the change is at the threshold
    min_rounds: int = 2
    max_rounds: int = 10
    noisy_width: float = 2.5  # compare's: the widest final interval, in thresholds, that is no_change
    gamma: float = -3.0       # Hwang-Shih-DeCani spending shape: > 0 spends early (Pocock-like), < 0 late
    late_gamma: float = -12.0  # alpha's shape where main's history puts no_change out of reach (docstring)
    futility: float = 0.01    # stop undecided when the chance of any decision by max_rounds is below this

    def __post_init__(self) -> None:
        CompareOptions(threshold=self.threshold, noisy_width=self.noisy_width)  # their checks
        for field, value in (("alpha", self.alpha), ("beta", self.beta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 0.5:
                raise ValueError(f"{field}: must be a rate in (0, 0.5), got {value!r}")
        for field, value in (("min_rounds", self.min_rounds), ("max_rounds", self.max_rounds)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                raise ValueError(f"{field}: must be an integer from 1 to 100, got {value!r}")
        for field, value in (("gamma", self.gamma), ("late_gamma", self.late_gamma)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -20 <= value <= 20:
                raise ValueError(f"{field}: must be a number from -20 to 20, got {value!r}")
        if isinstance(self.futility, bool) or not isinstance(self.futility, (int, float)) \
                or not 0 <= self.futility < 0.5:
            raise ValueError(f"futility: must be a rate in [0, 0.5) (0: never), got {self.futility!r}")
        if self.min_rounds > self.max_rounds:
            raise ValueError(f"min_rounds: must be at most max_rounds ({self.max_rounds}), got {self.min_rounds}")

    def spending(self, rounds: int, total: float, gamma: float | None = None) -> float:
        """The share of `total` spent by the look after `rounds` rounds, cumulative: Hwang-Shih-
        DeCani's ``total (1 - exp(-gamma t)) / (1 - exp(-gamma))`` at ``t = rounds / max_rounds``
        (`gamma`: the options' own unless given)."""
        gamma = self.gamma if gamma is None else gamma
        t = min(rounds, self.max_rounds) / self.max_rounds
        if gamma == 0:
            return total * t
        return total * -math.expm1(-gamma * t) / -math.expm1(-gamma)

    def nominal(self, rounds: int, total: float, two_sided: bool, final: bool = False,
                gamma: float | None = None) -> float:
        """The single-look rate of this look's exact group-sequential boundary (looks at every
        round from min_rounds; analysis/boundaries.py): the chance, with no change, of crossing
        first at this look is spending(rounds) - spending(rounds - 1). A `final` look before
        max_rounds (the budget ran out) spends all that is left of `total`."""
        k = min(rounds, self.max_rounds)
        looks = tuple(range(self.min_rounds, k + 1)) if k >= self.min_rounds else (k,)
        cumulative = [self.spending(n, total, gamma) for n in looks]
        if final:
            cumulative[-1] = total
        return boundaries.nominal(boundaries.critical(looks, cumulative, two_sided)[-1], two_sided)


@dataclass(frozen=True)
class Decision:
    decision: str           # "done" or "more"
    comparison: Comparison  # compare's verdict classes; noisy while undecided
    rounds: int             # rounds looked at (every round given)
    stopped: str            # why it stopped, or what it waits for


def decide(rounds: Sequence[Round], direction: str, options: SequentialOptions = SequentialOptions(),
           history: Sequence[Run] = (), final: bool = False) -> Decision:
    """The look after `len(rounds)` rounds. `final`: the caller can run no more (its budget ran
    out); reaching max_rounds is final too."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    n_rounds = len(rounds)
    last = final or n_rounds >= options.max_rounds
    hist = [r for r in history if r.usable and r.level() > 0]
    paired = [r for r in rounds if r.base.usable and r.head.usable and r.base.level() > 0 and r.head.level() > 0]
    logs = [(math.log(r.base.level()), math.log(r.head.level())) for r in paired]  # each level once: medians
    diffs = [h - b for b, h in logs]
    prior = run_noise([], [], hist) if hist else None
    # the alarm's spending shape is chosen before the job's rounds, from main's history alone
    late = prior is not None and prior.df > 0 and not _no_change_reachable(prior, options)
    gamma = options.late_gamma if late else options.gamma
    kept, dropped = _drop_broken(diffs, math.sqrt(2) * prior.sigma if prior is not None else 0.0)

    def undecided(reason: str, change: float | None = None, verdict_: str = "noisy") -> Decision:
        comparison = Comparison(verdict_, change, None, None, None, len(paired), len(paired), len(hist), None, reason)
        if last:
            return Decision(DONE, comparison, n_rounds, f"{_rounds(n_rounds)}, the most allowed: {reason}")
        return Decision(MORE, comparison, n_rounds, reason)

    if not kept:
        return undecided("no round with a valid base and head process", verdict_="insufficient")
    n = len(kept)
    d = statistics.fmean(kept)
    change = math.expm1(d)
    if n_rounds < options.min_rounds and not last:
        return undecided(f"{_rounds(n_rounds)} of at least {options.min_rounds}", change)
    var, df, note = _noise(kept, paired, prior)
    if var is None:
        return undecided(f"{_pct(change)} from {_rounds(n)}: the noise is unknown (needs 2+ rounds, or main's "
                         "history on this runner)", change)
    se = math.sqrt(var / n)
    look_alpha = options.nominal(n_rounds, options.alpha, two_sided=True, final=last, gamma=gamma)
    half = t_quantile(1 - look_alpha / 2, df) * se
    cmp_options = CompareOptions(threshold=options.threshold, noisy_width=options.noisy_width)
    v, why = verdict(d, half, direction, cmp_options)
    levels = dict(base_level=math.exp(statistics.fmean(b for b, _ in logs)),
                  head_level=math.exp(statistics.fmean(h for _, h in logs)),
                  base_runs=len(paired), head_runs=len(paired), history_runs=len(hist),
                  noise=math.expm1(math.sqrt(var / 2)))
    extra = "".join(f"; {x}" for x in (note, dropped and f"{dropped} broken round(s) left out") if x)

    def comparison(verdict_: str, lo_hi: float, confidence: float, why_: str) -> Comparison:
        lo_hi = min(lo_hi, _WIDEST)  # one round's t at a look's tiny share can be astronomically wide
        ci = (math.expm1(d - lo_hi), math.expm1(d + lo_hi))
        interval = f"{_pct(change)} [{_pct(ci[0])}, {_pct(ci[1])}] at {confidence:.2%}"
        return Comparison(verdict_, change, ci, **levels,
                          reason=f"{interval} after {_rounds(n_rounds)}: {why_}{extra}")

    if d - half > 0 or d + half < 0:
        return Decision(DONE, comparison(v, half, 1 - look_alpha, why), n_rounds, "decided: the change is beyond noise")
    tau = math.log1p(options.threshold)
    look_beta = options.nominal(n_rounds, options.beta, two_sided=False, final=last)
    eq_half = t_quantile(1 - look_beta, df) * se
    if abs(d) + eq_half < tau:
        why_eq = f"within the {options.threshold:.0%} threshold (an equivalence stop)"
        return Decision(DONE, comparison("no_change", eq_half, 1 - 2 * look_beta, why_eq), n_rounds,
                        "decided: no change as large as the threshold")
    if last:
        stop = f"{_rounds(n_rounds)}, the most allowed" if n_rounds >= options.max_rounds else \
            f"the budget ran out after {_rounds(n_rounds)}"
        return Decision(DONE, comparison(v, half, 1 - look_alpha, why), n_rounds, stop)
    # futility only where the history put no_change out of reach, and on half the rounds at least
    chance = _decision_chance(d, var, df, n, n_rounds, options, gamma) \
        if late and n_rounds >= _FUTILITY_FROM * options.max_rounds else 1.0
    if chance < options.futility:
        why_futile = (f"{why}; {_rounds(options.max_rounds)} would decide it with a chance of {chance:.1%} at "
                      "this noise (a futility stop)")
        return Decision(DONE, comparison(v, half, 1 - look_alpha, why_futile), n_rounds,
                        f"stopped early: {_rounds(options.max_rounds)} would not decide it at this noise")
    return Decision(MORE, comparison("noisy", half, 1 - look_alpha, "not decided yet"), n_rounds,
                    "the interval reaches both 0 and the threshold")


def _final_halves(var: float, df: float, n: int, options: SequentialOptions, gamma: float) -> tuple[float, float]:
    """Half-widths of the last look's alarm interval and equivalence interval, for a round's
    difference of variance `var` known to `df` degrees of freedom, over `n` rounds."""
    se = math.sqrt(var / n)
    a = options.nominal(options.max_rounds, options.alpha, two_sided=True, gamma=gamma)
    b = options.nominal(options.max_rounds, options.beta, two_sided=False)
    return t_quantile(1 - a / 2, df) * se, t_quantile(1 - b, df) * se


def _no_change_reachable(prior: Noise, options: SequentialOptions) -> bool:
    """Could max_rounds rounds of processes as noisy as main's history show no_change (an
    unchanged job's equivalence interval within the threshold)? If not, the looks are for
    alarms alone, and the alarm spends its rate late (late_gamma), where the power is."""
    df = prior.df + options.max_rounds - 1
    _, eq = _final_halves(2 * prior.sigma ** 2, df, options.max_rounds, options, options.gamma)
    return eq < math.log1p(options.threshold)


def _decision_chance(d: float, var: float, df: float, n: int, n_rounds: int, options: SequentialOptions,
                     gamma: float) -> float:
    """The chance that the last look decides (an alarm, or no_change by equivalence) if the rounds
    to come are like those so far: their mean ``d`` and per-round variance ``var`` (conditional
    power under the trend). The last look's mean is N(d, rest var / n_final^2) around it."""
    rest = options.max_rounds - n_rounds
    n_final = n + rest
    alarm, eq = _final_halves(var, df + rest, n_final, options, gamma)
    spread = math.sqrt(rest * var) / n_final
    final = statistics.NormalDist(d, spread)
    chance = 1 - final.cdf(alarm) + final.cdf(-alarm)
    room = math.log1p(options.threshold) - eq  # |final mean| below this is an equivalence stop
    if room > 0:
        chance += final.cdf(room) - final.cdf(-room)
    return chance


def _drop_broken(diffs: list[float], prior_sigma: float) -> tuple[list[float], int]:
    """Leave out rounds whose difference is far from the others' (5 robust sigmas, never fewer
    than 5 of the prior's sigmas of a difference: a few rounds' robust sigma can be tiny by
    chance), once there are enough rounds to say which are the others."""
    if len(diffs) < _MIN_FOR_OUTLIERS:
        return diffs, 0
    mid = statistics.median(diffs)
    scale = max(robust_sigma(diffs, center=mid), prior_sigma)
    if scale <= 0:
        return diffs, 0
    kept = [x for x in diffs if abs(x - mid) <= _OUTLIER_SIGMAS * scale]
    return kept, len(diffs) - len(kept)


def _noise(diffs: list[float], paired: Sequence[Round], prior: Noise | None) -> tuple[float | None, float, str]:
    """Variance of one round's difference, its degrees of freedom, and a note when the rounds
    disagree far more than the prior (main's process-to-process noise) says; (None, 0, "") when
    nothing estimates it."""
    within = run_noise([r.base for r in paired], [r.head for r in paired], [])
    floor = 2 * within.within if within is not None else 0.0
    own_df = len(diffs) - 1
    own = statistics.variance(diffs) if own_df > 0 else None
    parts = [(own_df, own)] if own is not None else []
    if prior is not None and prior.df > 0:
        parts.append((prior.df, 2 * prior.sigma ** 2))
    if not parts:
        return None, 0.0, ""
    df = sum(p for p, _ in parts)
    var = max(sum(p * v for p, v in parts) / df, floor)
    note = ""
    if own is not None and prior is not None and prior.sigma > 0 and own_df >= 2:
        ratio = own / (2 * prior.sigma ** 2)
        if ratio > _f_quantile(1 - _DISAGREE_P, own_df, prior.df):
            note = (f"the rounds disagree {math.sqrt(ratio):.1f}x more than main's history on this runner: the "
                    "machine may switch states between processes (see the device readings' clocks)")
    return var, df, note


def _f_quantile(p: float, df1: float, df2: float) -> float:
    """Quantile of Fisher's F, by Wilson-Hilferty's cube-root normal approximation (good to a
    few % for df >= 2, enough for a warning)."""
    z = statistics.NormalDist().inv_cdf(p)
    a, b = 2 / (9 * df1), 2 / (9 * df2) if math.isfinite(df2) else 0.0
    # (F^(1/3) (1 - b) - (1 - a)) / sqrt(b F^(2/3) + a) = z, solved for F^(1/3)
    qa = (1 - b) ** 2 - z * z * b
    qb = -2 * (1 - a) * (1 - b)
    qc = (1 - a) ** 2 - z * z * a
    root = (-qb + math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))) / (2 * qa)
    return root ** 3


def _rounds(n: int) -> str:
    return f"{n} round{'s' if n != 1 else ''}"


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


# --- JSON lines (`commitbench ab --input`) -----------------------------------------------------

def from_json(obj: object, options: SequentialOptions) -> tuple[list[Round], list[Run], str, SequentialOptions]:
    """{"id", "direction", "max_rounds", "rounds": [{"order", "base": run, "head": run}, ...],
    "history": [run, ...]} -> (rounds, history, direction, options with max_rounds)."""
    if not isinstance(obj, dict):
        raise ValueError(f"line: must be a JSON object, got {type(obj).__name__}")
    direction = obj.get("direction", "lower")
    if direction not in ("lower", "higher"):
        raise ValueError(f"direction: must be lower or higher, got {direction!r}")
    max_rounds = obj.get("max_rounds", options.max_rounds)
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or not 1 <= max_rounds <= 100:
        raise ValueError(f"max_rounds: must be an integer from 1 to 100, got {max_rounds!r}")
    rounds = obj.get("rounds")
    if not isinstance(rounds, list):
        raise ValueError('rounds: must be a list of {"order": "AB"|"BA", "base": run, "head": run}')
    if len(rounds) > max_rounds:
        raise ValueError(f"rounds: {len(rounds)} given, more than max_rounds {max_rounds}")
    parsed = []
    for i, r in enumerate(rounds):
        if not isinstance(r, dict) or "base" not in r or "head" not in r:
            raise ValueError(f'rounds[{i}]: must be an object {{"order", "base": run, "head": run}}')
        order = r.get("order", "AB" if i % 2 == 0 else "BA")
        if order not in ORDERS:
            raise ValueError(f"rounds[{i}].order: must be AB or BA, got {order!r}")
        parsed.append(Round(run_from_json(r["base"], f"rounds[{i}].base"),
                            run_from_json(r["head"], f"rounds[{i}].head"), order))
    history = obj.get("history", [])
    if not isinstance(history, list):
        raise ValueError("history: must be a list of run objects")
    hist = [run_from_json(h, f"history[{i}]") for i, h in enumerate(history)]
    min_rounds = min(options.min_rounds, max_rounds)
    return parsed, hist, direction, dataclasses.replace(options, min_rounds=min_rounds, max_rounds=max_rounds)


def to_json(id: object, d: Decision) -> dict:
    c = d.comparison
    return {"id": id, "decision": d.decision, "verdict": c.verdict, "change": c.change,
            "ci": list(c.ci) if c.ci is not None else None, "rounds": d.rounds, "stopped": d.stopped}
