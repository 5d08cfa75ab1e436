"""Stored change points (migration 0005): written idempotently by `commitbench detect`.

`sync` makes the stored set of one (repository, branch, series, figure, detector) equal to
what a scan found: a point found again is updated in place, a new one inserted, and one
no longer found marked `withdrawn` (kept, so what a dashboard showed stays explainable).
Re-running a scan over the same data changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.locks import serialize
from db.models import ChangePoint

# detected: offline, over the whole history; suspected: the newest-commit mode's evidence so
# far; confirmed: a suspect later commits bore out; withdrawn: no longer found.
DETECTED, SUSPECTED, CONFIRMED, WITHDRAWN = "detected", "suspected", "confirmed", "withdrawn"
STATES = (DETECTED, SUSPECTED, CONFIRMED, WITHDRAWN)


@dataclass(frozen=True)
class Where:
    """Which series' figure the points belong to."""

    repository: str
    branch: str
    series_key: str
    figure: str
    detector: str
    scenario: str | None = None
    gpu_name: str | None = None
    model_id: str | None = None


@dataclass(frozen=True)
class Found:
    commit_id: str
    benchmark_id: int
    previous_commit_id: str | None
    low_commit_id: str | None
    high_commit_id: str | None
    before: float
    after: float
    magnitude: float
    score: float
    direction: str | None
    verdict: str
    state: str  # DETECTED or SUSPECTED


@dataclass(frozen=True)
class Changes:
    inserted: int = 0
    updated: int = 0
    withdrawn: int = 0

    def __add__(self, other: Changes) -> Changes:
        return Changes(self.inserted + other.inserted, self.updated + other.updated, self.withdrawn + other.withdrawn)


FIELDS = ("benchmark_id", "previous_commit_id", "low_commit_id", "high_commit_id", "before", "after", "magnitude",
          "score", "direction", "verdict", "state")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _existing(session: Session, where: Where) -> dict[str, ChangePoint]:
    rows = session.scalars(select(ChangePoint).where(
        ChangePoint.repository == where.repository, ChangePoint.branch == where.branch,
        ChangePoint.series_key == where.series_key, ChangePoint.figure == where.figure,
        ChangePoint.detector == where.detector))
    return {r.commit_id: r for r in rows}


def sync(session: Session, where: Where, found: Sequence[Found], states: Sequence[str] = (DETECTED,)) -> Changes:
    """Store `found`; withdraw stored points in `states` that were not found again. Where two
    processes may write at once, `lock_series` first."""
    now, existing = _now(), _existing(session, where)
    inserted = updated = withdrawn = 0
    for f in found:
        row = existing.get(f.commit_id)
        values = {k: getattr(f, k) for k in FIELDS}
        if row is None:
            session.add(ChangePoint(repository=where.repository, branch=where.branch, series_key=where.series_key,
                                    figure=where.figure, detector=where.detector, scenario=where.scenario,
                                    gpu_name=where.gpu_name, model_id=where.model_id, commit_id=f.commit_id,
                                    detected_at=now, updated_at=now, **values))
            inserted += 1
        elif any(_differs(getattr(row, k), v) for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
            updated += 1
    seen = {f.commit_id for f in found}
    for commit, row in existing.items():
        if commit not in seen and row.state in states:
            row.state, row.updated_at = WITHDRAWN, now
            withdrawn += 1
    return Changes(inserted, updated, withdrawn)


def lock_series(session: Session, wheres: Iterable[Where]) -> None:
    """Serialize the writers of these series' figures (their change points and reports): two
    `detect` at once both inserted the same point, and the unique key failed one of them. The
    second now waits for the first to commit, then finds its points. In sorted order (see
    db.locks); the key leaves the detector out, as the reports do."""
    for key in sorted({(w.repository, w.branch, w.series_key, w.figure) for w in wheres}):
        serialize(session, "change_points", *key)


def _differs(old: object, new: object) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) > 1e-12 * max(abs(old), abs(new), 1e-300)
    return old != new


@dataclass(frozen=True)
class Stored:
    where: Where
    found: Found
    detected_at: datetime
    updated_at: datetime


def listed(session: Session, branch: str | None = None, repository: str | None = None,
           states: Sequence[str] = (DETECTED, SUSPECTED, CONFIRMED)) -> list[Stored]:
    stmt = select(ChangePoint).where(ChangePoint.state.in_(list(states)))
    if branch is not None:
        stmt = stmt.where(ChangePoint.branch == branch)
    if repository is not None:
        stmt = stmt.where(ChangePoint.repository == repository)
    return [Stored(Where(r.repository, r.branch, r.series_key, r.figure, r.detector, r.scenario, r.gpu_name,
                         r.model_id),
                   Found(commit_id=r.commit_id, **{k: getattr(r, k) for k in FIELDS}),
                   r.detected_at, r.updated_at)
            for r in session.scalars(stmt.order_by(ChangePoint.branch, ChangePoint.scenario, ChangePoint.figure,
                                                   ChangePoint.change_point_id))]
