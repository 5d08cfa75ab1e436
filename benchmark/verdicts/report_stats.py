"""Stored regression reports -> the detector's grades (`commitbench reports stats`, `status`'s
headline, the HTML report's): db/report_stats.py reads, analysis/report_stats.py counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from db.query import unix
from db.report_stats import StatsInputs, fixed_at, series_of, stats_inputs

from ..analysis.report_stats import Grade, Median, ReportFacts, distance, grades, headline, overall
from ..analysis.staleness import parse_age
from ..contracts.escapes import aligned, printable

DEFAULT_SINCE = "90d"  # the window of `status`'s and the HTML report's headline, and `reports stats`' default


@dataclass(frozen=True)
class Graded:
    since: str | None  # as asked, e.g. 90d; None: every report
    overall: Grade
    groups: list[Grade]


def facts(inputs: StatsInputs) -> list[ReportFacts]:
    out = []
    for r in inputs.reports:
        order = inputs.orders.get(series_of(r), [])
        out.append(ReportFacts(
            detector=r.detector, figure=r.figure, state=r.state, step_at=unix(inputs.step_at.get(r.report_id)),
            reported_at=unix(r.created_at), fixed_at=unix(fixed_at(r.history)),
            commits_to_report=distance(order, r.commit_id, r.reported_commit_id),
            commits_to_fix=distance(order, r.reported_commit_id, r.fixed_by_commit)))
    return out


def graded(session: Session, since_s: float | None, since: str | None, now: datetime,
           repository: str | None = None, branch: str | None = None) -> Graded:
    """Reports opened in the `since_s` seconds before `now` (naive UTC; None: all), graded."""
    start = None if since_s is None else now - timedelta(seconds=since_s)
    found = facts(stats_inputs(session, start, repository, branch))
    return Graded(since, overall(found), grades(found))


def recent(session: Session, now: datetime, repository: str | None = None, branch: str | None = None) -> Graded:
    """The reports of the DEFAULT_SINCE window before `now`, graded: what the headlines show."""
    return graded(session, parse_age(DEFAULT_SINCE), DEFAULT_SINCE, now, repository, branch)


def headline_of(session: Session, now: datetime, repository: str | None = None, branch: str | None = None) -> str:
    """The one line `status` shows: every report of the window, graded ("none" when none)."""
    g = recent(session, now, repository, branch)
    return headline(g.overall, g.since)


def as_text(g: Graded) -> str:
    """The headline, then one row per detector version and figure."""
    out = [printable(headline(g.overall, g.since))]
    if g.groups:
        rows = [["DETECTOR", "FIGURE", "REPORTS", "WITHDRAWN", "STEP>REPORT COMMITS", "DAYS", "REPORT>FIX COMMITS",
                 "DAYS", "STATES"]]
        rows += [[x.detector, x.figure, str(x.reports), f"{x.withdrawn} ({x.withdrawn_share:.0%})",
                  _n(x.commits_to_report), _n(x.days_to_report, ".1f"), _n(x.commits_to_fix),
                  _n(x.days_to_fix, ".1f"), ", ".join(f"{s} {n}" for s, n in x.states.items())] for x in g.groups]
        out += aligned(rows)
    return "\n".join(out) + "\n"


def _n(m: Median, spec: str = "g") -> str:
    return "-" if m.value is None else format(m.value, spec)


MEDIANS = ("commits_to_report", "days_to_report", "commits_to_fix", "days_to_fix")


def as_json(g: Graded) -> str:
    def one(x: Grade) -> dict[str, Any]:
        return {"detector": x.detector, "figure": x.figure, "reports": x.reports, "states": x.states,
                "withdrawn": x.withdrawn, "withdrawn_share": x.withdrawn_share, "fixed": x.fixed,
                **{k: {"median": getattr(x, k).value, "n": getattr(x, k).n} for k in MEDIANS}}
    return json.dumps({"format": "commitbench.report-stats/1", "since": g.since, "headline": headline(g.overall, g.since),
                       "overall": one(g.overall), "groups": [one(x) for x in g.groups]}, indent=2) + "\n"
