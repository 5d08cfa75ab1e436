"""seed baseline: the three tables of the seed's plain SQL file (db/seed_schema.sql)

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Databases created by the seed are stamped at this revision instead of running it.
Never edit a migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.sqltypes import JSONType, utcnow

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Integer primary keys render as SERIAL on PostgreSQL, rowid aliases on SQLite.
    op.create_table(
        "benchmarks",
        sa.Column("benchmark_id", sa.Integer(), primary_key=True),
        sa.Column("branch", sa.String(255)),
        sa.Column("commit_id", sa.String(72)),
        sa.Column("commit_message", sa.String(70)),
        sa.Column("gpu_name", sa.String(255)),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=utcnow()),
    )
    op.create_table(
        "device_measurements",
        sa.Column("measurement_id", sa.Integer(), primary_key=True),
        sa.Column("benchmark_id", sa.Integer(), sa.ForeignKey("benchmarks.benchmark_id")),
        sa.Column("cpu_util", sa.Double()),
        sa.Column("mem_megabytes", sa.Double()),
        sa.Column("gpu_util", sa.Double()),
        sa.Column("gpu_mem_megabytes", sa.Double()),
        sa.Column("time", sa.DateTime(), nullable=False, server_default=utcnow()),
    )
    op.create_table(
        "model_measurements",
        sa.Column("measurement_id", sa.Integer(), primary_key=True),
        sa.Column("benchmark_id", sa.Integer(), sa.ForeignKey("benchmarks.benchmark_id")),
        sa.Column("measurements", JSONType),
        sa.Column("time", sa.DateTime(), nullable=False, server_default=utcnow()),
    )


def downgrade() -> None:
    op.drop_table("model_measurements")
    op.drop_table("device_measurements")
    op.drop_table("benchmarks")
