"""What got slower (`commitbench explain`): the stored profiles of two refs' runs, diffed.

Both REFs resolve as compare's do (db/figures_read.resolve_ref: a branch's latest commit with
every run of it, a commit, a run). Each side's profiles of a scenario (one per profiled run:
`run --profile`, every run of `ab` and `bisect`) are combined operator by operator
(analysis/profile_diff.combine), and the figure the profile explains (contracts/profile
TOKEN_TIME_FIGURE) is each side's median over its runs' samples: its change per token is
what each operator's share is of. Returns `Explained`s or raises a Failure (2 bad input,
3 database unavailable, 9 no scenario profiled on both sides); never prints.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from db import query
from db.figures_read import NoRuns, RefRuns, resolve_ref

from ..analysis.profile_diff import Explanation, Floor, combine, diff
from ..contracts import codec, exitcodes
from ..contracts.profile import TOKEN_TIME_FIGURE, ProfileSummary, token_seconds
from ..contracts.result import RunResult
from .errors import Failure
from .store import reading


@dataclass(frozen=True)
class Request:
    base: str
    head: str
    scenario: str | None = None  # a scenario's name; None: every scenario profiled on both sides
    repository: str | None = None


@dataclass
class Side:
    label: str  # the ref as resolved (branch@commit, short commit, run id)
    runs: int  # profiled runs of this scenario
    summary: ProfileSummary  # combined over those runs
    figure_secs: float | None  # the median of the figure's samples over those runs
    traces: list[str]  # the Chrome trace files, where they were kept


@dataclass
class Explained:
    scenario: str
    figure: str | None
    base: Side
    head: Side
    explanation: Explanation


def explain(db: str | None, request: Request, floor: Floor = Floor()) -> list[Explained]:
    with reading(db) as session:
        return explain_in(session, request, floor)


def explain_in(session, request: Request, floor: Floor = Floor()) -> list[Explained]:
    """`explain` in a read session already open (compare's, to explain its regressions)."""
    base_ref, base_runs = _side(session, request.base, request.repository, "--base")
    head_ref, head_runs = _side(session, request.head, request.repository, "--head")
    return of_results(base_ref.label, base_runs, head_ref.label, head_runs, request.scenario, floor)


def of_results(base_label: str, base_runs: list[RunResult], head_label: str, head_runs: list[RunResult],
               scenario: str | None = None, floor: Floor = Floor()) -> list[Explained]:
    """`explain` of runs already read, each side named by its label (bisect's: the runs it made
    of the last good and the first bad commit)."""
    base, head = _profiled(base_runs), _profiled(head_runs)
    both = [name for name in base if name in head]
    if scenario is not None:
        if scenario not in both:
            lacking = ", ".join(f"{side} {label}" for side, label, found in (("base", base_label, base),
                                                                            ("head", head_label, head))
                                if scenario not in found)
            raise Failure(f"--scenario {scenario!r}: not profiled on both sides (no profile on {lacking}; "
                          f"profiled on both: {', '.join(both) or 'none'})", exitcodes.BAD_INPUT)
        both = [scenario]
    if not both:
        raise Failure(f"no scenario has a profile on both sides (base {base_label}: "
                      f"{', '.join(base) or 'none'}; head {head_label}: {', '.join(head) or 'none'}): "
                      "profile them with `commitbench run --profile` (ab and bisect profile by default)",
                      exitcodes.NOT_COMPARABLE)
    out = []
    for name in both:
        b = _side_of(base_label, base[name])
        h = _side_of(head_label, head[name])
        figure = TOKEN_TIME_FIGURE.get(base[name][0][0].kind)
        delta = None if b.figure_secs is None or h.figure_secs is None else (h.figure_secs - b.figure_secs) * 1e6
        out.append(Explained(name, figure, b, h, diff(b.summary, h.summary, delta, floor)))
    return out


def of_stored_runs(db: str | None, base: tuple[str, list[str]], head: tuple[str, list[str]],
                   scenario: str) -> list[Explained]:
    """`of_results` of stored runs named by their uids, each side a (label, uids): bisect's."""
    with reading(db) as session:
        try:
            runs = [[query.get_run(session, uid) for uid in uids] for _, uids in (base, head)]
        except query.NotFound as e:
            raise Failure(f"a run is not in the database ({e})", exitcodes.NOT_COMPARABLE) from None
    return of_results(base[0], runs[0], head[0], runs[1], scenario)


def _side(session, ref: str, repository: str | None, option: str) -> tuple[RefRuns, list[RunResult]]:
    try:
        found = resolve_ref(session, ref, repository)
    except query.NotFound as e:
        raise Failure(f"{option} {ref}: {e}", exitcodes.BAD_INPUT) from None
    except NoRuns as e:
        raise Failure(f"{option} {ref}: {e}", exitcodes.NOT_COMPARABLE) from None
    return found, [query.get_run(session, f"#{i}") for i in found.benchmark_ids]


def _profiled(runs: list[RunResult]) -> dict[str, list[tuple]]:
    """scenario name -> [(scenario, its profile)] over the runs that profiled it."""
    out: dict[str, list[tuple]] = {}
    for run in runs:
        for s in run.scenarios:
            try:
                summary = ProfileSummary.from_info(s.info)
            except codec.DecodeError as e:
                raise Failure(f"run {run.run_uid[:8]} {s.name}: a damaged profile: {e}", exitcodes.BAD_INPUT) from None
            if summary is not None:
                out.setdefault(s.name, []).append((s, summary))
    return out


def _side_of(label: str, found: list[tuple]) -> Side:
    figure = TOKEN_TIME_FIGURE.get(found[0][0].kind)
    samples = [token_seconds(figure, v, s.params) for s, _ in found if (m := s.metric(figure or "")) is not None
               for v in m.samples]
    return Side(label, len(found), combine([p for _, p in found]), statistics.median(samples) if samples else None,
                [p.trace for _, p in found if p.trace])


def for_regressions(session, base: str, head: str, repository: str | None, regressed: set[str]) -> list[Explained]:
    """compare's section: the explanations of its regressed scenarios (names) where both sides
    have profiles; none where they have not (a comparison never fails for want of a profile)."""
    if not regressed:
        return []
    try:
        return [x for x in explain_in(session, Request(base, head, None, repository)) if x.scenario in regressed]
    except Failure:
        return []
