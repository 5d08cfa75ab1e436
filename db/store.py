"""The store's write side: RunResults into the database, idempotently.

`Store` is the public interface (the runner, `ingest` and `db close-stale` use it; the read
side is db.query over `Store.reading()`). Every write is one transaction, so a run's rows
land together or not at all. Text is cleaned on the way in: PostgreSQL cannot hold NUL in
text or jsonb, and a NUL in a crashed scenario's stderr must not cost the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from benchmark.contracts import figures
from benchmark.contracts.inputs import SEED_MESSAGE_CHARS
from benchmark.contracts.result import (ABANDONED, RUNNING, TERMINAL_STATUSES, DeviceSample, RunResult,
                                        ScenarioResult)
from benchmark.contracts.secrets import masked_argv
from db.locks import serialize
from db.migrate import check_current, upgrade
from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun
from db.query import last_seen, stale_reason
from db.session import make_engine, read_scope, session_scope
from db.sqltypes import utcnow
from db.url import display_url

ALREADY_STORED = "skipped (already stored)"


def utc(ts: float | None) -> datetime | None:
    """Unix seconds -> naive UTC datetime (the schema's timestamps have no zone)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)


def clean(value: Any) -> Any:
    """Strings without NUL, recursively through JSON values."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return value


@dataclass
class ClosedRun:
    run_uid: str | None
    branch: str | None
    commit_id: str | None
    reason: str


class Store:
    def __init__(self, url: str, copy_samples: bool = True, read_only: bool = False) -> None:
        """`copy_samples=False` writes device samples with one executemany even where COPY is
        possible (PostgreSQL through psycopg2): the same rows, slower; it exists so that the
        scale benchmark (yardsticks/bench_scale.py) can time both paths. `read_only`: a
        SQLite file is opened so that nothing can change it (db.session.make_engine)."""
        self.url = url
        self.copy_samples = copy_samples
        self.read_only = read_only
        self._engine: Engine | None = None

    def where(self) -> str:
        return display_url(self.url)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url, self.read_only)
        return self._engine

    def open(self, auto_upgrade: bool) -> None:
        """Connect; migrate (SQLite files are the user's own) or check the schema is at head.
        Raises SQLAlchemyError (unreachable) or SchemaError (with the way out)."""
        if auto_upgrade:
            upgrade(self.engine)
        else:
            check_current(self.engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session for db.query."""
        with read_scope(self.engine) as session:
            yield session

    # -- writes ------------------------------------------------------------------------
    def save_run(self, result: RunResult) -> int:
        """Insert or update the run's row (and its seed row); returns its benchmark_id."""
        with session_scope(self.engine) as session:
            return _save_run(session, result)

    def save_scenario(self, result: RunResult, scenario: ScenarioResult) -> int:
        with session_scope(self.engine) as session:
            benchmark_id = _save_run(session, result)
            _save_scenario(session, benchmark_id, result, scenario, self.copy_samples)
            return benchmark_id

    def heartbeat(self, run_uid: str) -> None:
        with session_scope(self.engine) as session:
            session.execute(update(Benchmark).where(Benchmark.run_uid == run_uid)
                            .values(heartbeat_at=_now()))

    def ingest(self, result: RunResult) -> str:
        """Store a whole result idempotently: "inserted", "completed" (a partly stored or
        abandoned run), or ALREADY_STORED. Two ingests of one result at once store it once."""
        with session_scope(self.engine) as session:
            serialize(session, result.run_uid)  # two ingests of one result store it once
            existing = _find(session, result.run_uid)
            if existing is not None and existing.status in TERMINAL_STATUSES \
                    and not (existing.error or "").startswith(ABANDONED):
                return ALREADY_STORED
            outcome = "inserted" if existing is None else "completed"
            benchmark_id = _save_run(session, result)
            if existing is not None:  # partly written (the database went away mid-run): rewrite it all
                _delete_children(session, benchmark_id)
            for scenario in result.scenarios:
                _save_scenario(session, benchmark_id, result, scenario, self.copy_samples)
            return outcome

    def close_stale(self, older_than_s: float, host: str, alive: Callable[[int], bool],
                    now: datetime | None = None) -> list[ClosedRun]:
        """Close as failed every run left `running` by a runner that is gone: on this host
        with its process dead, or silent (no heartbeat) for `older_than_s`."""
        now = now or _now()
        closed = []
        with session_scope(self.engine) as session:
            for row in session.scalars(select(Benchmark).where(Benchmark.status == RUNNING)):
                reason = stale_reason(row, now, older_than_s, host, alive)
                if reason is None:
                    continue
                row.status = "failed"
                row.error = f"{ABANDONED}{reason}"
                row.finished_at = last_seen(row)
                closed.append(ClosedRun(row.run_uid, row.branch, row.commit_id, reason))
        return closed


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _find(session: Session, run_uid: str) -> Benchmark | None:
    return session.scalar(select(Benchmark).where(Benchmark.run_uid == run_uid))


def _save_run(session: Session, result: RunResult) -> int:
    env = result.environment or {}
    if isinstance(env.get("command"), list):  # masked again: a spool file may predate masking
        env = env | {"command": list(masked_argv([str(a) for a in env["command"]]))}
    header: dict[str, Any] = clean(dict(
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
        commit_parents=list(result.commit_parents),
        runner_host=env.get("hostname"),
        runner_pid=env.get("runner_pid"),
        weight_bytes=result.weight_bytes,
        memory_bandwidth_bytes_per_s=result.memory_bandwidth_bytes_per_s,
        valid=result.valid,
        invalid_reasons=list(result.invalid_reasons) if result.valid is not None else None,
        validity_rules=result.validity_rules,
        replay_of=result.replay_of,
    ))
    header.update(started_at=utc(result.started_at), finished_at=utc(result.finished_at),
                  commit_time=utc(result.commit_time), heartbeat_at=_now(),
                  plotted_at=utc(_first(result.commit_time, result.started_at)) or _now())
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
    mm = session.scalar(select(ModelMeasurement).where(ModelMeasurement.benchmark_id == row.benchmark_id)
                        .order_by(ModelMeasurement.measurement_id).limit(1))
    if mm is None:
        mm = ModelMeasurement(benchmark_id=row.benchmark_id, measurements=measurements)
        session.add(mm)
    else:
        mm.measurements = measurements
    if when is not None:
        mm.time = when
    session.flush()
    return row.benchmark_id


def _save_scenario(session: Session, benchmark_id: int, result: RunResult, scenario: ScenarioResult,
                   copy_samples: bool = True) -> None:
    """Replace the scenario's scenario_runs row, its metrics and its device samples."""
    _delete_scenario(session, benchmark_id, clean(scenario.name))  # as stored: NUL-free
    key = result.series_key(scenario)
    run = ScenarioRun(benchmark_id=benchmark_id, series_key=key, **clean(dict(
        name=scenario.name,
        kind=scenario.kind,
        params=scenario.params,
        status=scenario.status,
        error=scenario.error,
        exit_code=scenario.exit_code,
        signal=scenario.signal,
        stderr_tail=scenario.stderr_tail,
        phases=[{"name": p.name, "start": p.start, "end": p.end} for p in scenario.phases],
        info=scenario.info,
        flags=scenario.flags,
    )), started_at=utc(scenario.started_at), finished_at=utc(scenario.finished_at))
    session.add(run)
    session.flush()

    metric_rows = [
        dict(benchmark_id=benchmark_id, scenario_run_id=run.scenario_run_id, scenario=run.name,
             series_key=key, name=m.name, unit=m.unit, direction=figures.direction(m.name),
             n=s.n if s else len(m.samples), mean=s.mean if s else None, median=s.median if s else None,
             p90=s.p90 if s else None, p99=s.p99 if s else None, min=s.min if s else None,
             max=s.max if s else None, stdev=s.stdev if s else None, samples=list(m.samples),
             processes=m.processes if m.processes > 1 else None)  # NULL: one, as every row before 0009
        for m in scenario.metrics for s in [m.stats]
    ]
    if metric_rows:
        session.execute(insert(MetricRow), metric_rows)

    # Rows are tagged with this scenario's name, which is also what _delete_scenario
    # matches, so re-saving replaces them.
    _write_samples(session, benchmark_id, run.name, scenario.samples, copy_samples)


# -- device samples ------------------------------------------------------------------------
# Tens of thousands per scenario, so no ORM objects. On PostgreSQL (psycopg2) they are
# COPYed in CSV on the session's own connection, inside its transaction: as atomic as an
# executemany, at ~9x its rows/s (~120k/s against ~14k/s: yardsticks/bench_scale.py
# measures both, with Store(copy_samples=False) for the executemany). Elsewhere (SQLite)
# one executemany.
SAMPLE_COLUMNS = ("benchmark_id", "time", "scenario", "phase", "cpu_util", "mem_megabytes", "gpu_util",
                  "gpu_mem_megabytes", "sm_clock_mhz", "power_watts", "temperature_c", "throttle_reasons",
                  "cpu_other_util", "gpu_other_processes")
_COPY_SAMPLES = (f"COPY {DeviceMeasurement.__tablename__} ({', '.join(SAMPLE_COLUMNS)}) "
                 "FROM STDIN WITH (FORMAT csv)")
_COPY_CHUNK = 5000  # rows per piece handed to the driver: the CSV is never built whole


def _write_samples(session: Session, benchmark_id: int, scenario: str, samples: list[DeviceSample],
                   copy_samples: bool = True) -> None:
    """Insert one scenario's device samples (`scenario`: its stored, cleaned name); by COPY
    where the connection can and `copy_samples` allows, else by one executemany."""
    if not samples:
        return
    conn = session.connection()
    if copy_samples and _can_copy(conn):
        _copy_samples(conn, benchmark_id, scenario, samples)
    else:
        session.execute(insert(DeviceMeasurement), [
            dict(benchmark_id=benchmark_id, time=utc(d.time), scenario=scenario, phase=clean(d.phase),
                 cpu_util=d.cpu_util, mem_megabytes=d.mem_megabytes, gpu_util=d.gpu_util,
                 gpu_mem_megabytes=d.gpu_mem_megabytes, sm_clock_mhz=d.sm_clock_mhz, power_watts=d.power_watts,
                 temperature_c=d.temperature_c, throttle_reasons=d.throttle_reasons,
                 cpu_other_util=d.cpu_other_util, gpu_other_processes=d.gpu_other_processes)
            for d in samples
        ])


def _can_copy(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"


def _copy_samples(conn: Connection, benchmark_id: int, scenario: str, samples: list[DeviceSample]) -> None:
    """COPY on the connection's DBAPI connection, so in its transaction: a failure here or
    later rolls these rows back with the rest. Errors are raised as SQLAlchemy's, as the
    executemany's would be (the runner and `ingest` catch SQLAlchemyError to spool)."""
    # A sample without a time gets the column's default, as with the executemany.
    default_time = (conn.execute(select(utcnow())).scalar_one().isoformat(" ")
                    if any(d.time is None for d in samples) else "")
    reader = _ChunkReader(_csv_lines(benchmark_id, scenario, samples, default_time))
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.copy_expert(_COPY_SAMPLES, reader)
    except dbapi.Error as e:
        if reader.error is not None:  # a value that is not a number: psycopg2 aborted the COPY
            raise StatementError(f"device sample not storable: {reader.error!r}", _COPY_SAMPLES, None,
                                 reader.error) from reader.error
        raise DBAPIError.instance(_COPY_SAMPLES, None, e, dbapi.Error, dialect=conn.dialect) from e
    finally:
        cursor.close()


def _csv_lines(benchmark_id: int, scenario: str, samples: list[DeviceSample], default_time: str) -> Iterator[str]:
    """PostgreSQL CSV: NULL is an unquoted empty field, so every text is quoted (an empty
    string stays ""), its quotes doubled; inside quotes commas, newlines, tabs and
    backslashes are data (and no record starts with `\\.`: the first field is a number).
    Floats in repr, which reads back to the same double."""
    head = f"{int(benchmark_id)},"
    name = "," + _csv_text(scenario) + ","
    phases: dict[str | None, str] = {}
    seconds: dict[float, str] = {}
    num = _csv_float
    for d in samples:
        phase = phases.get(d.phase)
        if phase is None:
            phase = phases[d.phase] = "" if d.phase is None else _csv_text(clean(d.phase))
        when = default_time if d.time is None else _csv_time(d.time, seconds)
        yield (f"{head}{when}{name}{phase},{num(d.cpu_util)},{num(d.mem_megabytes)},"
               f"{num(d.gpu_util)},{num(d.gpu_mem_megabytes)},{num(d.sm_clock_mhz)},{num(d.power_watts)},"
               f"{num(d.temperature_c)},{_csv_int(d.throttle_reasons)},{num(d.cpu_other_util)},"
               f"{_csv_int(d.gpu_other_processes)}\n")


def _csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _csv_int(value: int | None) -> str:
    return "" if value is None else str(int(value))


def _csv_float(value: float | None) -> str:
    return "" if value is None else repr(float(value))  # nan, inf, -inf: PostgreSQL reads them


def _csv_time(ts: float, seconds: dict[float, str]) -> str:
    """utc(ts) as text, the same microsecond (datetime.fromtimestamp's rounding: the
    fraction's microseconds, half to even), with each second's text made once: the
    sampler reads ~100 times a second, and a datetime per sample would be a third of the
    COPY's time."""
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    if us >= 1_000_000:
        us -= 1_000_000
        whole += 1
    elif us < 0:
        us += 1_000_000
        whole -= 1
    second = seconds.get(whole)
    if second is None:
        when = datetime.fromtimestamp(whole, timezone.utc).replace(tzinfo=None)
        second = seconds[whole] = when.isoformat(" ")
    return f"{second}.{us:06d}"


class _ChunkReader:
    """A file for copy_expert: each read() is the next _COPY_CHUNK lines (any length will do).
    psycopg2 turns an exception in read() into QueryCanceled; the original is kept here."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.error: Exception | None = None

    def read(self, _size: int = -1) -> str:
        try:
            return "".join(islice(self._lines, _COPY_CHUNK))
        except Exception as e:
            self.error = e
            raise


def _delete_scenario(session: Session, benchmark_id: int, name: str) -> None:
    old = select(ScenarioRun.scenario_run_id).where(ScenarioRun.benchmark_id == benchmark_id,
                                                    ScenarioRun.name == name)
    # explicit rather than relying on ON DELETE CASCADE (SQLite needs foreign keys on)
    session.execute(delete(MetricRow).where(MetricRow.scenario_run_id.in_(old)))
    session.execute(delete(ScenarioRun).where(ScenarioRun.benchmark_id == benchmark_id, ScenarioRun.name == name))
    session.execute(delete(DeviceMeasurement).where(DeviceMeasurement.benchmark_id == benchmark_id,
                                                    DeviceMeasurement.scenario == name))


def _delete_children(session: Session, benchmark_id: int) -> None:
    session.execute(delete(MetricRow).where(MetricRow.benchmark_id == benchmark_id))
    session.execute(delete(ScenarioRun).where(ScenarioRun.benchmark_id == benchmark_id))
    session.execute(delete(DeviceMeasurement).where(DeviceMeasurement.benchmark_id == benchmark_id))


def counts(session: Session, run_uid: str) -> dict[str, Any] | None:
    """The benchmarks row as a dict, plus row counts under the child tables' names:
    scenario_runs, metrics, device_measurements, model_measurements."""
    row = _find(session, run_uid)
    if row is None:
        return None
    out: dict[str, Any] = {c.key: getattr(row, c.key) for c in Benchmark.__mapper__.column_attrs}
    for key, model in (("scenario_runs", ScenarioRun), ("metrics", MetricRow),
                       ("device_measurements", DeviceMeasurement), ("model_measurements", ModelMeasurement)):
        out[key] = session.scalar(select(func.count()).select_from(model).where(model.benchmark_id == row.benchmark_id))
    return out



def set_validity(session: Session, benchmark_id: int, valid: bool | None, reasons: list[dict[str, Any]],
                 rules: dict[str, Any]) -> None:
    """A run's validity, judged again (`commitbench validate`)."""
    session.execute(update(Benchmark).where(Benchmark.benchmark_id == benchmark_id)
                    .values(valid=valid, invalid_reasons=clean(reasons) if valid is not None else None,
                            validity_rules=rules))
