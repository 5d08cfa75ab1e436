"""The read side of analysis: stored figures grouped by run and scenario, with what
compare and detect need beside the numbers (commit order, runner, repetitions, status).

An invalid run (benchmarks.valid false: its telemetry broke a validity rule) is left out
here, where both compare and detect get their points: of a REF's runs (RefRuns.left_out
says which and why), of compare's history, and of detect's series. A run never evaluated
(valid NULL: stored before 0007, or with the sampler off) counts.

Functions take a Session and return the plain read models below. `Point.reps` rebuilds
each repetition's samples from the flat stored list: a per-repetition figure has one
sample per repetition, a pooled one (every decode step) `repetitions` equal chunks in
repetition order, a one-call figure one sample. A figure of a run measured in several
worker processes (metrics.processes, `run --processes`) holds each process's repetitions in
turn: `Point.processes_reps` splits them by process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from benchmark.contracts.result import SUCCEEDED
from benchmark.contracts.stats import by_process, repetitions
from benchmark.contracts.violations import summary
from db.models import Benchmark, DeviceMeasurement, MetricRow, ScenarioRun
from db.query import commit_order, unix


@dataclass
class Point:
    """One figure of one scenario of one run."""

    figure: str
    unit: str | None
    direction: str | None
    median: float | None
    p99: float | None
    samples: list[float]
    repetitions: int | None
    processes: int = 1  # worker processes the samples come from, in equal shares

    @property
    def reps(self) -> list[list[float]]:
        """Every repetition of every process, process by process."""
        return repetitions(self.samples, self.repetitions * self.processes if self.repetitions else None)

    @property
    def processes_reps(self) -> list[list[list[float]]]:
        """Each worker process's repetitions (one process: one entry, `reps`)."""
        return by_process(self.reps, self.processes)


@dataclass
class ScenarioPoints:
    """One scenario of one run, with every figure it stored."""

    benchmark_id: int
    run_uid: str | None
    branch: str | None
    repository: str | None
    commit_id: str | None
    commit_time: float | None
    order: float | None  # commit time, else start, else creation (unix s): history's order
    runner_host: str | None
    gpu_name: str | None
    model_id: str | None
    run_status: str | None
    scenario: str
    kind: str | None
    series_key: str | None
    status: str | None
    error: str | None
    flags: list[str]
    figures: dict[str, Point] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # the scenario's resolved parameters

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


COUNTED = or_(Benchmark.valid.is_(None), Benchmark.valid.is_(True))  # not an invalid run


def scenario_points(session: Session, *where: Any) -> list[ScenarioPoints]:
    """Every scenario (with its figures) of the valid runs `where` selects, oldest commit
    first, then by start."""
    ids = session.scalars(select(Benchmark.benchmark_id).where(COUNTED, *where)
                          .order_by(commit_order(), Benchmark.started_at, Benchmark.benchmark_id))
    return of_runs(session, list(ids))


def of_runs(session: Session, benchmark_ids: Sequence[int]) -> list[ScenarioPoints]:
    """The scenarios of these runs, in the order of `benchmark_ids`, then scenario order."""
    if not benchmark_ids:
        return []
    rank = {bid: i for i, bid in enumerate(benchmark_ids)}
    out: dict[int, ScenarioPoints] = {}
    repetitions: dict[int, int | None] = {}  # scenario run -> its `repetitions` parameter
    for chunk in _chunks(list(benchmark_ids), 500):
        for s, b, order in session.execute(
                select(ScenarioRun, Benchmark, commit_order())
                .join(Benchmark, Benchmark.benchmark_id == ScenarioRun.benchmark_id)
                .where(ScenarioRun.benchmark_id.in_(chunk))):
            out[s.scenario_run_id] = ScenarioPoints(
                benchmark_id=b.benchmark_id, run_uid=b.run_uid, branch=b.branch, repository=b.repository,
                commit_id=b.commit_id, commit_time=unix(b.commit_time), order=unix(order),
                runner_host=b.runner_host, gpu_name=b.gpu_name, model_id=b.model_id, run_status=b.status,
                scenario=s.name, kind=s.kind, series_key=s.series_key, status=s.status, error=s.error,
                flags=list(s.flags or []), params=dict(s.params or {}))
            n = dict(s.params or {}).get("repetitions")
            repetitions[s.scenario_run_id] = int(n) if isinstance(n, (int, float)) else None
        for m in session.scalars(select(MetricRow).where(MetricRow.benchmark_id.in_(chunk))
                                 .order_by(MetricRow.metric_id)):
            sp = out.get(m.scenario_run_id)
            if sp is not None:
                sp.figures[m.name] = Point(figure=m.name, unit=m.unit, direction=m.direction, median=m.median,
                                           p99=m.p99, samples=list(m.samples or []),
                                           repetitions=repetitions[m.scenario_run_id], processes=m.processes or 1)
    return sorted(out.values(), key=lambda sp: (rank[sp.benchmark_id], sp.scenario))


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass
class LeftOut:
    """A run a REF named that analysis leaves out, and why."""

    label: str  # short run id
    commit_id: str | None
    reasons: list[str]  # its violations once per rule (contracts/violations.summary); [] if none stored


@dataclass
class RefRuns:
    """What a REF named: its runs (finished, valid ones), and how it was read."""

    ref: str
    how: str  # "run", "commit" or "branch"
    label: str  # for output: short commit, branch@commit, or run id
    branch: str | None
    commit_id: str | None
    benchmark_ids: list[int]
    left_out: list[LeftOut] = field(default_factory=list)  # invalid runs it named (or, a branch, passed over)
    # each run's config hash and environment: what compare says changed between the sides
    provenance: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)


HEX = set("0123456789abcdef")


class NoRuns(LookupError):
    """A well-formed REF with nothing stored under it (a branch never benchmarked yet):
    nothing to compare, which is not the same as a malformed REF. `left_out`: where every
    run it named is invalid, those runs and why (the message names only the first)."""

    def __init__(self, message: str, left_out: Sequence[LeftOut] = ()) -> None:
        super().__init__(message)
        self.left_out = list(left_out)


def resolve_ref(session: Session, ref: str, repository: str | None = None) -> RefRuns:
    """REF -> runs. `run:ID`, `commit:SHA`, `branch:NAME` say which; a bare REF is a
    branch name if one is stored, else a commit id (4+ hex characters; every finished run
    of that commit), else a run id (or `#N`). A branch means its latest commit with a
    finished valid run, with every such run of that commit on the branch (replicates are
    more evidence). Invalid runs are left out (RefRuns.left_out); NoRuns when that leaves none."""
    found = _resolve(session, ref, repository)
    rows = {b.benchmark_id: b for b in session.scalars(select(Benchmark).where(
        Benchmark.benchmark_id.in_(found.benchmark_ids)))}
    found.left_out += [_left_out(rows[i]) for i in found.benchmark_ids if rows[i].valid is False]
    found.benchmark_ids = [i for i in found.benchmark_ids if rows[i].valid is not False]
    if not found.benchmark_ids:  # one line: the count and the first run's reasons (all of them: NoRuns.left_out)
        first = found.left_out[0]
        more = f"; and {len(found.left_out) - 1} more" if len(found.left_out) > 1 else ""
        raise NoRuns(f"{found.label}: all {len(found.left_out)} run(s) invalid, left out (run {first.label}: "
                     f"{'; '.join(first.reasons) or 'no reason stored'}{more})", found.left_out)
    found.provenance = [(rows[i].config_hash, dict(rows[i].environment or {})) for i in found.benchmark_ids]
    return found


def _left_out(row: Benchmark) -> LeftOut:
    said = summary(row.invalid_reasons or [])  # once per rule, not once per phase
    return LeftOut((row.run_uid or f"#{row.benchmark_id}")[:8], row.commit_id, [said] if said else [])


def _resolve(session: Session, ref: str, repository: str | None) -> RefRuns:
    from db.query import BadRunId, NotFound, find_run

    how, _, name = ref.partition(":") if ref.split(":", 1)[0] in ("run", "commit", "branch") else ("", "", ref)
    name = name.strip()
    if not name:
        raise NotFound(f"empty ref {ref!r}")
    finished = Benchmark.status.in_(("succeeded", "failed", "cancelled")) | Benchmark.status.is_(None)
    repo = [Benchmark.repository == repository] if repository is not None else []
    if how in ("", "branch"):
        on_branch = [Benchmark.branch == name, finished, *repo]
        newest = (select(Benchmark.commit_id, commit_order())
                  .order_by(commit_order().desc(), Benchmark.started_at.desc(), Benchmark.benchmark_id.desc())
                  .limit(1))
        latest = session.execute(newest.where(*on_branch, COUNTED)).first()
        if latest is not None:
            ids = _ids(session, Benchmark.branch == name, Benchmark.commit_id == latest[0], finished, *repo)
            # invalid runs of newer commits were passed over: say so
            newer = session.scalars(select(Benchmark).where(*on_branch, Benchmark.valid.is_(False),
                                                            commit_order() > latest[1])
                                    .order_by(commit_order(), Benchmark.benchmark_id))
            return RefRuns(ref, "branch", f"{name} ({(latest[0] or '')[:8]})", name, latest[0], ids,
                           left_out=[_left_out(b) for b in newer])
        if (last := session.execute(newest.where(*on_branch)).first()) is not None:  # every run invalid
            return RefRuns(ref, "branch", f"{name} ({(last[0] or '')[:8]})", name, last[0],
                           _ids(session, Benchmark.branch == name, Benchmark.commit_id == last[0], finished, *repo))
        if how == "branch":
            raise NoRuns(f"no finished runs of branch {name!r}")
    is_hex = 4 <= len(name) <= 64 and set(name.lower()) <= HEX
    if how == "commit" and not is_hex:
        raise NotFound(f"commit:{name}: a commit id is 4-64 hex characters")
    if how in ("", "commit") and is_hex:
        commits = session.execute(
            select(Benchmark.commit_id).where(Benchmark.commit_id.startswith(name.lower(), autoescape=True),
                                              finished, *repo).group_by(Benchmark.commit_id).limit(2)).all()
        if len(commits) > 1:
            raise NotFound(f"commit {name!r} is ambiguous: give more characters")
        if commits:
            commit = commits[0][0]
            ids = _ids(session, Benchmark.commit_id == commit, finished, *repo)
            branches = {b for (b,) in session.execute(select(Benchmark.branch).where(Benchmark.benchmark_id.in_(ids)))}
            return RefRuns(ref, "commit", commit[:8], branches.pop() if len(branches) == 1 else None, commit, ids)
        if how == "commit":
            raise NoRuns(f"no finished runs of commit {name!r}")
    try:
        row = find_run(session, name)
    except NotFound as e:
        if how == "run" or isinstance(e, BadRunId) or "ambiguous" in str(e) or "too short" in str(e):
            raise
        raise NoRuns(f"{name!r} is no stored branch, commit or run") from None
    return RefRuns(ref, "run", (row.run_uid or f"#{row.benchmark_id}")[:8], row.branch, row.commit_id,
                   [row.benchmark_id])


def _ids(session: Session, *where: Any) -> list[int]:
    return list(session.scalars(select(Benchmark.benchmark_id).where(*where)
                                .order_by(Benchmark.started_at, Benchmark.benchmark_id)))


def earlier(session: Session, series_key: str, branch: str | None, before: float | None, exclude: Sequence[int],
            limit: int, repository: str | None = None) -> list[ScenarioPoints]:
    """The newest `limit` succeeded runs of one series on `branch` before commit order
    `before` (not the runs in `exclude`), oldest first: the base's recent history."""
    where = [ScenarioRun.series_key == series_key, ScenarioRun.status == SUCCEEDED, COUNTED,
             Benchmark.benchmark_id.not_in(list(exclude) or [-1])]
    if branch is not None:
        where.append(Benchmark.branch == branch)
    if repository is not None:
        where.append(Benchmark.repository == repository)
    if before is not None:
        where.append(commit_order() < datetime.fromtimestamp(before, timezone.utc).replace(tzinfo=None))
    ids = list(session.scalars(
        select(Benchmark.benchmark_id).join(ScenarioRun, ScenarioRun.benchmark_id == Benchmark.benchmark_id)
        .where(*where).order_by(commit_order().desc(), Benchmark.started_at.desc(), Benchmark.benchmark_id.desc())
        .limit(limit)))[::-1]
    return [sp for sp in of_runs(session, ids) if sp.series_key == series_key]


DEVICE_QUANTITIES = ("cpu_util", "gpu_util", "mem_megabytes", "gpu_mem_megabytes", "sm_clock_mhz", "power_watts",
                     "temperature_c", "throttle_reasons")


def device_readings(session: Session, benchmark_ids: Sequence[int]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """The sampler's readings of these runs, pooled: scenario -> phase -> quantity -> values
    (NULL readings left out; a reading without scenario or phase is not phase-aligned and is
    left out too)."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    columns = [getattr(DeviceMeasurement, q) for q in DEVICE_QUANTITIES]
    for chunk in _chunks(list(benchmark_ids), 500):
        for row in session.execute(
                select(DeviceMeasurement.scenario, DeviceMeasurement.phase, *columns)
                .where(DeviceMeasurement.benchmark_id.in_(chunk), DeviceMeasurement.scenario.is_not(None),
                       DeviceMeasurement.phase.is_not(None))
                .order_by(DeviceMeasurement.benchmark_id, DeviceMeasurement.time)):
            phase = out.setdefault(row[0], {}).setdefault(row[1], {})
            for name, value in zip(DEVICE_QUANTITIES, row[2:]):
                if value is not None:
                    phase.setdefault(name, []).append(float(value))
    return out
