"""regression_reports.detector and .reported_commit_id: what `reports stats` grades

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07

`commitbench reports stats` grades the detector by its own reports: per detector version,
how many were later withdrawn, and how many commits and days it took from the step to the
report. Two columns make that readable:

- detector: the change point detector (and its version, e.g. `commitbench/1`) that opened
  the report. Backfilled from the change point the report came from, else from the
  report's first history note ("change point found by commitbench/1"), which db/reports.py
  has written since 0006; NULL where neither says.
- reported_commit_id: the series' newest commit when the report was opened (what the
  detector had seen). Backfilled with the newest commit (in commit order) of the series'
  runs stored at or before the report's creation: the runs detect could have read then.

Additive: no row is deleted or changed beyond the two new columns. Downgrade drops them.
Never edit a migration once it exists. (Revises 0009 on this branch: where a 0010 exists,
this one follows it.)
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

NOTE = "change point found by "


def upgrade() -> None:
    op.add_column("regression_reports", sa.Column("detector", sa.String(64), nullable=True))
    op.add_column("regression_reports", sa.Column("reported_commit_id", sa.String(72), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT r.report_id, c.detector, r.history, r.repository, r.branch, r.series_key, r.created_at "
        "FROM regression_reports r LEFT JOIN change_points c ON c.change_point_id = r.change_point_id")).all()
    newest = sa.text(
        "SELECT b.commit_id FROM benchmarks b WHERE COALESCE(b.repository, '') = :repository "
        "AND b.branch = :branch AND b.created_at <= :created_at AND b.commit_id IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM scenario_runs s WHERE s.benchmark_id = b.benchmark_id "
        "AND s.series_key = :series_key) "
        "ORDER BY COALESCE(b.commit_time, b.started_at, b.created_at) DESC, b.benchmark_id DESC LIMIT 1")
    for report_id, detector, history, repository, branch, series_key, created_at in rows:
        commit = bind.execute(newest, dict(repository=repository, branch=branch, created_at=created_at,
                                           series_key=series_key)).scalar()
        bind.execute(sa.text("UPDATE regression_reports SET detector = :d, reported_commit_id = :c "
                             "WHERE report_id = :id"),
                     dict(d=detector or _from_history(history), c=commit, id=report_id))


def _from_history(history: object) -> str | None:
    """The detector db/reports.py named in the report's first history note."""
    if isinstance(history, str):
        history = json.loads(history)
    first = history[0] if isinstance(history, list) and history else {}
    note = first.get("note") if isinstance(first, dict) else None
    return note[len(NOTE):][:64] if isinstance(note, str) and note.startswith(NOTE) else None


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0007's downgrade
    op.execute("ALTER TABLE regression_reports DROP COLUMN reported_commit_id")
    op.execute("ALTER TABLE regression_reports DROP COLUMN detector")
