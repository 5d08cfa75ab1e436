"""metrics.processes: how many worker processes a figure's samples come from

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`commitbench run --processes K` measures each scenario in K worker processes, one after
another, and stores them as one run: a figure's samples are the processes' samples
concatenated process by process in equal shares (benchmark/run/processes.py), and
metrics.processes says how many shares. NULL means one process: every row stored before
this, and every figure of a one-process run (so a default run stores exactly what it did).
The reader role's grants need no renewal: new columns of granted tables are readable.

Additive only, nothing backfilled. Downgrade drops the column only while no row needs it:
with a figure of several processes stored, the older schema would read its repetitions as
one process's, so it refuses (delete those runs, or stay at 0009). Never edit a migration
once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("metrics", sa.Column("processes", sa.Integer(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT COUNT(*) FROM metrics WHERE processes IS NOT NULL")).scalar_one()
    if rows:
        raise RuntimeError(f"{rows} metrics rows hold figures of several worker processes (metrics.processes): "
                           "schema 0008 would read them as one process's; delete those runs before downgrading")
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0007's downgrade
    op.execute("ALTER TABLE metrics DROP COLUMN processes")
