"""A detector that grades itself: regression reports' outcomes, per detector version and figure.

Every report ends where the project itself judged it (db/reports.py): withdrawn is a false
alarm (detect no longer finds the step), fixed, accepted, bisected and confirmed are real
steps. Per group: how many reports, the share withdrawn, and the medians of how long the
step waited for its report (commits of the series measured after the step, and days from
the step's commit to the report) and how long the report waited for its fix (commits from
the newest commit the detector had seen to the fixing commit, and days from the report to
its move to fixed). A fix already in the history when the report was made waited 0 commits.
Pure: facts in, named numbers out; the reading is db/report_stats.py's.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DAY = 86400.0
WITHDRAWN, FIXED = "withdrawn", "fixed"  # db/reports.py's state names
ALL = "all"  # the detector and figure of the headline, every report together
UNKNOWN = "unknown"  # a report stored before its detector was recorded (0011) and without a note naming it


@dataclass(frozen=True)
class ReportFacts:
    """One report as the grading needs it (times are unix seconds; None where not known)."""

    detector: str | None
    figure: str
    state: str
    step_at: float | None  # the step's commit time (its run's start where the commit time is unknown)
    reported_at: float  # when the report was opened
    fixed_at: float | None = None  # when it moved to fixed
    commits_to_report: int | None = None
    commits_to_fix: int | None = None


@dataclass(frozen=True)
class Median:
    """The median of the reports that have the value, and how many do."""

    value: float | None
    n: int


@dataclass(frozen=True)
class Grade:
    detector: str
    figure: str
    reports: int
    states: dict[str, int] = field(default_factory=dict)
    commits_to_report: Median = Median(None, 0)
    days_to_report: Median = Median(None, 0)
    commits_to_fix: Median = Median(None, 0)
    days_to_fix: Median = Median(None, 0)

    @property
    def withdrawn(self) -> int:
        return self.states.get(WITHDRAWN, 0)

    @property
    def withdrawn_share(self) -> float | None:
        return self.withdrawn / self.reports if self.reports else None

    @property
    def fixed(self) -> int:
        return self.states.get(FIXED, 0)


def distance(order: Sequence[str], start: str | None, end: str | None) -> int | None:
    """Commits from `start` to `end` in the series' commit order, oldest first (0 where `end`
    is not after `start`); None where either is not in it."""
    pos = {c: i for i, c in enumerate(order)}
    if start not in pos or end not in pos:
        return None
    return max(0, pos[end] - pos[start])


def grade(facts: Iterable[ReportFacts], detector: str, figure: str) -> Grade:
    """One group's grade (the caller chose which reports are the group)."""
    facts = list(facts)
    states: dict[str, int] = {}
    for f in facts:
        states[f.state] = states.get(f.state, 0) + 1

    def median(values: Iterable[float | None]) -> Median:
        known = [v for v in values if v is not None]
        return Median(statistics.median(known) if known else None, len(known))

    fixed = [f for f in facts if f.state == FIXED]
    return Grade(
        detector=detector, figure=figure, reports=len(facts), states=dict(sorted(states.items())),
        commits_to_report=median(f.commits_to_report for f in facts),
        days_to_report=median(None if f.step_at is None else max(0.0, f.reported_at - f.step_at) / DAY
                              for f in facts),
        commits_to_fix=median(f.commits_to_fix for f in fixed),
        days_to_fix=median(None if f.fixed_at is None else max(0.0, f.fixed_at - f.reported_at) / DAY
                           for f in fixed))


def grades(facts: Iterable[ReportFacts]) -> list[Grade]:
    """Per (detector version, figure), sorted by both."""
    groups: dict[tuple[str, str], list[ReportFacts]] = {}
    for f in facts:
        groups.setdefault((f.detector or UNKNOWN, f.figure), []).append(f)
    return [grade(fs, d, fig) for (d, fig), fs in sorted(groups.items())]


def overall(facts: Iterable[ReportFacts]) -> Grade:
    """Every report together: the headline's numbers."""
    return grade(facts, ALL, ALL)


def number(m: Median, unit: str) -> str:
    """'3 commits', '1.5 days', '-' where no report has the value."""
    if m.value is None:
        return "-"
    v = m.value
    if unit == "commits":
        return f"{v:g} commit" + ("" if v == 1 else "s")
    return f"{v:.1f} {unit}"


def headline(g: Grade, since: str | None) -> str:
    """One line: `reports (90d): 12, 2 withdrawn (17%); step to report: median 3 commits,
    1.5 days; report to fix: median 4 commits, 6.0 days (3 fixed)`."""
    scope = f"reports ({since})" if since else "reports"
    if not g.reports:
        return f"{scope}: none"
    share = g.withdrawn_share or 0.0
    return (f"{scope}: {g.reports}, {g.withdrawn} withdrawn ({share:.0%}); step to report: median "
            f"{number(g.commits_to_report, 'commits')}, {number(g.days_to_report, 'days')}; report to fix: median "
            f"{number(g.commits_to_fix, 'commits')}, {number(g.days_to_fix, 'days')} ({g.fixed} fixed)")
