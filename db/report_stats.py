"""What `commitbench reports stats` reads: regression reports with the times and commit order
that grade the detector (the arithmetic is benchmark/analysis/report_stats.py's).

Per report: the stored report, its step's time (the commit time of the step's run, else when
that run started), and when it moved to fixed (its history). Per series the reports touch:
the commits of its counted runs in commit order, as detect reads them, so commit distances
(step to the newest commit detect had seen, that commit to the fix) are counted in the
commits the series measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.figures_read import COUNTED
from db.models import Benchmark, RegressionReport, ScenarioRun
from db.query import commit_order
from db.reports import FIXED, ReportView, view

SeriesId = tuple[str, str, str]  # (repository, '' for none; branch; series key)


@dataclass(frozen=True)
class StatsInputs:
    reports: list[ReportView]
    step_at: dict[int, datetime | None]  # report id -> the step's time
    orders: dict[SeriesId, list[str]]  # the series' commits, oldest first


def series_of(r: ReportView) -> SeriesId:
    return (r.repository, r.branch, r.series_key)


def stats_inputs(session: Session, since: datetime | None = None, repository: str | None = None,
                 branch: str | None = None) -> StatsInputs:
    """Reports opened at or after `since` (naive UTC; None: all), of `repository` and `branch` when given."""
    stmt = (select(RegressionReport, commit_order())
            .join(Benchmark, Benchmark.benchmark_id == RegressionReport.benchmark_id)
            .order_by(RegressionReport.report_id))
    if since is not None:
        stmt = stmt.where(RegressionReport.created_at >= since)
    if repository is not None:
        stmt = stmt.where(RegressionReport.repository == repository)
    if branch is not None:
        stmt = stmt.where(RegressionReport.branch == branch)
    reports, step_at = [], {}
    for row, at in session.execute(stmt):
        reports.append(view(row))
        step_at[row.report_id] = at
    orders = {s: series_order(session, *s) for s in sorted({series_of(r) for r in reports})}
    return StatsInputs(reports, step_at, orders)


def series_order(session: Session, repository: str, branch: str, series_key: str) -> list[str]:
    """The series' commits, oldest first: each at its first counted run's place in commit order."""
    first = func.min(commit_order())
    stmt = (select(Benchmark.commit_id, first)
            .join(ScenarioRun, ScenarioRun.benchmark_id == Benchmark.benchmark_id)
            .where(COUNTED, ScenarioRun.series_key == series_key, Benchmark.branch == branch,
                   func.coalesce(Benchmark.repository, "") == repository, Benchmark.commit_id.is_not(None))
            .group_by(Benchmark.commit_id)
            .order_by(first, Benchmark.commit_id))
    return [c for c, _ in session.execute(stmt)]


def fixed_at(history: Sequence[dict]) -> datetime | None:
    """When the report last moved to fixed (history times are ISO UTC with a Z), or None."""
    for h in reversed(history):
        if h.get("state") == FIXED and isinstance(h.get("at"), str):
            try:
                return datetime.fromisoformat(h["at"].removesuffix("Z"))
            except ValueError:
                return None
    return None
