"""The store's read side: runs back as full results, the latest run of a branch, the runs of
a commit, and a series' history in commit order with its raw samples.

Functions take a Session (Store.reading() gives a read-only one) and return contract
dataclasses or the small read models below: no ORM object escapes. History is ordered by
the commit's time (from git), then by when the run started: runs stored without a commit
time sort by their start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from benchmark.contracts.result import (
    RUNNING, TERMINAL_STATUSES, DeviceSample, Metric, Phase, RunResult, ScenarioResult,
)
from benchmark.contracts.stats import Stats
from db.models import Benchmark, DeviceMeasurement, MetricRow, ScenarioRun

STALE_AFTER_S = 300.0  # a runner beats every 30 s: ten missed beats and it is gone
STALE = "stale"  # the state shown for a run left `running` by a runner that is gone


class NotFound(LookupError):
    """No such run (or an ambiguous prefix); the message is one line for the user."""


class BadRunId(NotFound):
    """A `#ID` that can name no run (not ASCII digits, 0, beyond 64 bits): bad input wherever
    a run is named, never "nothing to compare"."""


MAX_ID = 2**63 - 1  # benchmark_id is a signed 64-bit integer in both databases


@dataclass
class RunSummary:
    benchmark_id: int
    run_uid: str | None
    branch: str | None
    commit_id: str | None
    commit_message: str | None
    commit_time: float | None
    repository: str | None
    model_id: str | None
    gpu_name: str | None
    status: str | None
    state: str | None  # the status, except STALE for a running run whose runner is gone
    error: str | None
    started_at: float | None
    finished_at: float | None
    valid: bool | None = None  # None: not evaluated (migration 0007)
    invalid_reasons: list[dict[str, Any]] | None = None
    torch: str | None = None  # the versions the run used (its stored environment)
    transformers: str | None = None


@dataclass
class HistoryPoint:
    """One run's value of one figure of one series."""

    run_uid: str | None
    branch: str | None
    commit_id: str | None
    commit_time: float | None
    started_at: float | None
    scenario: str
    status: str | None  # the scenario's
    metric: str
    unit: str | None
    direction: str | None
    stats: Stats | None
    samples: list[float]
    processes: int = 1  # worker processes the samples come from (metrics.processes)
    valid: bool | None = None  # the run's: False for an invalid run (shown, left out of compare and detect)


@dataclass
class SeriesInfo:
    series_key: str
    scenario: str
    kind: str | None
    model_id: str | None
    gpu_name: str | None
    runs: int


def unix(dt: datetime | None) -> float | None:
    return None if dt is None else dt.replace(tzinfo=timezone.utc).timestamp()


def commit_order() -> ColumnElement:
    return func.coalesce(Benchmark.commit_time, Benchmark.started_at, Benchmark.created_at)


def last_seen(row: Benchmark) -> datetime | None:
    return row.heartbeat_at or row.started_at or row.created_at


def stale_reason(row: Benchmark, now: datetime, older_than_s: float, host: str | None = None,
                 alive: Callable[[int], bool] | None = None) -> str | None:
    """Why a `running` row's runner is gone, or None if it may still be running."""
    if row.status != RUNNING:
        return None
    if host is not None and alive is not None and row.runner_host == host and row.runner_pid \
            and not alive(row.runner_pid):
        return f"runner process {row.runner_pid} on {host} is gone"
    seen = last_seen(row)
    if seen is not None and now - seen > timedelta(seconds=older_than_s):
        return f"no heartbeat from {row.runner_host or 'its runner'} since {seen:%Y-%m-%d %H:%M:%S} UTC"
    return None


def _summary(row: Benchmark, now: datetime, host: str | None, alive: Callable[[int], bool] | None) -> RunSummary:
    stale = stale_reason(row, now, STALE_AFTER_S, host, alive) is not None
    return RunSummary(
        benchmark_id=row.benchmark_id, run_uid=row.run_uid, branch=row.branch, commit_id=row.commit_id,
        commit_message=row.commit_message_full if row.commit_message_full is not None else row.commit_message,
        commit_time=unix(row.commit_time), repository=row.repository, model_id=row.model_id,
        gpu_name=row.gpu_name, status=row.status, state=STALE if stale else row.status, error=row.error,
        started_at=unix(row.started_at), finished_at=unix(row.finished_at), valid=row.valid,
        invalid_reasons=row.invalid_reasons, torch=_env(row, "torch"), transformers=_env(row, "transformers"))


def _env(row: Benchmark, key: str) -> str | None:
    value = row.environment.get(key) if isinstance(row.environment, dict) else None
    return value if isinstance(value, str) else None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _filters(branch: str | None, repository: str | None, commit: str | None = None) -> list[ColumnElement]:
    where = []
    if branch is not None:
        where.append(Benchmark.branch == branch)
    if repository is not None:
        where.append(Benchmark.repository == repository)
    if commit is not None:
        where.append(Benchmark.commit_id.startswith(commit.lower(), autoescape=True))
    return where


def runs(session: Session, branch: str | None = None, repository: str | None = None, commit: str | None = None,
         limit: int | None = 20, host: str | None = None, alive: Callable[[int], bool] | None = None,
         ) -> list[RunSummary]:
    """Runs, newest commit first. `host` and `alive` let a run of this host whose runner
    process is gone show as stale at once."""
    stmt = select(Benchmark).where(*_filters(branch, repository, commit)) \
        .order_by(commit_order().desc(), Benchmark.started_at.desc(), Benchmark.benchmark_id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    now = _now()
    return [_summary(r, now, host, alive) for r in session.scalars(stmt)]


def runs_of_commit(session: Session, commit: str, **kw: Any) -> list[RunSummary]:
    return runs(session, commit=commit, limit=None, **kw)


def finished_runs(session: Session, branch: str, repository: str | None = None) -> list[Benchmark]:
    """The branch's runs that ended (any terminal status), in commit order."""
    where = [Benchmark.branch == branch, Benchmark.status.in_(TERMINAL_STATUSES)]
    if repository is not None:
        where.append(Benchmark.repository == repository)
    return list(session.scalars(select(Benchmark).where(*where)
                                .order_by(commit_order(), Benchmark.started_at, Benchmark.benchmark_id)))


def find_run(session: Session, ref: str) -> Benchmark:
    """A run by its uid, a unique prefix of it (4+ characters), or `#ID` (benchmark_id,
    for rows the seed wrote, which have no uid)."""
    ref = ref.strip()
    if ref.startswith("#"):
        digits = ref[1:]
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or not 0 < int(digits) <= MAX_ID:
            raise BadRunId(f"run id {ref[:40]!r}: #ID is a benchmark id, a number from 1 to {MAX_ID}")
        row = session.get(Benchmark, int(ref[1:]))
        if row is None:
            raise NotFound(f"no run with benchmark_id {ref[1:]}")
        return row
    if len(ref) < 4:
        raise NotFound(f"run id {ref!r} is too short: give 4 or more characters of it")
    rows = session.scalars(select(Benchmark).where(Benchmark.run_uid.startswith(ref.lower(), autoescape=True))
                           .limit(2)).all()
    if not rows:
        raise NotFound(f"no run {ref!r}")
    if len(rows) > 1:
        raise NotFound(f"run id {ref!r} is ambiguous: give more characters")
    return rows[0]


def latest(session: Session, branch: str | None = None, repository: str | None = None) -> Benchmark:
    """The run of the newest commit (the last started, for several runs of it)."""
    row = session.scalars(select(Benchmark).where(*_filters(branch, repository))
                          .order_by(commit_order().desc(), Benchmark.started_at.desc(),
                                    Benchmark.benchmark_id.desc()).limit(1)).first()
    if row is None:
        raise NotFound("no runs stored" + (f" for branch {branch!r}" if branch else ""))
    return row


def get_run(session: Session, ref: str) -> RunResult:
    return load_result(session, find_run(session, ref))


def latest_run(session: Session, branch: str | None = None, repository: str | None = None) -> RunResult:
    return load_result(session, latest(session, branch, repository))


def _stats(m: MetricRow) -> Stats | None:
    if m.median is None:
        return None
    return Stats(n=m.n or 0, mean=m.mean, median=m.median, p90=m.p90, p99=m.p99, min=m.min, max=m.max, stdev=m.stdev)


def load_result(session: Session, row: Benchmark) -> RunResult:
    """The stored run as the full result object, raw samples and device samples included."""
    bid = row.benchmark_id
    metrics: dict[int, list[Metric]] = {}
    for m in session.scalars(select(MetricRow).where(MetricRow.benchmark_id == bid).order_by(MetricRow.metric_id)):
        metrics.setdefault(m.scenario_run_id, []).append(
            Metric(name=m.name, unit=m.unit or "", samples=list(m.samples or []), stats=_stats(m),
                   processes=m.processes or 1))
    samples: dict[str | None, list[DeviceSample]] = {}
    for d in session.scalars(select(DeviceMeasurement).where(DeviceMeasurement.benchmark_id == bid)
                             .order_by(DeviceMeasurement.time, DeviceMeasurement.measurement_id)):
        samples.setdefault(d.scenario, []).append(DeviceSample(
            time=unix(d.time), scenario=d.scenario, phase=d.phase, cpu_util=d.cpu_util,
            mem_megabytes=d.mem_megabytes, gpu_util=d.gpu_util, gpu_mem_megabytes=d.gpu_mem_megabytes,
            sm_clock_mhz=d.sm_clock_mhz, power_watts=d.power_watts, temperature_c=d.temperature_c,
            throttle_reasons=d.throttle_reasons, cpu_other_util=d.cpu_other_util,
            gpu_other_processes=d.gpu_other_processes))
    scenarios = [
        ScenarioResult(
            name=s.name, kind=s.kind or "", params=dict(s.params or {}), series_key=s.series_key,
            status=s.status or "", error=s.error, exit_code=s.exit_code, signal=s.signal,
            stderr_tail=s.stderr_tail, started_at=unix(s.started_at), finished_at=unix(s.finished_at),
            phases=[Phase(name=p["name"], start=p["start"], end=p.get("end")) for p in (s.phases or [])],
            metrics=metrics.get(s.scenario_run_id, []), info=dict(s.info or {}), flags=list(s.flags or []),
            samples=samples.get(s.name, []))
        for s in session.scalars(select(ScenarioRun).where(ScenarioRun.benchmark_id == bid)
                                 .order_by(ScenarioRun.scenario_run_id))
    ]
    return RunResult(
        run_uid=row.run_uid or f"#{bid}", branch=row.branch or "", commit_id=row.commit_id or "",
        commit_message=row.commit_message_full if row.commit_message_full is not None else (row.commit_message or ""),
        repository=row.repository, model_id=row.model_id or "unknown", synthetic=bool(row.synthetic),
        config=dict(row.config or {}), config_hash=row.config_hash or "",
        environment={"gpu_name": row.gpu_name} | dict(row.environment or {}),  # the seed kept only the name
        status=row.status or "", error=row.error, started_at=unix(row.started_at),
        finished_at=unix(row.finished_at), commit_time=unix(row.commit_time),
        commit_parents=list(row.commit_parents or []), weight_bytes=row.weight_bytes,
        memory_bandwidth_bytes_per_s=row.memory_bandwidth_bytes_per_s, valid=row.valid,
        invalid_reasons=list(row.invalid_reasons or []), validity_rules=row.validity_rules, replay_of=row.replay_of,
        scenarios=scenarios)


def series_history(session: Session, series_key: str, metric: str, branch: str | None = None,
                   repository: str | None = None, limit: int | None = None) -> list[HistoryPoint]:
    """One figure of one series, oldest commit first (the newest `limit` of them)."""
    stmt = (select(MetricRow, ScenarioRun.status, Benchmark)
            .join(ScenarioRun, ScenarioRun.scenario_run_id == MetricRow.scenario_run_id)
            .join(Benchmark, Benchmark.benchmark_id == MetricRow.benchmark_id)
            .where(MetricRow.series_key == series_key, MetricRow.name == metric, *_filters(branch, repository))
            .order_by(commit_order().desc(), Benchmark.started_at.desc(), Benchmark.benchmark_id.desc()))
    if limit is not None:
        stmt = stmt.limit(limit)
    points = [
        HistoryPoint(run_uid=b.run_uid, branch=b.branch, commit_id=b.commit_id, commit_time=unix(b.commit_time),
                     started_at=unix(b.started_at), scenario=m.scenario or "", status=status, metric=m.name,
                     unit=m.unit, direction=m.direction, stats=_stats(m), samples=list(m.samples or []),
                     processes=m.processes or 1, valid=b.valid)
        for m, status, b in session.execute(stmt)
    ]
    return points[::-1]


def series(session: Session, branch: str | None = None, repository: str | None = None,
           scenario: str | None = None) -> list[SeriesInfo]:
    """The series stored (for this branch / scenario name), most recently measured first."""
    stmt = (select(ScenarioRun.series_key, ScenarioRun.name, ScenarioRun.kind, Benchmark.model_id,
                   Benchmark.gpu_name, func.count(), func.max(commit_order()))
            .join(Benchmark, Benchmark.benchmark_id == ScenarioRun.benchmark_id)
            .where(ScenarioRun.series_key.is_not(None), *_filters(branch, repository))
            .group_by(ScenarioRun.series_key, ScenarioRun.name, ScenarioRun.kind, Benchmark.model_id,
                      Benchmark.gpu_name)
            .order_by(func.max(commit_order()).desc(), ScenarioRun.name))
    if scenario is not None:
        stmt = stmt.where(or_(ScenarioRun.name == scenario, ScenarioRun.series_key.startswith(scenario)))
    return [SeriesInfo(series_key=k, scenario=n, kind=kind, model_id=model, gpu_name=gpu, runs=count)
            for k, n, kind, model, gpu, count, _last in session.execute(stmt)]


def series_metrics(session: Session, series_key: str) -> list[str]:
    """The figures a series has stored, by name."""
    return list(session.scalars(select(MetricRow.name).where(MetricRow.series_key == series_key)
                                .group_by(MetricRow.name).order_by(MetricRow.name)))



@dataclass
class RunnerRuns:
    """One (repository, branch, runner host, GPU)'s runs, for `commitbench status`."""

    repository: str | None
    branch: str | None
    runner_host: str | None
    gpu_name: str | None
    latest_finished: float | None = None  # unix: when the newest finished run finished (or started)
    latest_commit: str | None = None
    statuses: list[str] = field(default_factory=list)  # finished runs' statuses, newest first
    running: int = 0  # runs not finished (in progress, or their runner died)


FINISHED = ("succeeded", "failed", "cancelled")


def runner_runs(session: Session, branch: str | None = None, repository: str | None = None) -> list[RunnerRuns]:
    """Every (repository, branch, runner)'s runs, newest first by when they ran."""
    when = func.coalesce(Benchmark.finished_at, Benchmark.started_at, Benchmark.created_at)
    stmt = select(Benchmark.repository, Benchmark.branch, Benchmark.runner_host, Benchmark.gpu_name,
                  Benchmark.status, Benchmark.commit_id, when).where(*_filters(branch, repository)) \
        .order_by(when.desc(), Benchmark.benchmark_id.desc())
    groups: dict[tuple, RunnerRuns] = {}
    for repo, br, host, gpu, status, commit, at in session.execute(stmt):
        g = groups.setdefault((repo, br, host, gpu), RunnerRuns(repo, br, host, gpu))
        if status not in FINISHED:
            g.running += 1
            continue
        if g.latest_finished is None:
            g.latest_finished, g.latest_commit = unix(at), commit
        g.statuses.append(status)
    return sorted(groups.values(), key=lambda g: (g.repository or "", g.branch or "", g.runner_host or "",
                                                  g.gpu_name or ""))
