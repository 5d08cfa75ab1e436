"""Regression reports (migration 0006): a change point the worse way, as an object with a lifecycle.

  open       `commitbench detect` stored a regression change point (a step the worse way for
             its figure: slower, fewer tokens/s, more memory) that no report covers yet
  confirmed  the newest-commit mode's suspect was borne out by the runs after it (detect --newest)
  bisected   the first bad commit is named, with evidence (`reports bisected`, `bisect --report`)
  accepted   a deliberate trade-off: who, why, a link (`reports accept`); the branch's new level
  fixed      a later improvement step on the same series and figure took back at least
             FIX_FRACTION of the step (detect), or `reports fix --commit`
  withdrawn  detect no longer finds any regression point for it while it is open or confirmed
             (its runs were marked invalid, a suspect was not borne out); found again, it reopens

Open, confirmed and bisected are *active*: the branch's level moved and nobody has decided;
`commitbench compare` says so in every PR comment against that branch. `sync` derives the
automatic moves from the stored change points of one series' figure, every detector
together, so running detect twice over the same runs changes nothing. What a person
recorded (bisected, accepted, fixed by hand) is never undone by a scan. Every move is
appended to `history` as {"at", "state", "by", "note"}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Benchmark, ChangePoint, RegressionReport
from db.query import commit_order

OPEN, CONFIRMED, BISECTED, ACCEPTED, FIXED, WITHDRAWN = "open", "confirmed", "bisected", "accepted", "fixed", \
    "withdrawn"
STATES = (OPEN, CONFIRMED, BISECTED, ACCEPTED, FIXED, WITHDRAWN)
ACTIVE = (OPEN, CONFIRMED, BISECTED)
# Which state may follow which; a move not listed is refused (TransitionError).
ALLOWED = {
    OPEN: (CONFIRMED, BISECTED, ACCEPTED, FIXED, WITHDRAWN),
    CONFIRMED: (BISECTED, ACCEPTED, FIXED, WITHDRAWN),
    BISECTED: (BISECTED, ACCEPTED, FIXED),  # bisected again: newer evidence replaces the old
    ACCEPTED: (FIXED,),  # a trade-off someone later undid
    FIXED: (),
    WITHDRAWN: (OPEN,),
}
FIX_FRACTION = 0.5  # an improvement step that takes back at least half the regression fixes it
DETECT = "commitbench detect"


class TransitionError(ValueError):
    """A move the lifecycle does not allow; the message names the report and its state."""


class NoSuchReport(LookupError):
    pass


@dataclass(frozen=True)
class ReportView:
    """A stored report, detached from its session."""

    report_id: int
    repository: str
    branch: str
    series_key: str
    scenario: str | None
    figure: str
    gpu_name: str | None
    model_id: str | None
    commit_id: str
    previous_commit_id: str | None
    benchmark_id: int
    change_point_id: int | None
    before: float | None
    after: float | None
    magnitude: float | None
    direction: str | None
    state: str
    first_bad_commit: str | None
    evidence: Any
    accepted_by: str | None
    reason: str | None
    link: str | None
    fixed_by_commit: str | None
    history: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    detector: str | None = None  # the change point detector that opened it (0011)
    reported_commit_id: str | None = None  # the series' newest commit when it was opened (0011)


FIELDS = tuple(ReportView.__dataclass_fields__)


def view(row: RegressionReport) -> ReportView:
    return ReportView(**{k: getattr(row, k) for k in FIELDS})


@dataclass(frozen=True)
class ReportChanges:
    opened: int = 0
    confirmed: int = 0
    fixed: int = 0
    withdrawn: int = 0
    reopened: int = 0

    def __add__(self, other: ReportChanges) -> ReportChanges:
        return ReportChanges(*(getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def move(row: RegressionReport, state: str, by: str, note: str | None = None) -> None:
    """Change the state, or refuse with the report's number and what its state allows."""
    if state not in ALLOWED[row.state]:
        allowed = ", ".join(ALLOWED[row.state]) or "nothing: it is final"
        raise TransitionError(f"report #{row.report_id} is {row.state}: it cannot become {state} "
                              f"(from {row.state}: {allowed})")
    now = _now()
    row.state, row.updated_at = state, now
    # a new list: SQLAlchemy does not see a JSON value changed in place
    row.history = [*row.history, _entry(now, state, by, note)]


def _entry(at: datetime, state: str, by: str, note: str | None) -> dict[str, Any]:
    """One `history` item."""
    return {"at": at.isoformat(timespec="seconds") + "Z", "state": state, "by": by, "note": note}


def sync(session: Session, repository: str, branch: str, series_key: str, figure: str,
         order: Sequence[str]) -> ReportChanges:
    """Bring one series' figure's reports in line with its stored change points.

    `order` is the series' commits, oldest first: a point's plausible range
    (low..high commit) covers a report the other detector opened a commit or two away, so
    one step is one report."""
    key = dict(repository=repository, branch=branch, series_key=series_key, figure=figure)
    points = [p for p in session.scalars(select(ChangePoint).filter_by(**key)) if p.state != "withdrawn"]
    reports = list(session.scalars(select(RegressionReport).filter_by(**key).order_by(RegressionReport.report_id)))
    pos = {c: i for i, c in enumerate(order)}

    def at(commit: str | None) -> int | None:
        return pos.get(commit) if commit else None

    def covers(p: ChangePoint, r: RegressionReport) -> bool:
        if p.commit_id == r.commit_id:
            return True
        lo, hi, c = at(p.low_commit_id), at(p.high_commit_id), at(r.commit_id)
        return None not in (lo, hi, c) and lo <= c <= hi

    def after(p: ChangePoint, r: RegressionReport) -> bool:
        a, b = at(p.commit_id), at(r.commit_id)
        return a is not None and b is not None and a > b

    def ordered(verdict: str) -> list[ChangePoint]:
        return sorted((p for p in points if p.verdict == verdict), key=lambda p: (at(p.commit_id) or 0, p.commit_id))

    regressions, improvements = ordered("regression"), ordered("improvement")
    opened = confirmed = fixed = withdrawn = reopened = 0
    for p in regressions:
        r = next((r for r in reports if covers(p, r)), None)
        if r is None:
            r = _open(session, p, order[-1] if order else None)
            reports.append(r)
            opened += 1
        elif r.state == WITHDRAWN:
            move(r, OPEN, DETECT, f"found again ({p.detector})")
            reopened += 1
        if p.state == "confirmed" and r.state == OPEN:
            move(r, CONFIRMED, DETECT, "the newest commits' suspect was borne out by the runs after it")
            confirmed += 1
    for r in reports:
        if r.state in (OPEN, CONFIRMED) and not any(covers(p, r) for p in regressions):
            move(r, WITHDRAWN, DETECT, "no regression change point found here any more")
            withdrawn += 1
        elif r.state in ACTIVE:
            fix = next((p for p in improvements if after(p, r) and recovered(r, p.after) >= FIX_FRACTION), None)
            if fix is not None:
                r.fixed_by_commit = fix.commit_id
                move(r, FIXED, DETECT, f"an improvement step at {fix.commit_id[:12]} took the level back "
                                       f"({recovered(r, fix.after):.0%} of the step)")
                fixed += 1
    return ReportChanges(opened, confirmed, fixed, withdrawn, reopened)


def recovered(r: RegressionReport | ReportView, level: float | None) -> float:
    """How much of the report's step `level` takes back: 0 none, 1 all of it (NaN-safe: 0)."""
    if level is None or r.before is None or r.after is None or r.after == r.before:
        return 0.0
    frac = (r.after - level) / (r.after - r.before)
    return frac if frac == frac else 0.0


def _open(session: Session, p: ChangePoint, newest: str | None) -> RegressionReport:
    """A new open report of `p`; `newest`: the series' newest commit, what the detector had seen."""
    now = _now()
    row = RegressionReport(detector=p.detector, reported_commit_id=newest,
        repository=p.repository, branch=p.branch, series_key=p.series_key, scenario=p.scenario, figure=p.figure,
        gpu_name=p.gpu_name, model_id=p.model_id, commit_id=p.commit_id, previous_commit_id=p.previous_commit_id,
        benchmark_id=p.benchmark_id, change_point_id=p.change_point_id, before=p.before, after=p.after,
        magnitude=p.magnitude, direction=p.direction, state=OPEN, created_at=now, updated_at=now,
        history=[_entry(now, OPEN, DETECT, f"change point found by {p.detector}")])
    session.add(row)
    session.flush()  # the id, for the history's later moves and the output
    return row


def row_of(session: Session, report_id: int) -> RegressionReport:
    row = session.get(RegressionReport, report_id)
    if row is None:
        raise NoSuchReport(f"no regression report #{report_id}")
    return row


def get(session: Session, report_id: int, repository: str | None = None) -> ReportView:
    """Report #report_id (of `repository`, when given); NoSuchReport names what is wrong."""
    r = view(row_of(session, report_id))
    if repository is not None and r.repository != repository:
        raise NoSuchReport(f"report #{report_id} belongs to repository {r.repository!r}, not {repository!r}")
    return r


def may_become(r: RegressionReport | ReportView, state: str) -> bool:
    """Whether the lifecycle lets the report move to `state` now (move() refuses otherwise)."""
    return state in ALLOWED[r.state]


def accept(session: Session, report_id: int, by: str, reason: str, link: str | None = None) -> ReportView:
    row = row_of(session, report_id)
    move(row, ACCEPTED, by, reason)
    row.accepted_by, row.reason, row.link = by, reason, link
    return view(row)


def fix(session: Session, report_id: int, commit: str, by: str) -> ReportView:
    row = row_of(session, report_id)
    move(row, FIXED, by, f"fixed by {commit}")
    row.fixed_by_commit = commit
    return view(row)


def bisected(session: Session, report_id: int, commit: str, evidence: Any, by: str) -> ReportView:
    row = row_of(session, report_id)
    move(row, BISECTED, by, f"first bad commit {commit}")
    row.first_bad_commit, row.evidence = commit, evidence
    return view(row)


def listed(session: Session, branch: str | None = None, repository: str | None = None,
           states: Sequence[str] | None = None, series_keys: Sequence[str] | None = None,
           scenario: str | None = None, figure: str | None = None, gpu_name: str | None = None,
           model_id: str | None = None) -> list[ReportView]:
    stmt = select(RegressionReport)
    for column, value in ((RegressionReport.branch, branch), (RegressionReport.repository, repository),
                          (RegressionReport.scenario, scenario), (RegressionReport.figure, figure),
                          (RegressionReport.gpu_name, gpu_name), (RegressionReport.model_id, model_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if states is not None:
        stmt = stmt.where(RegressionReport.state.in_(list(states)))
    if series_keys is not None:
        stmt = stmt.where(RegressionReport.series_key.in_(list(series_keys) or [""]))
    return [view(r) for r in session.scalars(stmt.order_by(RegressionReport.report_id))]


def active_at(session: Session, branch: str, benchmark_ids: Sequence[int],
              series_keys: Sequence[str]) -> list[ReportView]:
    """Active reports of `branch` for these series that the runs `benchmark_ids` already sit
    after (in commit order): the level those runs show is the moved one. A report from a
    later commit than the runs says nothing of them."""
    runs = select(Benchmark.repository, commit_order().label("at")).where(
        Benchmark.benchmark_id.in_(list(benchmark_ids) or [-1])).subquery()
    newest = select(func.max(runs.c.at)).scalar_subquery()
    repositories = {r or "" for (r,) in session.execute(select(runs.c.repository).distinct())}
    stmt = (select(RegressionReport)
            .join(Benchmark, Benchmark.benchmark_id == RegressionReport.benchmark_id)
            .where(RegressionReport.branch == branch, RegressionReport.state.in_(list(ACTIVE)),
                   RegressionReport.repository.in_(sorted(repositories) or [""]),
                   RegressionReport.series_key.in_(list(series_keys) or [""]),
                   commit_order() <= newest)
            .order_by(RegressionReport.report_id))
    return [view(r) for r in session.scalars(stmt)]
