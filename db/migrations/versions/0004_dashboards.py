"""dashboards: a time axis, the roofline's inputs, a per-run figures view, a read-only role

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- benchmarks.plotted_at: where a run sits on a time axis, its commit time, else when it
  started (else created_at). A plain indexed column, because Grafana's `$__timeFilter`
  must filter on one; COALESCE in every panel would scan. Backfilled; the store sets it.
- benchmarks.weight_bytes and memory_bandwidth_bytes_per_s: the model's weight bytes and
  the device's copy bandwidth (bytes read + written per second), measured once per run,
  so the decode roofline (weight bytes / bandwidth per step) can be drawn.
- view run_figures: one row per figure of a run with the run's identity beside it, what
  the per-commit panels read (never device_measurements).
- PostgreSQL only: role commitbench_reader (NOLOGIN until `commitbench db upgrade` sets a
  password from COMMITBENCH_READER_PASSWORD) with CONNECT on this database, USAGE on the
  schema and SELECT on the tables Grafana reads, nothing else. A role is cluster-wide: it
  is created once and granted per database. A user without CREATEROLE skips the creation
  (see db/reader.py: every `db upgrade` grants again, so a role created later by an admin
  gets its grants then).

Additive only. Never edit a migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.reader import READER_ROLE, READ_TABLES, ensure_reader

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


BENCHMARK_COLUMNS = [
    ("plotted_at", sa.DateTime()),
    ("weight_bytes", sa.BigInteger()),
    ("memory_bandwidth_bytes_per_s", sa.Double()),
]

RUN_FIGURES = """
CREATE VIEW run_figures AS
SELECT b.plotted_at AS time, b.benchmark_id, b.run_uid, b.status AS run_status,
       COALESCE(b.repository, '') AS repository, b.branch, b.commit_id, b.commit_message,
       COALESCE(b.gpu_name, 'cpu') AS gpu, b.model_id,
       m.scenario, m.series_key, m.name AS figure, m.unit, m.direction,
       m.n, m.mean, m.median, m.p90, m.p99, m.min, m.max, m.stdev
FROM metrics m JOIN benchmarks b ON b.benchmark_id = m.benchmark_id
"""


def upgrade() -> None:
    for name, type_ in BENCHMARK_COLUMNS:
        op.add_column("benchmarks", sa.Column(name, type_, nullable=True))
    op.execute("UPDATE benchmarks SET plotted_at = COALESCE(commit_time, started_at, created_at)")
    op.create_index("ix_benchmarks_plotted_at", "benchmarks", ["plotted_at"])
    op.execute(RUN_FIGURES)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        ensure_reader(bind)  # no password here: `db upgrade` sets it from the environment


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        exists = bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}).scalar()
        if exists:
            bind.execute(sa.text(f"REVOKE ALL ON {', '.join(READ_TABLES)} FROM {READER_ROLE}"))
    op.execute("DROP VIEW run_figures")
    op.drop_index("ix_benchmarks_plotted_at", table_name="benchmarks")
    with op.batch_alter_table("benchmarks") as batch:
        for name, _ in reversed(BENCHMARK_COLUMNS):
            batch.drop_column(name)
