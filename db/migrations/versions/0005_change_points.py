"""change points: where a figure of a series moved to a new level, found by `commitbench detect`

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

- change_points: one row per (repository, branch, series, figure, commit, detector): the
  first commit at the new level, the levels before and after, the relative magnitude, the
  detector's score and its plausible location range, and a state. `commitbench detect`
  writes them idempotently (the unique key), and a later scan that no longer finds one
  marks it `withdrawn` rather than deleting it, so an annotation someone saw does not
  silently disappear. States: `detected` (offline, over the whole history), `suspected`
  (newest-commit mode: evidence so far), `confirmed` (a suspect later commits bore out),
  `withdrawn`.
- The reader role gets SELECT on it (db/reader.py grants every read table that exists).

Additive only. Never edit a migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.reader import ensure_reader

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_points",
        sa.Column("change_point_id", sa.Integer(), primary_key=True),
        sa.Column("repository", sa.String(512), nullable=False),  # '' for none: part of the unique key
        sa.Column("branch", sa.String(255), nullable=False),
        sa.Column("series_key", sa.String(32), nullable=False),
        sa.Column("scenario", sa.String(255)),
        sa.Column("figure", sa.String(128), nullable=False),
        sa.Column("gpu_name", sa.String(255)),
        sa.Column("model_id", sa.String(512)),
        sa.Column("commit_id", sa.String(72), nullable=False),
        sa.Column("benchmark_id", sa.Integer(),
                  sa.ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE", name="fk_change_points_benchmark_id"),
                  nullable=False),
        sa.Column("previous_commit_id", sa.String(72)),
        sa.Column("low_commit_id", sa.String(72)),
        sa.Column("high_commit_id", sa.String(72)),
        sa.Column("before", sa.Double()),
        sa.Column("after", sa.Double()),
        sa.Column("magnitude", sa.Double()),
        sa.Column("score", sa.Double()),
        sa.Column("direction", sa.String(8)),
        sa.Column("verdict", sa.String(16)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detector", sa.String(64), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repository", "branch", "series_key", "figure", "commit_id", "detector",
                            name="uq_change_points_identity"),
    )
    op.create_index("ix_change_points_benchmark_id", "change_points", ["benchmark_id"])
    op.create_index("ix_change_points_state", "change_points", ["state"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        ensure_reader(bind)


def downgrade() -> None:
    op.drop_index("ix_change_points_state", table_name="change_points")
    op.drop_index("ix_change_points_benchmark_id", table_name="change_points")
    op.drop_table("change_points")
