"""`commitbench compare` without the printing: two REFs' stored runs -> a Report.

Per series (the series key: same model, device and scenario parameters), every figure both
sides have is compared by benchmark/analysis/compare.py at the level of runs: each worker
process of a stored run (one, or K with `run --processes K`) is one run, its repetitions the
within-process samples, and the base branch's
recent runs of the same series before the base commit (on the same runner where there are
enough of them) estimate the run-to-run variance. Before any figure:

- correctness: a check figure (unit `bool`, e.g. `tokens_match_eager`) that held on every
  base repetition and fails on a head repetition is a correctness regression, listed first;
- a scenario that failed on head and succeeded on base is a regression (its error shown);
- tallies (unit `count`: recompiles, graph breaks) are deterministic: any rise in a
  lower-is-better tally is a regression, without statistics.
A figure gates (its regression is the Report's) or is informational (listed only), as the
thresholds say. What base has and head lacks is "missing", with the reason: a series not in
head's runs, a scenario skipped on head, a figure head's runs did not store. Missing never
gates: a scenario that failed on head is already a regression (`failure`), and a skipped or
removed one is a decision, not a slowdown. Series on head only are listed, never compared.
Only gating figures decide the comparison (DECISIVE, below): with none decided the Report
is insufficient (exit 9), whatever the informational figures say.

Paired (`commitbench ab`): the i-th base run and the i-th head run of a series, in the order
they ran, are one round, and each figure is judged round by round by analysis/sequential.py,
whose Decision says whether more rounds are needed; the noise prior is the history of the
branch `Paired.prior_branch` names (main's earlier runs), not the A/B's own base branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from db.figures_read import Point, RefRuns, ScenarioPoints, device_readings, earlier, of_runs

from ..analysis.compare import CompareOptions, Comparison, Run, compare
from ..analysis.evidence import TALLIES, Evidence, evidence
from ..analysis.sequential import DONE, Decision, Round, SequentialOptions, decide
from ..contracts.figures import FIGURES, HIGHER, INFO, LOWER
from . import derived
from .thresholds import Thresholds

REGRESSION, IMPROVEMENT, NO_CHANGE, NOISY, INSUFFICIENT = "regression", "improvement", "no_change", "noisy", \
    "insufficient"
SUSPICIOUS, MISSING = "suspicious", "missing"
# every verdict class a figure can get, worst first (the order of the counts and of the rows)
CLASSES = (REGRESSION, SUSPICIOUS, MISSING, NOISY, INSUFFICIENT, IMPROVEMENT, NO_CHANGE)
# What decides a comparison (exit 0 or 8 rather than 9): a gating figure whose interval says
# where the change lies against the threshold. Suspicious counts: it is a no_change that leans
# worse, held to the same resolution (the interval within the threshold, or no wider than
# noisy_width thresholds, analysis/compare.py), and it is documented never to gate, which a
# 9 for it would break. Noisy (the interval too wide, or the noise unknown) and insufficient
# (no valid run with samples) decide nothing. Missing is no verdict of a compared figure:
# head has no measurement of it, so it decides nothing either (and never blocks the others).
DECISIVE = (REGRESSION, IMPROVEMENT, NO_CHANGE, SUSPICIOUS)
UNDECIDED = (NOISY, INSUFFICIENT)
SAME_RUNNER_MIN = 3  # history runs from the base's own runner needed before other runners' are left out


@dataclass
class FigureReport:
    figure: str
    unit: str
    direction: str
    threshold: float
    comparison: Comparison
    gating: bool = True  # False: informational, its regression is listed but fails nothing
    evidence: Evidence | None = None  # a regressed figure's: the device and compile deltas that explain it
    decision: Decision | None = None  # paired: the sequential rule's, with its rounds and why it stopped

    @property
    def verdict(self) -> str:
        return self.comparison.verdict


@dataclass(frozen=True)
class Paired:
    """Judge round by round (see the module's docstring). `options.threshold` is replaced by
    each figure's; `final`: no more rounds will run (the last look)."""
    options: SequentialOptions = SequentialOptions()
    final: bool = False
    prior_branch: str | None = None  # whose earlier runs are the noise prior; None: the base's branch
    # later rounds reused their revision's inductor cache: a figure that includes compilation
    # (Figure.compiles) is judged on the first round's cold compile alone, as one final look
    warm_after_first: bool = False
    branches: tuple[str, str] | None = None  # (base's, head's): the branches the A/B stored its runs on


@dataclass(frozen=True)
class Missing:
    """Something base measured and head did not: a whole series (figure None) or one figure."""
    scenario: str
    figure: str | None
    reason: str


@dataclass(frozen=True)
class RunInfo:
    """One stored run a side is made of: for naming the baseline."""
    benchmark_id: int
    run_uid: str | None
    commit_id: str | None
    runner_host: str | None


@dataclass
class SeriesReport:
    series_key: str
    scenario: str
    model_id: str | None
    gpu_name: str | None
    base_runs: int
    head_runs: int
    history_runs: int
    figures: list[FigureReport] = field(default_factory=list)
    correctness: list[str] = field(default_factory=list)  # what stopped matching, worst first
    failure: str | None = None  # head failed where base succeeded: why
    note: str | None = None  # e.g. "base failed: nothing to compare"
    missing: list[Missing] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.correctness or self.failure) or any(f.verdict == REGRESSION and f.gating
                                                               for f in self.figures)


@dataclass
class Report:
    base: RefRuns
    head: RefRuns
    series: list[SeriesReport]
    only_base: list[str]  # scenario names (series) without a head counterpart
    only_head: list[str]
    context: str = "pr"
    base_runs: list[RunInfo] = field(default_factory=list)
    head_runs: list[RunInfo] = field(default_factory=list)
    paired: Paired | None = None

    @property
    def decided(self) -> bool:
        """Paired: nothing more to learn from another round, because a scenario already
        regressed (a correctness check, a failure) or every gating figure's rule is done."""
        if any(s.correctness or s.failure for s in self.series):
            return True
        return all(f.decision is None or f.decision.decision == DONE for _, f in self.gating_measured)

    @property
    def missing(self) -> list[Missing]:
        """Every series and figure base has and head lacks, with why."""
        return [Missing(name, None, "absent in head: no run of this series (scenario removed, or its parameters "
                        "or device changed)") for name in self.only_base] + [m for s in self.series for m in s.missing]

    @property
    def verdict(self) -> str:
        """regression (correctness, a failed scenario, or a gating figure); no_change; or
        insufficient: nothing could be compared, or no gating figure could be decided (e.g. all
        noisy: one run a side with no history), which is not "no regression" whatever the
        informational figures say (a weight size that never moves decides nothing about speed).
        Suspicious figures, informational regressions and missing ones are shown, never gate."""
        if any(s.regressed for s in self.series):
            return REGRESSION
        if not any(f.verdict in DECISIVE for _, f in self.gating_measured):
            return INSUFFICIENT
        return NO_CHANGE

    @property
    def gating_measured(self) -> list[tuple[str, FigureReport]]:
        """(scenario, figure) for every gating figure judged by statistics: the ones that can
        decide the comparison. A tally (unit `count`) is left out: it gates on any rise, but an
        unchanged one (0 graph breaks before and after) says nothing about speed."""
        return [(s.scenario, f) for s in self.series for f in s.figures if f.gating and f.unit != "count"]

    @property
    def undecided_gating(self) -> list[tuple[str, FigureReport]]:
        """The gating figures left undecided (noisy or insufficient), worst first as listed."""
        return [(sc, f) for sc, f in self.gating_measured if f.verdict in UNDECIDED]

    @property
    def undecided(self) -> bool:
        """Gating figures were compared, but none could be decided."""
        return self.verdict == INSUFFICIENT and bool(self.gating_measured)

    def counts(self) -> dict[str, int]:
        """Figures per verdict class, every class (0 included), worst first; missing counts
        each missing series or figure once."""
        out = dict.fromkeys(CLASSES, 0)
        for s in self.series:
            for f in s.figures:
                out[f.verdict] = out.get(f.verdict, 0) + 1
        out[MISSING] += len(self.missing)
        return out

    @property
    def informational_regressions(self) -> list[tuple[str, FigureReport]]:
        return [(s.scenario, f) for s in self.series for f in s.figures if f.verdict == REGRESSION and not f.gating]


def build(session: Session, base: RefRuns, head: RefRuns, thresholds: Thresholds, history: int = 10,
          paired: Paired | None = None) -> Report:
    base_sc, head_sc = _by_series(of_runs(session, base.benchmark_ids)), _by_series(of_runs(session, head.benchmark_ids))
    series = []
    for key in [k for k in base_sc if k in head_sc]:
        b, h = base_sc[key], head_sc[key]
        branch = paired.prior_branch if paired is not None and paired.prior_branch else base.branch
        hist = _history(session, key, branch, base, b, history)
        series.append(_series(key, b, h, hist, thresholds, paired))
    _attach_evidence(session, base, head, series, base_sc, head_sc)
    series += _derived(session, base, base_sc, head_sc, thresholds, history)
    return Report(base=base, head=head, series=series,
                  only_base=sorted(base_sc[k][0].scenario for k in base_sc if k not in head_sc),
                  only_head=sorted(head_sc[k][0].scenario for k in head_sc if k not in base_sc),
                  context=thresholds.context, base_runs=_runs(base_sc), head_runs=_runs(head_sc), paired=paired)


def _derived(session: Session, base: RefRuns, base_sc: dict[str, list[ScenarioPoints]],
             head_sc: dict[str, list[ScenarioPoints]], thresholds: Thresholds, history: int) -> list[SeriesReport]:
    """The derived series (compile speedups, break-even tokens) both sides have, compared as
    figures of a pseudo-scenario; informational unless the thresholds make them gate."""
    b_runs, h_runs = derived.runs(_flat(base_sc)), derived.runs(_flat(head_sc))
    inputs = {derived.key(e, c): (e, c) for e, c in derived.pairs(_flat(base_sc))}  # one pair per derived series
    out = []
    for k, (e, c) in inputs.items():
        if k not in h_runs:
            continue
        hist = derived.runs(_history(session, e.series_key, base.branch, base, base_sc[e.series_key], history)
                            + _history(session, c.series_key, base.branch, base, base_sc[c.series_key], history)
                            ).get(k, {})
        report = SeriesReport(series_key=k, scenario=f"{derived.SCENARIO}:{c.scenario}", model_id=c.model_id,
                              gpu_name=c.gpu_name, base_runs=len(next(iter(b_runs[k].values()), [])),
                              head_runs=len(next(iter(h_runs[k].values()), [])),
                              history_runs=len(next(iter(hist.values()), [])))
        for name, fig in derived.DERIVED.items():
            if name not in b_runs[k] or name not in h_runs[k]:
                continue
            threshold = thresholds.of(name)
            comparison = compare(b_runs[k][name], h_runs[k][name], fig.direction, CompareOptions(threshold=threshold),
                                 history=hist.get(name, []))
            report.figures.append(FigureReport(name, fig.unit, fig.direction, threshold, comparison,
                                               thresholds.gates(name)))
        out.append(report)
    return out


def _flat(by_series: dict[str, list[ScenarioPoints]]) -> list[ScenarioPoints]:
    return [sp for sps in by_series.values() for sp in sps]


def _attach_evidence(session: Session, base: RefRuns, head: RefRuns, series: list[SeriesReport],
                     base_sc: dict[str, list[ScenarioPoints]], head_sc: dict[str, list[ScenarioPoints]]) -> None:
    """Each regressed figure gets its scenario's deltas; the readings are read only if one regressed."""
    regressed = [s for s in series if any(f.verdict == REGRESSION for f in s.figures)]
    if not regressed:
        return
    b_dev, h_dev = device_readings(session, base.benchmark_ids), device_readings(session, head.benchmark_ids)
    for s in regressed:
        ok_b = [sp for sp in base_sc[s.series_key] if sp.succeeded]
        ok_h = [sp for sp in head_sc[s.series_key] if sp.succeeded]
        tallies = {name: ([v for sp in ok_b for v in sp.figures[name].samples],
                          [v for sp in ok_h for v in sp.figures[name].samples])
                   for name in TALLIES if all(name in sp.figures for sp in ok_b + ok_h)}
        ev = evidence(b_dev.get(s.scenario, {}), h_dev.get(s.scenario, {}), tallies)
        for f in s.figures:
            if f.verdict == REGRESSION:
                f.evidence = ev


def _runs(by_series: dict[str, list[ScenarioPoints]]) -> list[RunInfo]:
    seen = {sp.benchmark_id: RunInfo(sp.benchmark_id, sp.run_uid, sp.commit_id, sp.runner_host)
            for sp in _flat(by_series)}
    return [seen[k] for k in sorted(seen)]


def _by_series(points: list[ScenarioPoints]) -> dict[str, list[ScenarioPoints]]:
    out: dict[str, list[ScenarioPoints]] = {}
    for sp in points:
        # a cancelled scenario says nothing; a skipped one says why it could not run
        if sp.series_key and sp.status in ("succeeded", "failed", "skipped"):
            out.setdefault(sp.series_key, []).append(sp)
    return out


def _history(session: Session, key: str, branch: str | None, base: RefRuns, b: list[ScenarioPoints],
             limit: int) -> list[ScenarioPoints]:
    """`branch`'s newest runs of the series before the base's, on the base's runner where
    there are enough of them."""
    if limit == 0:
        return []
    before = min((sp.order for sp in b if sp.order is not None), default=None)
    found = earlier(session, key, branch, before, base.benchmark_ids, 4 * limit)
    hosts = {sp.runner_host for sp in b if sp.runner_host}
    same = [sp for sp in found if sp.runner_host in hosts]
    return (same if len(same) >= SAME_RUNNER_MIN else found)[-limit:]


def _series(key: str, b: list[ScenarioPoints], h: list[ScenarioPoints], hist: list[ScenarioPoints],
            thresholds: Thresholds, paired: Paired | None = None) -> SeriesReport:
    first = b[0]
    ok_b, ok_h = [sp for sp in b if sp.succeeded], [sp for sp in h if sp.succeeded]
    report = SeriesReport(series_key=key, scenario=h[0].scenario, model_id=first.model_id, gpu_name=first.gpu_name,
                          base_runs=len(ok_b), head_runs=len(ok_h), history_runs=len(hist))
    if ok_b and not ok_h and all(sp.status == "skipped" for sp in h):
        reason = next((sp.error for sp in h if sp.error), None) or "no reason given"
        report.note = f"skipped on head ({reason}): not compared"
        report.missing.append(Missing(report.scenario, None, f"skipped on head: {reason}"))
        return report
    if ok_b and not ok_h:
        report.failure = next((sp.error for sp in h if sp.error and sp.status != "skipped"), None) or "failed"
        return report
    if not ok_b:
        skipped = all(sp.status == "skipped" for sp in b)
        report.note = (("skipped" if skipped else "failed") + " on base: nothing to compare") if ok_h else \
            ("skipped on both sides" if skipped and all(sp.status == "skipped" for sp in h) else "failed on both sides")
        return report
    names = [n for n in ok_b[0].figures if all(n in sp.figures for sp in ok_b + ok_h)]
    report.missing += [Missing(report.scenario, n, f"absent in {sum(n not in sp.figures for sp in ok_h)} of "
                               f"{len(ok_h)} head run(s) (every base run stored it)")
                       for n in ok_b[0].figures if n not in names and all(n in sp.figures for sp in ok_b)]
    for name in names:
        fig = FIGURES.get(name)
        unit = fig.unit if fig else (ok_b[0].figures[name].unit or "")
        direction = fig.direction if fig else INFO
        if unit == "bool":
            report.correctness += _correctness(name, ok_b, ok_h)
            continue
        threshold = thresholds.of(name)
        history = _process_runs(hist, name)
        decision = None
        if unit == "count":
            comparison = _tally(name, ok_b, ok_h, direction)
        elif paired is not None:
            decision = _paired(_rounds(b, h, name, paired.branches), direction, replace(paired.options, threshold=threshold), history,
                               paired, fig is not None and fig.compiles)
            comparison = decision.comparison
        else:
            comparison = compare(_process_runs(ok_b, name), _process_runs(ok_h, name), direction,
                                 CompareOptions(threshold=threshold), history=history)
        report.figures.append(FigureReport(name, unit, direction, threshold, comparison, thresholds.gates(name),
                                           decision=decision))
    return report


def _paired(rounds: list[Round], direction: str, options: SequentialOptions, history: list[Run], paired: Paired,
            compiles: bool) -> Decision:
    if compiles and paired.warm_after_first:
        return decide(rounds[:1], direction, replace(options, min_rounds=1, max_rounds=1), history, final=True)
    return decide(rounds, direction, options, history, final=paired.final)


def _rounds(b: list[ScenarioPoints], h: list[ScenarioPoints], name: str, branches: tuple[str, str] | None
            ) -> list[Round]:
    """The A/B's rounds: its own runs only (on `branches`, where given: a run of the same
    commit stored on main is no round), each head run paired with the base run stored next to
    it (the nearest unused benchmark id: a round's two runs are stored one after the other),
    in the order they ran. A round where either side failed or lacks the figure counts as a
    round without a valid pair; a run with no partner is left out."""
    if branches is not None:
        b, h = [sp for sp in b if sp.branch == branches[0]], [sp for sp in h if sp.branch == branches[1]]

    def run(sp: ScenarioPoints) -> Run:
        return _run(sp.figures[name]) if sp.succeeded and name in sp.figures else Run(reps=(), valid=False)

    free, rounds = sorted(b, key=lambda sp: sp.benchmark_id), []
    for y in sorted(h, key=lambda sp: sp.benchmark_id):
        if not free:
            break
        x = min(free, key=lambda sp: abs(sp.benchmark_id - y.benchmark_id))
        free.remove(x)
        rounds.append((x, y))
    rounds.sort(key=lambda pair: min(pair[0].benchmark_id, pair[1].benchmark_id))
    return [Round(run(x), run(y), "AB" if x.benchmark_id < y.benchmark_id else "BA") for x, y in rounds]


def _run(p: Point) -> Run:
    return Run(reps=tuple(tuple(r) for r in p.reps))


def _process_runs(points: list[ScenarioPoints], name: str) -> list[Run]:
    """The figure's analysis Runs: one per worker process of each stored run (a run measured
    with `--processes K` counts as K runs, its own process-to-process spread), in run order."""
    return [Run(reps=tuple(tuple(r) for r in reps))
            for sp in points if name in sp.figures for reps in sp.figures[name].processes_reps]


def _correctness(name: str, b: list[ScenarioPoints], h: list[ScenarioPoints]) -> list[str]:
    held = all(v == 1 for sp in b for v in sp.figures[name].samples)
    head = [v for sp in h for v in sp.figures[name].samples]
    failing = sum(1 for v in head if v != 1)
    if held and failing:
        return [f"{name}: held on every base repetition, fails on {failing} of {len(head)} head repetitions"]
    return []


def _tally(name: str, b: list[ScenarioPoints], h: list[ScenarioPoints], direction: str) -> Comparison:
    bv = [v for sp in b for v in sp.figures[name].samples]
    hv = [v for sp in h for v in sp.figures[name].samples]
    lo_b, hi_b, lo_h, hi_h = min(bv, default=0), max(bv, default=0), min(hv, default=0), max(hv, default=0)
    worse = (lo_h > hi_b) if direction == LOWER else (hi_h < lo_b) if direction == HIGHER else False
    better = (hi_h < lo_b) if direction == LOWER else (lo_h > hi_b) if direction == HIGHER else False
    verdict = REGRESSION if worse else IMPROVEMENT if better else NO_CHANGE
    base_level, head_level = _middle(bv), _middle(hv)
    change = (head_level / base_level - 1) if base_level else None
    reason = f"{name} {_span(lo_b, hi_b)} -> {_span(lo_h, hi_h)} (a tally: any change is real)"
    return Comparison(verdict=verdict, change=change, ci=None, base_level=base_level, head_level=head_level,
                      base_runs=len(b), head_runs=len(h), history_runs=0, noise=None, reason=reason)


def _middle(values: list[float]) -> float | None:
    s = sorted(values)
    return None if not s else (s[len(s) // 2] + s[(len(s) - 1) // 2]) / 2


def _span(lo: float, hi: float) -> str:
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
