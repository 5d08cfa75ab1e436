"""Typed ORM models. They must match the migrated schema exactly (a test checks this).

The three seed tables keep their names, columns and types so dashboards written for the
seed keep working; everything else is additive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.sqltypes import JSONType, utcnow


class Base(DeclarativeBase):
    pass


class Benchmark(Base):
    """One run of the benchmark on one commit (seed table + run metadata)."""

    __tablename__ = "benchmarks"

    # seed columns
    benchmark_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch: Mapped[str | None] = mapped_column(String(255))
    commit_id: Mapped[str | None] = mapped_column(String(72))
    commit_message: Mapped[str | None] = mapped_column(String(70))  # first 70 chars
    gpu_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=utcnow())
    # commitbench columns (NULL on rows the seed wrote)
    run_uid: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    commit_message_full: Mapped[str | None] = mapped_column(Text)
    repository: Mapped[str | None] = mapped_column(String(512))
    model_id: Mapped[str | None] = mapped_column(String(512))
    synthetic: Mapped[bool | None] = mapped_column(Boolean)
    gpu_count: Mapped[int | None] = mapped_column(Integer)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    config_hash: Mapped[str | None] = mapped_column(String(64))
    environment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 0003: commit order, and who runs it (a run whose runner died is recognisable)
    commit_time: Mapped[datetime | None] = mapped_column(DateTime)  # committer date, UTC
    commit_parents: Mapped[list[str] | None] = mapped_column(JSONType)
    runner_host: Mapped[str | None] = mapped_column(String(255))
    runner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 0004: the time axis of dashboards (commit time, else start), and the roofline's inputs
    plotted_at: Mapped[datetime | None] = mapped_column(DateTime)
    weight_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_bandwidth_bytes_per_s: Mapped[float | None] = mapped_column(Double)  # bytes read + written
    # 0007: validity from telemetry (NULL: not evaluated), and the run this one replays
    valid: Mapped[bool | None] = mapped_column(Boolean)
    invalid_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)  # [{rule,detail,scenario,phase}]
    validity_rules: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    replay_of: Mapped[str | None] = mapped_column(String(36))  # a run_uid

    __table_args__ = (
        # a unique index rather than a constraint: SQLite can add one without a table copy
        Index("ux_benchmarks_run_uid", "run_uid", unique=True),
        Index("ix_benchmarks_branch_commit_time", "branch", "commit_time"),
        Index("ix_benchmarks_status", "status"),
        Index("ix_benchmarks_branch_created_at", "branch", "created_at"),
        Index("ix_benchmarks_commit_id", "commit_id"),
        Index("ix_benchmarks_gpu_name", "gpu_name"),
        Index("ix_benchmarks_model_id", "model_id"),
        Index("ix_benchmarks_created_at", "created_at"),
        Index("ix_benchmarks_plotted_at", "plotted_at"),
    )


class DeviceMeasurement(Base):
    """One sampler reading (seed table + GPU details, scenario/phase tags)."""

    __tablename__ = "device_measurements"

    measurement_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    benchmark_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("benchmarks.benchmark_id"))
    cpu_util: Mapped[float | None] = mapped_column(Double)
    mem_megabytes: Mapped[float | None] = mapped_column(Double)
    gpu_util: Mapped[float | None] = mapped_column(Double)
    gpu_mem_megabytes: Mapped[float | None] = mapped_column(Double)
    time: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=utcnow())
    scenario: Mapped[str | None] = mapped_column(String(255))
    phase: Mapped[str | None] = mapped_column(String(64))
    sm_clock_mhz: Mapped[float | None] = mapped_column(Double)
    power_watts: Mapped[float | None] = mapped_column(Double)
    temperature_c: Mapped[float | None] = mapped_column(Double)
    throttle_reasons: Mapped[int | None] = mapped_column(BigInteger)
    cpu_other_util: Mapped[float | None] = mapped_column(Double)  # 0007: other processes, % of one core
    gpu_other_processes: Mapped[int | None] = mapped_column(Integer)  # 0007

    __table_args__ = (Index("ix_device_measurements_benchmark_id_time", "benchmark_id", "time"),)


class ModelMeasurement(Base):
    """The seed's per-run row: `measurements` holds the 13 seed keys (seconds)."""

    __tablename__ = "model_measurements"

    measurement_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    benchmark_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("benchmarks.benchmark_id"))
    measurements: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    time: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=utcnow())

    __table_args__ = (Index("ix_model_measurements_benchmark_id", "benchmark_id"),)


class ScenarioRun(Base):
    """One scenario of a run, with its outcome."""

    __tablename__ = "scenario_runs"

    scenario_run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE", name="fk_scenario_runs_benchmark_id"),
        nullable=False,
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    kind: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    signal: Mapped[str | None] = mapped_column(String(16))
    stderr_tail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    phases: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)  # [{name,start,end}] unix s
    info: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    flags: Mapped[list[str] | None] = mapped_column(JSONType)
    series_key: Mapped[str | None] = mapped_column(String(32))  # 0003: see benchmark/contracts/identity.py

    __table_args__ = (
        UniqueConstraint("benchmark_id", "name", name="uq_scenario_runs_benchmark_id_name"),
        Index("ix_scenario_runs_series_key", "series_key"),
    )


class MetricRow(Base):
    """One figure of one scenario: its statistics and every raw sample."""

    __tablename__ = "metrics"

    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE", name="fk_metrics_benchmark_id"),
        nullable=False,
    )
    scenario_run_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("scenario_runs.scenario_run_id", ondelete="CASCADE", name="fk_metrics_scenario_run_id"),
        nullable=False,
    )
    scenario: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    unit: Mapped[str | None] = mapped_column(String(16))
    n: Mapped[int | None] = mapped_column(Integer)
    mean: Mapped[float | None] = mapped_column(Double)
    median: Mapped[float | None] = mapped_column(Double)
    p90: Mapped[float | None] = mapped_column(Double)
    p99: Mapped[float | None] = mapped_column(Double)
    min: Mapped[float | None] = mapped_column(Double)
    max: Mapped[float | None] = mapped_column(Double)
    stdev: Mapped[float | None] = mapped_column(Double)
    samples: Mapped[list[float] | None] = mapped_column(JSONType)
    series_key: Mapped[str | None] = mapped_column(String(32))  # 0003: the scenario run's
    direction: Mapped[str | None] = mapped_column(String(8))  # 0003: lower / higher / info (figures registry)
    # 0009: worker processes the samples come from, in equal shares (run/processes.py); NULL: one
    processes: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_metrics_series_key_name", "series_key", "name"),
        Index("ix_metrics_benchmark_id_name", "benchmark_id", "name"),
        Index("ix_metrics_name", "name"),
        Index("ix_metrics_scenario_run_id", "scenario_run_id"),  # for the cascade on delete
    )


class _FigureOfSeries:
    """Which figure of which series a change point or a report is about (0005, 0006)."""

    repository: Mapped[str] = mapped_column(String(512), nullable=False)  # '' for none
    branch: Mapped[str] = mapped_column(String(255), nullable=False)
    series_key: Mapped[str] = mapped_column(String(32), nullable=False)
    scenario: Mapped[str | None] = mapped_column(String(255))
    figure: Mapped[str] = mapped_column(String(128), nullable=False)
    gpu_name: Mapped[str | None] = mapped_column(String(255))
    model_id: Mapped[str | None] = mapped_column(String(512))


class ChangePoint(_FigureOfSeries, Base):
    """Where one figure of one series moved to a new level (`commitbench detect`, migration 0005)."""

    __tablename__ = "change_points"

    change_point_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commit_id: Mapped[str] = mapped_column(String(72), nullable=False)  # the first commit at the new level
    benchmark_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE", name="fk_change_points_benchmark_id"),
        nullable=False,
    )
    previous_commit_id: Mapped[str | None] = mapped_column(String(72))  # the last commit at the old level
    low_commit_id: Mapped[str | None] = mapped_column(String(72))  # the plausible range of the location
    high_commit_id: Mapped[str | None] = mapped_column(String(72))
    before: Mapped[float | None] = mapped_column(Double)
    after: Mapped[float | None] = mapped_column(Double)
    magnitude: Mapped[float | None] = mapped_column(Double)  # after / before - 1
    score: Mapped[float | None] = mapped_column(Double)
    direction: Mapped[str | None] = mapped_column(String(8))
    verdict: Mapped[str | None] = mapped_column(String(16))  # regression / improvement / change (info figures)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # detected / suspected / withdrawn
    detector: Mapped[str] = mapped_column(String(64), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("repository", "branch", "series_key", "figure", "commit_id", "detector",
                         name="uq_change_points_identity"),
        Index("ix_change_points_benchmark_id", "benchmark_id"),
        Index("ix_change_points_state", "state"),
    )


class RegressionReport(_FigureOfSeries, Base):
    """A regression change point as an object with a lifecycle (db/reports.py, migration 0006)."""

    __tablename__ = "regression_reports"

    report_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commit_id: Mapped[str] = mapped_column(String(72), nullable=False)  # the change point's commit
    previous_commit_id: Mapped[str | None] = mapped_column(String(72))
    benchmark_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE", name="fk_regression_reports_benchmark_id"),
        nullable=False,
    )
    change_point_id: Mapped[int | None] = mapped_column(
        Integer,
        ForeignKey("change_points.change_point_id", ondelete="SET NULL", name="fk_regression_reports_change_point_id"),
    )
    before: Mapped[float | None] = mapped_column(Double)
    after: Mapped[float | None] = mapped_column(Double)
    magnitude: Mapped[float | None] = mapped_column(Double)
    direction: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    first_bad_commit: Mapped[str | None] = mapped_column(String(72))
    evidence: Mapped[Any | None] = mapped_column(JSONType)
    accepted_by: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    fixed_by_commit: Mapped[str | None] = mapped_column(String(72))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    # 0011: who opened it (the change point detector and its version), and the series' newest
    # commit then: what `reports stats` grades the detector by
    detector: Mapped[str | None] = mapped_column(String(64))
    reported_commit_id: Mapped[str | None] = mapped_column(String(72))

    __table_args__ = (
        UniqueConstraint("repository", "branch", "series_key", "figure", "commit_id",
                         name="uq_regression_reports_identity"),
        Index("ix_regression_reports_state", "state"),
        Index("ix_regression_reports_benchmark_id", "benchmark_id"),
    )
