"""commitbench schema: run metadata, tagged device samples, scenario_runs, metrics

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-01

Additive only (new nullable columns, indices, tables), so seed rows are untouched and
SQLite needs no table copies (ADD COLUMN and CREATE INDEX work in place).
Never edit a migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.sqltypes import JSONType

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BENCHMARK_COLUMNS = [
    ("run_uid", sa.String(36)),
    ("status", sa.String(16)),
    ("error", sa.Text()),
    ("commit_message_full", sa.Text()),
    ("repository", sa.String(512)),
    ("model_id", sa.String(512)),
    ("synthetic", sa.Boolean()),
    ("gpu_count", sa.Integer()),
    ("config", JSONType),
    ("config_hash", sa.String(64)),
    ("environment", JSONType),
    ("started_at", sa.DateTime()),
    ("finished_at", sa.DateTime()),
]

DEVICE_COLUMNS = [
    ("scenario", sa.String(255)),
    ("phase", sa.String(64)),
    ("sm_clock_mhz", sa.Double()),
    ("power_watts", sa.Double()),
    ("temperature_c", sa.Double()),
    ("throttle_reasons", sa.BigInteger()),
]


def upgrade() -> None:
    for name, type_ in BENCHMARK_COLUMNS:
        op.add_column("benchmarks", sa.Column(name, type_, nullable=True))
    for name, type_ in DEVICE_COLUMNS:
        op.add_column("device_measurements", sa.Column(name, type_, nullable=True))

    op.create_index("ux_benchmarks_run_uid", "benchmarks", ["run_uid"], unique=True)
    op.create_index("ix_benchmarks_branch_created_at", "benchmarks", ["branch", "created_at"])
    op.create_index("ix_benchmarks_commit_id", "benchmarks", ["commit_id"])
    op.create_index("ix_benchmarks_gpu_name", "benchmarks", ["gpu_name"])
    op.create_index("ix_benchmarks_model_id", "benchmarks", ["model_id"])
    op.create_index("ix_benchmarks_created_at", "benchmarks", ["created_at"])
    op.create_index(
        "ix_device_measurements_benchmark_id_time", "device_measurements", ["benchmark_id", "time"]
    )
    op.create_index("ix_model_measurements_benchmark_id", "model_measurements", ["benchmark_id"])

    op.create_table(
        "scenario_runs",
        sa.Column("scenario_run_id", sa.Integer(), primary_key=True),
        sa.Column(
            "benchmark_id",
            sa.Integer(),
            sa.ForeignKey(
                "benchmarks.benchmark_id", ondelete="CASCADE", name="fk_scenario_runs_benchmark_id"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64)),
        sa.Column("params", JSONType),
        sa.Column("status", sa.String(16)),
        sa.Column("error", sa.Text()),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("signal", sa.String(16)),
        sa.Column("stderr_tail", sa.Text()),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("phases", JSONType),
        sa.Column("info", JSONType),
        sa.Column("flags", JSONType),
        sa.UniqueConstraint("benchmark_id", "name", name="uq_scenario_runs_benchmark_id_name"),
    )
    op.create_table(
        "metrics",
        sa.Column("metric_id", sa.Integer(), primary_key=True),
        sa.Column(
            "benchmark_id",
            sa.Integer(),
            sa.ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE", name="fk_metrics_benchmark_id"),
            nullable=False,
        ),
        sa.Column(
            "scenario_run_id",
            sa.Integer(),
            sa.ForeignKey(
                "scenario_runs.scenario_run_id", ondelete="CASCADE", name="fk_metrics_scenario_run_id"
            ),
            nullable=False,
        ),
        sa.Column("scenario", sa.String(255)),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("unit", sa.String(16)),
        sa.Column("n", sa.Integer()),
        sa.Column("mean", sa.Double()),
        sa.Column("median", sa.Double()),
        sa.Column("p90", sa.Double()),
        sa.Column("p99", sa.Double()),
        sa.Column("min", sa.Double()),
        sa.Column("max", sa.Double()),
        sa.Column("stdev", sa.Double()),
        sa.Column("samples", JSONType),
    )
    op.create_index("ix_metrics_benchmark_id_name", "metrics", ["benchmark_id", "name"])
    op.create_index("ix_metrics_name", "metrics", ["name"])
    op.create_index("ix_metrics_scenario_run_id", "metrics", ["scenario_run_id"])


def downgrade() -> None:
    op.drop_table("metrics")
    op.drop_table("scenario_runs")
    op.drop_index("ix_model_measurements_benchmark_id", table_name="model_measurements")
    op.drop_index("ix_device_measurements_benchmark_id_time", table_name="device_measurements")
    for name in (
        "ix_benchmarks_created_at",
        "ix_benchmarks_model_id",
        "ix_benchmarks_gpu_name",
        "ix_benchmarks_commit_id",
        "ix_benchmarks_branch_created_at",
        "ux_benchmarks_run_uid",
    ):
        op.drop_index(name, table_name="benchmarks")
    # SQLite cannot drop columns in place: batch mode copies the table there.
    with op.batch_alter_table("device_measurements") as batch:
        for name, _ in reversed(DEVICE_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("benchmarks") as batch:
        for name, _ in reversed(BENCHMARK_COLUMNS):
            batch.drop_column(name)
