"""Writing RunResults into the database (and reading a summary back).

Functions take an open Session and never commit: the caller's session_scope does, so a
run's rows land together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from benchmark.result import TERMINAL_STATUSES, RunResult, ScenarioResult
from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun

SEED_MESSAGE_CHARS = 70  # benchmarks.commit_message is varchar(70)


def utc(ts: float | None) -> datetime | None:
    """Unix seconds -> naive UTC datetime (the schema's timestamps have no zone)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)


def _find(session: Session, run_uid: str) -> Benchmark | None:
    return session.scalar(select(Benchmark).where(Benchmark.run_uid == run_uid))


def save_run(session: Session, result: RunResult) -> int:
    """Insert or update the run's benchmarks row and its model_measurements row."""
    env = result.environment or {}
    header: dict[str, Any] = dict(
        branch=result.branch,
        commit_id=result.commit_id,
        commit_message=(result.commit_message or "")[:SEED_MESSAGE_CHARS],
        commit_message_full=result.commit_message,
        gpu_name=env.get("gpu_name"),
        gpu_count=env.get("gpu_count"),
        status=result.status,
        error=result.error,
        repository=result.repository,
        model_id=result.model_id,
        synthetic=result.synthetic,
        config=result.config,
        config_hash=result.config_hash,
        environment=env,
        started_at=utc(result.started_at),
        finished_at=utc(result.finished_at),
    )
    if result.started_at is not None:
        header["created_at"] = utc(result.started_at)  # else the server default: now, UTC

    row = _find(session, result.run_uid)
    if row is None:
        row = Benchmark(run_uid=result.run_uid, **header)
        session.add(row)
    else:
        for key, value in header.items():
            setattr(row, key, value)
    session.flush()

    # The seed's dashboards read these keys; absent figures are left out, not null.
    measurements = {k: v for k, v in result.seed_measurements().items() if v is not None}
    when = utc(result.finished_at if result.finished_at is not None else result.started_at)
    mm = session.scalar(
        select(ModelMeasurement)
        .where(ModelMeasurement.benchmark_id == row.benchmark_id)
        .order_by(ModelMeasurement.measurement_id)
        .limit(1)
    )
    if mm is None:
        mm = ModelMeasurement(benchmark_id=row.benchmark_id, measurements=measurements)
        session.add(mm)
    else:
        mm.measurements = measurements
    if when is not None:
        mm.time = when
    session.flush()
    return row.benchmark_id


def save_scenario(session: Session, benchmark_id: int, scenario: ScenarioResult) -> int:
    """Replace the scenario's scenario_runs row, its metrics and its device samples."""
    _delete_scenario(session, benchmark_id, scenario.name)

    run = ScenarioRun(
        benchmark_id=benchmark_id,
        name=scenario.name,
        kind=scenario.kind,
        params=scenario.params,
        status=scenario.status,
        error=scenario.error,
        exit_code=scenario.exit_code,
        signal=scenario.signal,
        stderr_tail=scenario.stderr_tail,
        started_at=utc(scenario.started_at),
        finished_at=utc(scenario.finished_at),
        phases=[{"name": p.name, "start": p.start, "end": p.end} for p in scenario.phases],
        info=scenario.info,
        flags=scenario.flags,
    )
    session.add(run)
    session.flush()

    metric_rows = []
    for m in scenario.metrics:
        s = m.stats
        metric_rows.append(
            dict(
                benchmark_id=benchmark_id,
                scenario_run_id=run.scenario_run_id,
                scenario=scenario.name,
                name=m.name,
                unit=m.unit,
                n=s.n if s else len(m.samples),
                mean=s.mean if s else None,
                median=s.median if s else None,
                p90=s.p90 if s else None,
                p99=s.p99 if s else None,
                min=s.min if s else None,
                max=s.max if s else None,
                stdev=s.stdev if s else None,
                samples=list(m.samples),
            )
        )
    if metric_rows:
        session.execute(insert(MetricRow), metric_rows)

    # Tens of thousands of samples: one executemany (batched "insertmanyvalues" on
    # PostgreSQL), no ORM objects. Rows are tagged with this scenario's name, which is
    # also what _delete_scenario matches, so re-saving replaces them.
    device_rows = [
        dict(
            benchmark_id=benchmark_id,
            time=utc(d.time),
            scenario=scenario.name,
            phase=d.phase,
            cpu_util=d.cpu_util,
            mem_megabytes=d.mem_megabytes,
            gpu_util=d.gpu_util,
            gpu_mem_megabytes=d.gpu_mem_megabytes,
            sm_clock_mhz=d.sm_clock_mhz,
            power_watts=d.power_watts,
            temperature_c=d.temperature_c,
            throttle_reasons=d.throttle_reasons,
        )
        for d in scenario.samples
    ]
    if device_rows:
        session.execute(insert(DeviceMeasurement), device_rows)
    return run.scenario_run_id


def _delete_scenario(session: Session, benchmark_id: int, name: str) -> None:
    old = select(ScenarioRun.scenario_run_id).where(
        ScenarioRun.benchmark_id == benchmark_id, ScenarioRun.name == name
    )
    # explicit rather than relying on ON DELETE CASCADE (SQLite needs foreign keys on)
    session.execute(delete(MetricRow).where(MetricRow.scenario_run_id.in_(old)))
    session.execute(
        delete(ScenarioRun).where(ScenarioRun.benchmark_id == benchmark_id, ScenarioRun.name == name)
    )
    session.execute(
        delete(DeviceMeasurement).where(
            DeviceMeasurement.benchmark_id == benchmark_id, DeviceMeasurement.scenario == name
        )
    )


def _delete_children(session: Session, benchmark_id: int) -> None:
    session.execute(delete(MetricRow).where(MetricRow.benchmark_id == benchmark_id))
    session.execute(delete(ScenarioRun).where(ScenarioRun.benchmark_id == benchmark_id))
    session.execute(delete(DeviceMeasurement).where(DeviceMeasurement.benchmark_id == benchmark_id))


def ingest(session: Session, result: RunResult) -> str:
    """Store a whole result idempotently: "inserted", "completed" or "skipped"."""
    existing = _find(session, result.run_uid)
    if existing is not None and existing.status in TERMINAL_STATUSES:
        return "skipped"
    outcome = "inserted" if existing is None else "completed"
    benchmark_id = save_run(session, result)
    if existing is not None:
        # Partly written (e.g. the DB went away mid-run): rewrite every child row.
        _delete_children(session, benchmark_id)
    for scenario in result.scenarios:
        save_scenario(session, benchmark_id, scenario)
    return outcome


def load_run(session: Session, run_uid: str) -> dict[str, Any] | None:
    """The benchmarks row as a dict, plus row counts under the child tables' names:
    scenario_runs, metrics, device_measurements, model_measurements."""
    row = _find(session, run_uid)
    if row is None:
        return None
    out: dict[str, Any] = {c.key: getattr(row, c.key) for c in Benchmark.__mapper__.column_attrs}
    for key, model in (
        ("scenario_runs", ScenarioRun),
        ("metrics", MetricRow),
        ("device_measurements", DeviceMeasurement),
        ("model_measurements", ModelMeasurement),
    ):
        out[key] = session.scalar(
            select(func.count()).select_from(model).where(model.benchmark_id == row.benchmark_id)
        )
    return out
