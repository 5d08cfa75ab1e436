"""series identity, commit order, runner liveness

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

- scenario_runs.series_key and metrics.series_key: the scenario's identity hashed
  (benchmark/contracts/identity.py), indexed, so a figure's history is one index lookup
  whatever the matrix order or spelling of the runs. Backfilled from what every stored run
  has: its model, environment (device, GPU or CPU name), scenario kind and parameters.
  A local checkpoint's key is now its directory name and config; runs stored before this
  revision key it by its path (the config is not in the database), so its history starts
  anew here.
- metrics.direction from the figures registry, backfilled by name.
- benchmarks.commit_time / commit_parents (from git; unknown for earlier runs, which
  history orders by when they started), and runner_host / runner_pid / heartbeat_at, so a
  run whose runner died is recognisable. runner_host is backfilled from the environment.

Additive only (nullable columns and indices), so nothing is copied or lost.
Never edit a migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from benchmark.contracts import figures, identity
from db.sqltypes import JSONType

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BENCHMARK_COLUMNS = [
    ("commit_time", sa.DateTime()),
    ("commit_parents", JSONType),
    ("runner_host", sa.String(255)),
    ("runner_pid", sa.Integer()),
    ("heartbeat_at", sa.DateTime()),
]

benchmarks = sa.table(
    "benchmarks", sa.column("benchmark_id", sa.Integer), sa.column("model_id", sa.String),
    sa.column("environment", JSONType), sa.column("runner_host", sa.String))
scenario_runs = sa.table(
    "scenario_runs", sa.column("scenario_run_id", sa.Integer), sa.column("benchmark_id", sa.Integer),
    sa.column("kind", sa.String), sa.column("params", JSONType), sa.column("series_key", sa.String))
metrics = sa.table(
    "metrics", sa.column("scenario_run_id", sa.Integer), sa.column("name", sa.String),
    sa.column("series_key", sa.String), sa.column("direction", sa.String))


def upgrade() -> None:
    for name, type_ in BENCHMARK_COLUMNS:
        op.add_column("benchmarks", sa.Column(name, type_, nullable=True))
    op.add_column("scenario_runs", sa.Column("series_key", sa.String(32), nullable=True))
    op.add_column("metrics", sa.Column("series_key", sa.String(32), nullable=True))
    op.add_column("metrics", sa.Column("direction", sa.String(8), nullable=True))
    op.create_index("ix_benchmarks_branch_commit_time", "benchmarks", ["branch", "commit_time"])
    op.create_index("ix_benchmarks_status", "benchmarks", ["status"])
    op.create_index("ix_scenario_runs_series_key", "scenario_runs", ["series_key"])
    op.create_index("ix_metrics_series_key_name", "metrics", ["series_key", "name"])
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    runs = {r.benchmark_id: r for r in conn.execute(
        sa.select(benchmarks.c.benchmark_id, benchmarks.c.model_id, benchmarks.c.environment))}
    for r in runs.values():
        host = (r.environment or {}).get("hostname") if isinstance(r.environment, dict) else None
        if host:
            conn.execute(benchmarks.update().where(benchmarks.c.benchmark_id == r.benchmark_id)
                         .values(runner_host=str(host)[:255]))
    rows = conn.execute(sa.select(scenario_runs.c.scenario_run_id, scenario_runs.c.benchmark_id,
                                  scenario_runs.c.kind, scenario_runs.c.params)).all()
    for s in rows:
        run = runs.get(s.benchmark_id)
        if run is None or not s.kind or not isinstance(s.params, dict):
            continue
        env = run.environment if isinstance(run.environment, dict) else {}
        key = identity.key_of(run.model_id or "unknown", env, s.kind, s.params)
        conn.execute(scenario_runs.update().where(scenario_runs.c.scenario_run_id == s.scenario_run_id)
                     .values(series_key=key))
        conn.execute(metrics.update().where(metrics.c.scenario_run_id == s.scenario_run_id)
                     .values(series_key=key))
    for f in figures.FIGURES.values():
        conn.execute(metrics.update().where(metrics.c.name == f.name).values(direction=f.direction))


def downgrade() -> None:
    op.drop_index("ix_metrics_series_key_name", table_name="metrics")
    op.drop_index("ix_scenario_runs_series_key", table_name="scenario_runs")
    op.drop_index("ix_benchmarks_status", table_name="benchmarks")
    op.drop_index("ix_benchmarks_branch_commit_time", table_name="benchmarks")
    with op.batch_alter_table("metrics") as batch:
        batch.drop_column("direction")
        batch.drop_column("series_key")
    with op.batch_alter_table("scenario_runs") as batch:
        batch.drop_column("series_key")
    with op.batch_alter_table("benchmarks") as batch:
        for name, _ in reversed(BENCHMARK_COLUMNS):
            batch.drop_column(name)
