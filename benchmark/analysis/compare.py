"""Is a head revision worse than its base? One figure at a time, tested at the level of runs.

Where the noise lives: a run is one process. Its repetitions and per-token samples share that
process's offset (clocks, placement, allocator state, neighbours), and between processes on a
shared machine levels differ by 3-5 %. Pooled samples are therefore not independent
observations: a test on them mistakes one process's offset for a change in the code. So each
run contributes exactly one observation, its level, and the noise is the run-to-run spread.

Method (all in log space, so a change is relative and symmetric):

1. A run's level is the median over its repetitions of each repetition's median sample (robust to
   an outlier repetition or token). A side's level is the geometric mean of its runs' levels;
   ``change = head_level / base_level - 1``.
2. Run-to-run noise ``s`` (log units, about the CV) with degrees of freedom ``nu``, pooled from
   a. the spread of runs around their side's mean, when a side has 2+ runs (``commitbench ab``):
      ``nu = runs - 1`` per side;
   b. the base's history on the same runner, oldest first: half the mean squared successive
      difference of levels (von Neumann), which a slow drift barely touches. The difference at
      the history's most likely step (earlier base commits at another speed; kept when the two
      sides' means differ by 5+ standard errors) and differences beyond 5 robust sigmas (a broken
      run) are dropped. For m differences ``nu = 2 m^2 / (3 m - 1)`` (chi-square approximation).
   ``s`` is never below the typical within-run uncertainty of a level (repetitions' spread), and
   a run whose repetitions disagree far more than is typical adds its excess to its side.
   With one run per side and no history the run-to-run noise cannot be estimated: the verdict
   is "noisy" (never a confident guess), unless ``prior_noise`` supplies it.
3. Interval: ``d +- t(nu, (1 + confidence) / 2) * s * sqrt(1/n_base + 1/n_head)``, reported as a
   relative change. The default confidence is 0.99 because a false alarm costs more than a late
   catch: at 0.95 each noisy condition would alarm on 5 % of unchanged pairs.
4. Verdict, with the interval oriented so that positive is worse:
   - regression: the interval lies above 0 (worse beyond noise) and reaches past the threshold
     (the change may matter); improvement is the mirror;
   - no_change: otherwise, when the interval lies within +-threshold, or its half-width is at
     most ``noisy_width`` thresholds (the comparison resolves changes of that size and found none);
   - suspicious: what would be no_change, when the evidence leans to worse: either the interval
     lies above 0 but within the threshold and the estimate is at least half the threshold (a
     real change smaller than matters: the noise the history and runs show makes it unlikely to
     be chance, and such changes add up; smaller ones stay no_change), or the
     point estimate is worse than the threshold while the interval still reaches 0 (the best
     guess is a regression the runs cannot confirm). Shown, never gating;
   - noisy: otherwise (too noisy to decide either way);
   - insufficient: a side has no valid run with samples, or a level is not positive.
   An "info" figure is never judged: what would be an alarm is reported as "noisy", and it is
   never suspicious.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from benchmark.contracts.figures import DIRECTIONS, HIGHER, INFO

VERDICTS = ("regression", "suspicious", "noisy", "insufficient", "improvement", "no_change")  # worst first
_OUTLIER_SIGMAS = 5.0  # a successive difference beyond this many robust sigmas is a broken run
_STEP_T = 5.0  # a split of the history whose means differ by this many standard errors is a step
_ODD_RUN = 4.0  # a run whose level's within-run variance is this many times the typical is odd
_MAD_TO_SIGMA = 1.4826  # median absolute deviation of a normal variable -> its sigma
_MEDIAN_EFFICIENCY = math.pi / 2  # variance of a median of normals / variance of their mean


@dataclass(frozen=True)
class Run:
    """One process's measurement of one figure: each repetition's raw samples."""
    reps: tuple[tuple[float, ...], ...]
    valid: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.reps, (str, bytes)) or not isinstance(self.reps, Iterable):
            raise ValueError("reps: must be a list of repetitions, each a list of numbers")
        reps = tuple(tuple(rep) for rep in self.reps)
        for rep in reps:
            for v in rep:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ValueError(f"reps: samples must be finite numbers, got {v!r}")
        object.__setattr__(self, "reps", tuple(tuple(float(v) for v in rep) for rep in reps))

    @property
    def usable(self) -> bool:
        return self.valid and any(self.reps)

    def rep_levels(self) -> list[float]:
        return [statistics.median(rep) for rep in self.reps if rep]

    def level(self) -> float:
        return statistics.median(self.rep_levels())


@dataclass(frozen=True)
class CompareOptions:
    threshold: float = 0.02    # relative change that matters
    confidence: float = 0.99   # of the interval, and so of every verdict
    noisy_width: float = 2.5   # largest interval half-width, in thresholds, that allows "no_change"
    prior_noise: float | None = None  # run-to-run CV to assume when nothing else estimates it

    def __post_init__(self) -> None:
        _check_number("threshold", self.threshold, 0.0, 1.0, "a fraction in (0, 1), e.g. 0.02")
        _check_number("confidence", self.confidence, 0.5, 1.0, "in [0.5, 1), e.g. 0.99", lo_open=False)
        _check_number("noisy_width", self.noisy_width, 1.0, math.inf, "a number >= 1", lo_open=False)
        if self.prior_noise is not None:
            _check_number("prior_noise", self.prior_noise, 0.0, 1.0, "a CV in (0, 1), or None")


def _check_number(field: str, value: object, lo: float, hi: float, allowed: str, lo_open: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and (value > lo if lo_open else value >= lo) and value < hi
    if not ok:
        raise ValueError(f"{field}: must be {allowed}, got {value!r}")


@dataclass(frozen=True)
class Comparison:
    verdict: str
    change: float | None
    ci: tuple[float, float] | None
    base_level: float | None
    head_level: float | None
    base_runs: int
    head_runs: int
    history_runs: int
    noise: float | None
    reason: str


@dataclass(frozen=True)
class Noise:
    """Run-to-run sigma of a log level, its degrees of freedom (math.inf when assumed), and the
    typical within-run variance of a level (from repetitions' spread) that sigma already holds."""
    sigma: float
    df: float
    within: float = 0.0


def compare(base: Sequence[Run], head: Sequence[Run], direction: str,
            options: CompareOptions = CompareOptions(), history: Sequence[Run] = ()) -> Comparison:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    base_runs, head_runs = _usable(base), _usable(head)
    hist_runs = [r for r in _usable(history) if r.level() > 0]  # a non-positive one says nothing of noise
    counts = dict(base_runs=len(base_runs), head_runs=len(head_runs), history_runs=len(hist_runs))

    def insufficient(reason: str) -> Comparison:
        return Comparison("insufficient", None, None, None, None, noise=None, reason=reason, **counts)

    for side, runs in (("base", base_runs), ("head", head_runs)):
        if not runs:
            return insufficient(f"no valid {side} run with samples")
    base_logs, head_logs = _log_levels(base_runs), _log_levels(head_runs)
    if base_logs is None or head_logs is None:
        return insufficient("a level is not positive, so a relative change is undefined")
    b, h = statistics.fmean(base_logs), statistics.fmean(head_logs)
    d = h - b
    change = math.expm1(d)
    levels = dict(base_level=math.exp(b), head_level=math.exp(h), **counts)

    noise = run_noise(base_runs, head_runs, hist_runs, options.prior_noise)
    if noise is None:
        return Comparison("noisy", change, None, noise=None, **levels, reason=(
            f"{_pct(change)} from {len(base_runs)} base and {len(head_runs)} head run(s): run-to-run noise "
            "unknown (needs 2+ runs on a side, or base history)"))
    half = t_quantile((1 + options.confidence) / 2, noise.df) * math.sqrt(
        _side_variance(base_runs, noise) + _side_variance(head_runs, noise))
    ci = (math.expm1(d - half), math.expm1(d + half))
    verdict_, why = verdict(d, half, direction, options)
    interval = f"{_pct(change)} [{_pct(ci[0])}, {_pct(ci[1])}] at {options.confidence:.0%}"
    return Comparison(verdict_, change, ci, noise=math.expm1(noise.sigma), **levels, reason=f"{interval}: {why}")


def verdict(d: float, half: float, direction: str, options: CompareOptions) -> tuple[str, str]:
    """The verdict class and why, for a log change `d` with interval half-width `half` (rules in
    the module's docstring; analysis/sequential.py applies them to paired rounds)."""
    tau = math.log1p(options.threshold)
    worse = -d if direction == HIGHER else d  # info figures are oriented as "lower"; never judged
    lo, hi = worse - half, worse + half
    thr = f"{options.threshold:.0%} threshold"
    if lo > 0 and hi > tau:
        alarm, why = "regression", f"worse beyond noise, and the interval reaches past the {thr}"
    elif hi < 0 and lo < -tau:
        alarm, why = "improvement", f"better beyond noise, and the interval reaches past the {thr}"
    elif -tau < lo and hi < tau:
        return _unless_suspicious(worse, lo, tau, direction, f"within the {thr}", thr)
    elif half <= options.noisy_width * tau:
        return _unless_suspicious(worse, lo, tau, direction, "not distinguishable from noise (resolution "
                                  f"+-{_pct(math.expm1(half), sign=False)})", thr)
    else:
        return "noisy", (f"too noisy to decide (no_change needs a half-width within "
                         f"{options.noisy_width:g} x the {thr})")
    if direction == INFO:
        return "noisy", "changed beyond noise; an info figure is not judged"
    return alarm, why


def _unless_suspicious(worse: float, lo: float, tau: float, direction: str, why: str, thr: str) -> tuple[str, str]:
    """no_change, or suspicious when it leans to worse (see the module's docstring)."""
    if direction != INFO and lo > 0 and worse >= tau / 2:
        return "suspicious", f"worse beyond noise, but within the {thr}: a small real change"
    if direction != INFO and worse > tau:
        return "suspicious", f"the estimate is past the {thr}, but the interval reaches 0"
    return "no_change", why


def run_noise(base: Sequence[Run], head: Sequence[Run], history: Sequence[Run],
              prior_noise: float | None = None) -> Noise | None:
    """Run-to-run sigma of a log level: pooled from both sides' runs and the history, floored
    at the typical within-run uncertainty; the prior (df infinite) when neither estimates it."""
    within = _typical_within([*base, *head, *history])
    base_logs, head_logs, hist_logs = (_log_levels(runs) or [] for runs in (base, head, history))
    parts = [p for p in (_spread(base_logs), _spread(head_logs), history_noise(hist_logs)) if p is not None]
    if not parts:
        if prior_noise is None:
            return None
        return Noise(math.log1p(prior_noise), math.inf, within)
    df = sum(p.df for p in parts)
    var = sum(p.df * p.sigma ** 2 for p in parts) / df
    return Noise(math.sqrt(max(var, within)), df, within)


def _side_variance(runs: Sequence[Run], noise: Noise) -> float:
    """Variance of a side's mean log level. A run whose repetitions disagree far more than is
    typical (three of five hit a pause) adds its excess: its level is less certain than most."""
    excess = (w - noise.within for w in map(_within_run, runs) if w is not None and w > _ODD_RUN * noise.within)
    return (len(runs) * noise.sigma ** 2 + math.fsum(excess)) / len(runs) ** 2


def _spread(logs: Sequence[float]) -> Noise | None:
    if len(logs) < 2:
        return None
    return Noise(statistics.stdev(logs), len(logs) - 1)


def robust_sigma(values: Sequence[float], center: float | None = None) -> float:
    """A normal sigma from the median absolute deviation of `values` around `center` (default:
    their median): 1.4826 x MAD, which one outlier does not move. Compare's run-to-run and
    within-run noise use it, and bisect's levels (analysis/bisection.py)."""
    mid = statistics.median(values) if center is None else center
    return _MAD_TO_SIGMA * statistics.median(abs(x - mid) for x in values)


def history_noise(logs: Sequence[float]) -> Noise | None:
    """Robust run-to-run sigma from successive differences of a series of log levels, oldest first."""
    diffs = [b - a for a, b in zip(logs, logs[1:])]
    if not diffs:
        return None
    step = _step_at(logs, diffs)
    if step is not None:
        del diffs[step]
    scale = robust_sigma(diffs, center=0.0)
    if scale > 0:
        diffs = [x for x in diffs if abs(x) <= _OUTLIER_SIGMAS * scale]
    m = len(diffs)
    return Noise(math.sqrt(math.fsum(x * x for x in diffs) / (2 * m)), 2 * m * m / (3 * m - 1))


def _step_at(logs: Sequence[float], diffs: Sequence[float]) -> int | None:
    """Index of the difference where the series most plausibly steps (earlier base commits at
    another speed), if the means before and after differ by _STEP_T standard errors; else None.
    The bar is high because a split chosen as the best of n-1 looks significant by selection."""
    n = len(logs)
    if n < 4:
        return None
    total, before, best, best_k = math.fsum(logs), 0.0, 0.0, 0
    for k in range(1, n):  # split before logs[k]
        before += logs[k - 1]
        gap = abs((total - before) / (n - k) - before / k) / math.sqrt(1 / k + 1 / (n - k))
        if gap > best:
            best, best_k = gap, k
    rest = [x for i, x in enumerate(diffs) if i != best_k - 1]
    sigma = math.sqrt(math.fsum(x * x for x in rest) / (2 * len(rest)))
    return best_k - 1 if sigma > 0 and best / sigma > _STEP_T else None


def _within_run(run: Run) -> float | None:
    """Variance of a run's log level implied by its repetitions' spread; robust (median absolute
    deviation), so one outlier repetition, which the median of repetitions ignores, does not count."""
    reps = [math.log(v) for v in run.rep_levels() if v > 0]
    if len(reps) < 3:
        return None
    sigma = robust_sigma(reps)
    return _MEDIAN_EFFICIENCY * sigma * sigma / len(reps)


def _typical_within(runs: Sequence[Run]) -> float:
    values = [w for w in map(_within_run, runs) if w is not None]
    return statistics.median(values) if values else 0.0


def _usable(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r.usable]


def _log_levels(runs: Sequence[Run]) -> list[float] | None:
    levels = [r.level() for r in runs]
    return [math.log(v) for v in levels] if all(v > 0 for v in levels) else None


def _pct(x: float, sign: bool = True) -> str:
    return f"{x * 100:+.1f} %" if sign else f"{x * 100:.1f} %"


def summarize(comparisons: Iterable[Comparison]) -> str:
    """The worst verdict: regression > suspicious > noisy > insufficient > improvement > no_change;
    "insufficient" when there is nothing to summarize."""
    verdicts = {c.verdict for c in comparisons}
    return next((v for v in VERDICTS if v in verdicts), "insufficient")


# --- JSON lines (the CLI's --input) --------------------------------------------------------------

def from_json(obj: dict) -> tuple[list[Run], list[Run], list[Run]]:
    """{"id", "base": run | [run, ...], "head": run | [run, ...], "history": [run, ...]} ->
    (base, head, history); a run is {"reps": [[sample, ...], ...], "valid": bool (optional)}."""
    if not isinstance(obj, dict):
        raise ValueError(f"line: must be a JSON object, got {type(obj).__name__}")
    for key in ("base", "head"):
        if key not in obj:
            raise ValueError(f"{key}: missing; must be a run {{\"reps\": [[...], ...]}} or a list of runs")
    base = _runs_json(obj["base"], "base", single_ok=True)
    head = _runs_json(obj["head"], "head", single_ok=True)
    history = _runs_json(obj.get("history", []), "history", single_ok=False)
    return base, head, history


def _runs_json(value: object, field: str, single_ok: bool) -> list[Run]:
    if single_ok and isinstance(value, dict):
        return [run_from_json(value, field)]
    if not isinstance(value, list):
        allowed = "a run object or a list of run objects" if single_ok else "a list of run objects"
        raise ValueError(f"{field}: must be {allowed}, got {type(value).__name__}")
    return [run_from_json(v, f"{field}[{i}]") for i, v in enumerate(value)]


def run_from_json(value: object, field: str) -> Run:
    if not isinstance(value, dict) or "reps" not in value:
        raise ValueError(f"{field}: must be an object with \"reps\": [[sample, ...], ...]")
    reps, valid = value["reps"], value.get("valid", True)
    if not isinstance(reps, list) or not all(isinstance(rep, list) for rep in reps):
        raise ValueError(f"{field}.reps: must be a list of lists of numbers")
    if not isinstance(valid, bool):
        raise ValueError(f"{field}.valid: must be true or false, got {valid!r}")
    try:
        return Run(reps=reps, valid=valid)
    except ValueError as e:
        raise ValueError(f"{field}.{e}") from None


def to_json(id: object, comparison: Comparison) -> dict:
    ci = list(comparison.ci) if comparison.ci is not None else None
    return {"id": id, "verdict": comparison.verdict, "change": comparison.change, "ci": ci}


# --- Student's t quantile, standard library only -------------------------------------------------

@lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """Quantile p (> 0.5) of Student's t with df degrees of freedom (any real df > 0)."""
    if math.isinf(df):
        return statistics.NormalDist().inv_cdf(p)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * hi:
            break
    return (lo + hi) / 2


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _beta_inc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (Lentz)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this point
        return 1 - _beta_inc(b, a, 1 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    tiny = 1e-300
    f, c, dd = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        dd = 1 + num * dd
        dd = 1 / (dd if abs(dd) > tiny else tiny)
        c = 1 + num / c
        c = c if abs(c) > tiny else tiny
        f *= c * dd
        if abs(1 - c * dd) < 1e-14:
            return front * (f - 1) / a
    return front * (f - 1) / a
