"""What the HTML report shows, read from the store into plain data (`collect`), so the page
itself (`html_report.render`) is a pure function of it.

The runs are those of one branch (the latest run's, unless one is given), the newest
`limit` of them, in commit order (db.query.runs); the latest commit is judged against the
previous one by compare itself (html_compare.judge). Their figures and scenario outcomes are
read in two column-only queries (statistics, not the raw samples); the latest run, which
the device timeline shows, is read whole (db.query.load_result). The header's line on the
detector's record is `status`'s (verdicts/report_stats: the branch's reports of the last 90
days), left out where the branch has none.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmark.contracts.config import SCENARIO_FIELDS, ScenarioParams
from benchmark.analysis.report_stats import headline
from benchmark.contracts.result import RunResult
from benchmark.verdicts.report_stats import recent
from db import query
from db.models import Benchmark, MetricRow, ScenarioRun

from .html_compare import Judged, judge

KIND_ORDER = ("load", "eager", "compiled_decode", "compiled_generate")
CHUNK = 500  # ids per IN (...): well under every backend's limit on bound parameters


@dataclass
class Value:
    """One figure of one scenario in one run (its statistics, in the figure's unit)."""

    unit: str
    direction: str | None
    n: int
    mean: float | None
    median: float
    p90: float | None
    p99: float | None
    min: float | None

    @property
    def passed(self) -> int:
        """For a check (bool): how many repetitions passed."""
        return round((self.mean if self.mean is not None else self.median) * self.n)


@dataclass
class Outcome:
    """How one scenario of one run ended."""

    benchmark_id: int
    name: str
    kind: str
    status: str
    error: str | None
    exit_code: int | None
    signal: str | None
    stderr_tail: str | None


@dataclass
class Series:
    key: str
    name: str  # the scenario's name in the newest run that has it
    kind: str
    model_id: str | None
    device: str | None
    figures: dict[str, dict[int, Value]] = field(default_factory=dict)  # figure -> benchmark_id -> value
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # benchmark_id -> outcome


@dataclass
class ReportData:
    branch: str | None
    runs: list[query.RunSummary]  # oldest commit first; the last is the latest run
    series: list[Series]  # those of the shown runs
    latest: RunResult
    compared: Judged  # the latest commit against the previous one, as `commitbench compare` judges it
    generated_at: float
    planned: dict[int, set[str] | None] = field(default_factory=dict)  # benchmark_id -> its scenarios' names
    reports: str | None = None  # `reports stats`' headline for the branch; None: no report in its window

    def run(self, benchmark_id: int) -> query.RunSummary | None:
        return next((r for r in self.runs if r.benchmark_id == benchmark_id), None)


class NothingToReport(LookupError):
    """No runs stored (for the branch asked for); the message is one line for the user."""


def collect(session: Session, branch: str | None = None, limit: int = 20, now: float = 0.0) -> ReportData:
    """The report's data: the newest `limit` runs of `branch` (default: the latest run's)."""
    if branch is None:
        try:
            branch = query.latest(session).branch
        except query.NotFound:
            raise NothingToReport("no runs stored") from None
    newest = query.runs(session, branch=branch, limit=limit)
    if not newest:
        raise NothingToReport("no runs stored" + (f" for branch {branch!r}" if branch is not None else ""))
    shown = newest[::-1]
    by_id = {r.benchmark_id: r for r in shown}
    position = {r.benchmark_id: i for i, r in enumerate(shown)}
    series: dict[str, Series] = {}
    named: dict[str, int] = {}  # series key -> the position of the run its name comes from
    for bid, name, kind, key, status, error, exit_code, signal, stderr in _scenarios(session, list(by_id)):
        run = by_id[bid]
        key = key or f"name:{name}"
        s = series.get(key)
        if s is None:
            s = series[key] = Series(key, name, kind or "", run.model_id, run.gpu_name)
        if position[bid] >= named.get(key, -1):  # the newest run's name of the series
            s.name, named[key] = name, position[bid]
        s.outcomes[bid] = Outcome(bid, name, kind or "", status or "", error, exit_code, signal, stderr)
    for bid, key, scenario, name, value in _metrics(session, list(by_id)):
        key = key or f"name:{scenario}"
        if key in series:
            series[key].figures.setdefault(name, {})[bid] = value
    ordered = sorted(series.values(), key=lambda s: (KIND_ORDER.index(s.kind) if s.kind in KIND_ORDER
                                                     else len(KIND_ORDER), s.name, s.model_id or "", s.key))
    latest_row = session.get(Benchmark, shown[-1].benchmark_id)
    assert latest_row is not None
    return ReportData(branch=branch, runs=shown, series=ordered, latest=query.load_result(session, latest_row),
                      compared=judge(session, branch, shown[-1]), generated_at=now,
                      planned=_planned(session, list(by_id)), reports=reports_headline(session, now, branch))


def reports_headline(session: Session, now: float, branch: str | None) -> str | None:
    """The detector's record on `branch` as `status` shows it (report_stats.recent), or None
    where no report was opened in the window: an empty record is no news on a report page."""
    g = recent(session, datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None), branch=branch)
    return headline(g.overall, g.since) if g.overall.reports else None


def planned_names(config: object) -> set[str] | None:
    """The names of the scenarios a run's resolved config planned (None if it cannot tell):
    a run cancelled before a scenario it planned is shown so; one that never planned it, not."""
    if not isinstance(config, dict) or not isinstance(config.get("scenarios"), list):
        return None
    try:
        return {ScenarioParams(**{k: v for k, v in s.items() if k in SCENARIO_FIELDS}).name(str(config["device"]))
                for s in config["scenarios"]}
    except (TypeError, KeyError, AttributeError, ValueError):
        return None


def _planned(session: Session, ids: Sequence[int]) -> dict[int, set[str] | None]:
    out = {}
    for chunk in _chunks(ids):
        for bid, config in session.execute(select(Benchmark.benchmark_id, Benchmark.config)
                                           .where(Benchmark.benchmark_id.in_(chunk))):
            out[bid] = planned_names(config)
    return out


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i:i + CHUNK])


def _scenarios(session: Session, ids: Sequence[int]) -> Iterator[tuple]:
    for chunk in _chunks(ids):
        yield from session.execute(
            select(ScenarioRun.benchmark_id, ScenarioRun.name, ScenarioRun.kind, ScenarioRun.series_key,
                   ScenarioRun.status, ScenarioRun.error, ScenarioRun.exit_code, ScenarioRun.signal,
                   ScenarioRun.stderr_tail)
            .where(ScenarioRun.benchmark_id.in_(chunk)).order_by(ScenarioRun.scenario_run_id))


def _metrics(session: Session, ids: Sequence[int]) -> Iterator[tuple[int, str | None, str | None, str, Value]]:
    for chunk in _chunks(ids):
        rows = session.execute(
            select(MetricRow.benchmark_id, MetricRow.series_key, MetricRow.scenario, MetricRow.name, MetricRow.unit,
                   MetricRow.direction, MetricRow.n, MetricRow.mean, MetricRow.median, MetricRow.p90, MetricRow.p99,
                   MetricRow.min)
            .where(MetricRow.benchmark_id.in_(chunk), MetricRow.median.is_not(None)).order_by(MetricRow.metric_id))
        for bid, key, scenario, name, unit, direction, n, mean, median, p90, p99, low in rows:
            yield bid, key, scenario, name, Value(unit or "", direction, n or 0, mean, median, p90, p99, low)
