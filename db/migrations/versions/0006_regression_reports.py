"""regression reports: a regression change point as a stored object with a lifecycle

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

- regression_reports: one row per (repository, branch, series, figure, commit) where a
  figure moved the worse way (db/reports.py). It keeps what the change point said (commit,
  levels, magnitude; `change_point_id` the point it came from, NULL if that row is gone),
  a state (open, confirmed, bisected, accepted, fixed, withdrawn), the first bad commit and
  its evidence once bisected, who accepted it, why, and a link, the commit that fixed it,
  and `history`: every state change as {"at", "state", "by", "note"}, oldest first.
- The reader role gets SELECT on it (the dashboards annotate open and accepted reports).

Additive only. Never edit a migration once it exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.reader import ensure_reader
from db.sqltypes import JSONType

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regression_reports",
        sa.Column("report_id", sa.Integer(), primary_key=True),
        sa.Column("repository", sa.String(512), nullable=False),  # '' for none: part of the unique key
        sa.Column("branch", sa.String(255), nullable=False),
        sa.Column("series_key", sa.String(32), nullable=False),
        sa.Column("scenario", sa.String(255)),
        sa.Column("figure", sa.String(128), nullable=False),
        sa.Column("gpu_name", sa.String(255)),
        sa.Column("model_id", sa.String(512)),
        sa.Column("commit_id", sa.String(72), nullable=False),
        sa.Column("previous_commit_id", sa.String(72)),
        sa.Column("benchmark_id", sa.Integer(),
                  sa.ForeignKey("benchmarks.benchmark_id", ondelete="CASCADE",
                                name="fk_regression_reports_benchmark_id"), nullable=False),
        sa.Column("change_point_id", sa.Integer(),
                  sa.ForeignKey("change_points.change_point_id", ondelete="SET NULL",
                                name="fk_regression_reports_change_point_id")),
        sa.Column("before", sa.Double()),
        sa.Column("after", sa.Double()),
        sa.Column("magnitude", sa.Double()),
        sa.Column("direction", sa.String(8)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("first_bad_commit", sa.String(72)),
        sa.Column("evidence", JSONType),
        sa.Column("accepted_by", sa.String(255)),
        sa.Column("reason", sa.Text()),
        sa.Column("link", sa.Text()),
        sa.Column("fixed_by_commit", sa.String(72)),
        sa.Column("history", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repository", "branch", "series_key", "figure", "commit_id",
                            name="uq_regression_reports_identity"),
    )
    op.create_index("ix_regression_reports_state", "regression_reports", ["state"])
    op.create_index("ix_regression_reports_benchmark_id", "regression_reports", ["benchmark_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        ensure_reader(bind)


def downgrade() -> None:
    op.drop_index("ix_regression_reports_benchmark_id", table_name="regression_reports")
    op.drop_index("ix_regression_reports_state", table_name="regression_reports")
    op.drop_table("regression_reports")
