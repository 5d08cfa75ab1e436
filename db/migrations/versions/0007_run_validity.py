"""run validity and provenance: why a run is left out of analysis, what it replays, what else ran

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01


- benchmarks.valid: NULL not evaluated (every run stored before this), true, or false: the
  device samples of its measured phases broke a validity rule (benchmark/analysis/validity.py).
  An invalid run is kept and shown, but compare and detect leave it out.
- benchmarks.invalid_reasons: the violations, [{rule, detail, scenario, phase}]; [] when valid.
- benchmarks.validity_rules: the rules it was judged by (`commitbench validate` re-judges a
  run by them unless given others).
- benchmarks.replay_of: the run_uid of the run this one replays (`commitbench replay`).
- device_measurements.cpu_other_util (other processes' CPU, percent of one core) and
  gpu_other_processes (other compute processes on the GPU): what the sampler now also reads.
- The reader role's grants are renewed (new columns of granted tables are readable already).

Additive only, nothing backfilled (an old run is "not evaluated", not "valid"). Never edit a
migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.reader import ensure_reader
from db.sqltypes import JSONType

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = [
    ("benchmarks", "valid", sa.Boolean()),
    ("benchmarks", "invalid_reasons", JSONType),
    ("benchmarks", "validity_rules", JSONType),
    ("benchmarks", "replay_of", sa.String(36)),
    ("device_measurements", "cpu_other_util", sa.Double()),
    ("device_measurements", "gpu_other_processes", sa.Integer()),
]


def upgrade() -> None:
    for table, name, type_ in COLUMNS:
        op.add_column(table, sa.Column(name, type_, nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        ensure_reader(bind)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of benchmarks would
    # have to drop and recreate the run_figures view over it.
    for table, name, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
