"""mask credentials in stored command lines

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07


benchmarks.environment.command is a run's command line, kept for provenance. Until now it was
kept as typed, so `commitbench run --db postgresql://user:PASSWORD@host/db` stored the password
(readable by the Grafana reader role, and printed by `export --format json`). A run now stores
it masked (benchmark/contracts/secrets.py `masked_argv`); this masks the runs stored before:
a URL's password becomes ***, and so does the value of a credential option. Nothing else of a
row changes; a command without a secret is left as it is.

Downgrade keeps the masked commands: a password once removed is not put back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from benchmark.contracts.secrets import masked_argv
from db.sqltypes import JSONType

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BENCHMARKS = sa.table("benchmarks", sa.column("benchmark_id", sa.Integer), sa.column("environment", JSONType))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(BENCHMARKS.c.benchmark_id, BENCHMARKS.c.environment)
                        .where(BENCHMARKS.c.environment.is_not(None))).all()
    for benchmark_id, environment in rows:
        command = environment.get("command") if isinstance(environment, dict) else None
        if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
            continue
        masked = list(masked_argv(command))
        if masked != command:
            bind.execute(BENCHMARKS.update().where(BENCHMARKS.c.benchmark_id == benchmark_id)
                         .values(environment=environment | {"command": masked}))


def downgrade() -> None:
    pass  # the masked commands stay masked
