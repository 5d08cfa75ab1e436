"""`commitbench detect` without the printing: stored histories -> change points.

Every series (repository, branch, series key) and figure, in commit order, one point per
commit: the commit's runs pooled (every run's repetitions), its scalar the median of those
repetitions. A commit whose scenario failed or was cancelled, or whose run was marked
invalid, is kept as an invalid point: never a change point itself, and left out of the
levels. Checks (`bool`) and tallies (`count`) are not scanned: any change in them is
already a verdict of `compare`. The p99 of pooled per-token figures is tested jointly
with their median. The derived series (verdicts/derived.py: compile speedups, break-even
tokens) are scanned too, one value per run that has both inputs; a commit whose compiled
scenario ran without giving a value is an invalid point.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import reports
from db.change_points import CONFIRMED, DETECTED, SUSPECTED, Changes, Found, Where, lock_series, sync
from db.figures_read import ScenarioPoints, scenario_points
from db.models import Benchmark

from ..analysis.changepoints import DetectOptions, detect
from ..analysis.online import newest
from ..contracts.figures import FIGURES, HIGHER, LOWER
from . import derived

DETECTOR = "commitbench/1"
ONLINE = "commitbench-newest/1"
SCANNED_UNITS = ("s", "tokens/s", "bytes", "ratio", "J")
LEVEL_COMMITS = 20  # a suspect's level before it: the median of at most this many commits


@dataclass
class Commit:
    commit_id: str
    benchmark_id: int  # the commit's newest run
    reps: list[float] = field(default_factory=list)  # every succeeded run's repetitions
    p99: list[float] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Some run of the commit measured the figure (the others failed, were cancelled or skipped)."""
        return bool(self.reps)

    @property
    def value(self) -> float | None:
        return statistics.median(self.reps) if self.reps else None


@dataclass
class Series:
    where: Where
    unit: str
    direction: str
    commits: list[Commit]

    @property
    def pooled(self) -> bool:
        return bool(self.commits) and all(c.p99 for c in self.commits if c.valid)


@dataclass
class Flagged:
    series: Series
    found: Found


def groups(session: Session, branch: str | None, repository: str | None) -> list[tuple[str | None, str]]:
    stmt = select(Benchmark.repository, Benchmark.branch).where(Benchmark.branch.is_not(None)).distinct()
    if branch is not None:
        stmt = stmt.where(Benchmark.branch == branch)
    if repository is not None:
        stmt = stmt.where(Benchmark.repository == repository)
    return sorted(session.execute(stmt).all(), key=lambda g: (g[0] or "", g[1]))


def invalid_runs(session: Session, repository: str | None, branch: str) -> int:
    """Runs of the branch its validity rules marked invalid: histories() leaves them out."""
    repo = Benchmark.repository == repository if repository is not None else Benchmark.repository.is_(None)
    return session.scalar(select(func.count()).select_from(Benchmark).where(
        Benchmark.branch == branch, repo, Benchmark.valid.is_(False))) or 0


def histories(session: Session, repository: str | None, branch: str) -> list[Series]:
    repo = Benchmark.repository == repository if repository is not None else Benchmark.repository.is_(None)
    finished = Benchmark.status.in_(("succeeded", "failed", "cancelled"))
    points = scenario_points(session, Benchmark.branch == branch, repo, finished)
    return list(_series(points, repository or "", branch)) + list(_derived(points, repository or "", branch))


def _derived(points: list[ScenarioPoints], repository: str, branch: str) -> Iterable[Series]:
    pairs = derived.pairs(points)
    values = {(derived.key(e, c), e.benchmark_id): derived.values(e, c) for e, c in pairs}
    newest = {derived.key(e, c): c for e, c in pairs}  # names the series after its newest compiled scenario
    for key, compiled in newest.items():
        for name, fig in derived.DERIVED.items():
            commits: dict[str, Commit] = {}
            for sp in points:  # commit order; a commit counts where the compiled scenario ran
                if sp.series_key != compiled.series_key:
                    continue
                commit = sp.commit_id or f"#{sp.benchmark_id}"
                c = commits.setdefault(commit, Commit(commit, sp.benchmark_id))
                c.benchmark_id = sp.benchmark_id
                if (v := values.get((key, sp.benchmark_id), {}).get(name)) is not None:
                    c.reps.append(v)
            if any(c.valid for c in commits.values()):
                yield Series(Where(repository, branch, key, name, DETECTOR, f"{derived.SCENARIO}:{compiled.scenario}",
                                   compiled.gpu_name, compiled.model_id), fig.unit, fig.direction,
                             list(commits.values()))


def _series(points: Iterable[ScenarioPoints], repository: str, branch: str) -> Iterable[Series]:
    by_key: dict[str, list[ScenarioPoints]] = {}
    for sp in points:
        if sp.series_key:
            by_key.setdefault(sp.series_key, []).append(sp)
    for key, sps in by_key.items():
        names = sorted({n for sp in sps for n in sp.figures})
        for name in names:
            fig = FIGURES.get(name)
            if fig is None or fig.unit not in SCANNED_UNITS:
                continue
            commits: dict[str, Commit] = {}
            for sp in sps:  # commit order: a commit's runs are adjacent
                commit = sp.commit_id or f"#{sp.benchmark_id}"
                c = commits.setdefault(commit, Commit(commit, sp.benchmark_id))
                c.benchmark_id = sp.benchmark_id
                p = sp.figures.get(name)
                if not sp.succeeded or p is None or not p.samples:
                    continue
                reps = p.reps
                c.reps += [statistics.median(r) for r in reps]
                if any(len(r) > 1 for r in reps) and p.p99 is not None:
                    c.p99.append(p.p99)
            first = sps[-1]
            yield Series(Where(repository, branch, key, name, DETECTOR, first.scenario, first.gpu_name,
                               first.model_id), fig.unit, fig.direction, list(commits.values()))


def _verdict(direction: str, magnitude: float) -> str:
    if direction == LOWER:
        return "regression" if magnitude > 0 else "improvement"
    if direction == HIGHER:
        return "regression" if magnitude < 0 else "improvement"
    return "change"


def _found(s: Series, index: int, before: float, after: float, magnitude: float, score: float, low: int,
           high: int, state: str) -> Found:
    cs = s.commits
    return Found(commit_id=cs[index].commit_id, benchmark_id=cs[index].benchmark_id,
                 previous_commit_id=cs[index - 1].commit_id if index > 0 else None,
                 low_commit_id=cs[max(low, 0)].commit_id, high_commit_id=cs[min(high, len(cs) - 1)].commit_id,
                 before=before, after=after, magnitude=magnitude, score=score, direction=s.direction,
                 verdict=_verdict(s.direction, magnitude), state=state)


def _inputs(s: Series) -> dict:
    return dict(values=[c.value for c in s.commits], reps=[c.reps if c.valid else None for c in s.commits],
                valid=[c.valid for c in s.commits])


def scan(s: Series, options: DetectOptions) -> list[Found]:
    p99 = [statistics.median(c.p99) if c.p99 and c.valid else None for c in s.commits] if s.pooled else None
    return [_found(s, cp.index, cp.before, cp.after, cp.magnitude, cp.score, cp.low, cp.high, DETECTED)
            for cp in detect(**_inputs(s), options=options, p99=p99)]


def suspect(s: Series) -> Found | None:
    """The newest-commit mode: is one of the last commits already a suspected step?"""
    found = newest(**_inputs(s))
    if found is None or found.state == "withdrawn":
        return None
    return _found(s, found.index, _level(s.commits[:found.index][-LEVEL_COMMITS:]), _level(s.commits[found.index:]),
                  found.magnitude, found.score, found.index, found.index,
                  CONFIRMED if found.state == "confirmed" else SUSPECTED)


def _level(commits: list[Commit]) -> float:
    """The median of these commits' values (NaN where none has one)."""
    values = [v for c in commits if (v := c.value) is not None]
    return statistics.median(values) if values else float("nan")


def lock(session: Session, series: Iterable[Series]) -> None:
    """Before storing any of them: wait for another detect storing these series (PostgreSQL)."""
    lock_series(session, (s.where for s in series))


def store_offline(session: Session, s: Series, found: list[Found]) -> Changes:
    return sync(session, s.where, found, states=(DETECTED,))


def store_online(session: Session, s: Series, found: Found | None) -> Changes:
    where = Where(**{**s.where.__dict__, "detector": ONLINE})
    return sync(session, where, [found] if found else [], states=(SUSPECTED,))


def store_reports(session: Session, s: Series) -> reports.ReportChanges:
    """After its change points are stored: the series' figure's regression reports follow them."""
    w = s.where
    return reports.sync(session, w.repository, w.branch, w.series_key, w.figure, [c.commit_id for c in s.commits])
