"""History in commit order.

  commitbench history                       runs, newest commit first
  commitbench history --series-list         the series stored, with their keys
  commitbench history --scenario NAME --metric FIGURE
  commitbench history --series KEY --metric FIGURE
                                            one figure of one series, oldest commit first,
                                            with a bar per commit

Filters: --branch, --repository, --commit (a prefix), --limit. A run left `running` by a
runner that is gone shows as `stale` (see `commitbench db close-stale`).
"""

from __future__ import annotations

import argparse
import socket

from db import query

from ..contracts import exitcodes
from ..contracts.escapes import aligned, printable
from ..contracts.figures import FIGURES
from ..contracts.units import fmt, processes_note, when
from ..flows.read import series_named
from .common import READ_EXIT_CODES, CommandError, add_db_argument, pid_alive, reading
from .errors import error

EXIT_CODES = READ_EXIT_CODES  # docs/reference/exit-codes.md


BAR = 24  # characters of the widest bar
MAX_LIMIT = 1_000_000  # runs: more than any history holds, and far inside 64 bits
INVALID_NOTE = "INVALID runs are left out of compare and detect (`commitbench show RUN` says why)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--branch")
    p.add_argument("--repository")
    p.add_argument("--commit", help="runs of commits starting with this")
    p.add_argument("--limit", type=int, default=20, help=f"newest N (default 20, at most {MAX_LIMIT}; 0: all)")
    p.add_argument("--metric", help="a figure's name (docs/reference/figures.md lists them): show its history")
    p.add_argument("--scenario", help="with --metric: the scenario's name, e.g. compiled_decode")
    p.add_argument("--series", help="with --metric: the series key (or a prefix of it)")
    p.add_argument("--series-list", action="store_true", help="list the series stored")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.limit <= MAX_LIMIT:  # a limit beyond 64 bits overflowed the query
        return error(f"--limit must be 0 (all) or 1 to {MAX_LIMIT}, got {str(args.limit)[:40]}", exitcodes.BAD_INPUT)
    if args.metric is not None and args.metric not in FIGURES:
        return error(f"unknown figure {args.metric!r} (docs/reference/figures.md lists them)", exitcodes.BAD_INPUT)
    if args.metric is not None and (args.scenario is None) == (args.series is None):
        return error("--metric needs one of --scenario NAME or --series KEY", exitcodes.BAD_INPUT)
    if args.metric is None and (args.scenario or args.series) and not args.series_list:
        return error("--scenario and --series go with --metric (or --series-list)", exitcodes.BAD_INPUT)
    try:
        with reading(args) as session:
            if args.series_list:
                return _series_list(session, args)
            if args.metric is not None:
                return _figure(session, args)
            return _runs(session, args)
    except CommandError as e:
        return error(str(e), e.code)


def table(rows: list[list[str]]) -> None:
    for line in aligned(rows):
        print(line)


def _runs(session, args: argparse.Namespace) -> int:
    found = query.runs(session, branch=args.branch, repository=args.repository, commit=args.commit,
                       limit=args.limit or None, host=socket.gethostname(), alive=pid_alive)
    if not found:
        print("no runs stored" + (f" for branch {args.branch}" if args.branch else ""))
        return exitcodes.OK
    rows = [["COMMIT", "COMMITTED (UTC)", "BRANCH", "STATE", "MODEL", "DEVICE", "TORCH", "TRANSFORMERS", "RUN",
             "MESSAGE"]]
    for r in found:
        message = (r.commit_message or "").splitlines()[0] if r.commit_message else ""
        rows.append([(r.commit_id or "")[:12], when(r.commit_time or r.started_at), r.branch or "",
                     (r.state or "") + (" INVALID" if r.valid is False else ""), r.model_id or "", r.gpu_name or "",
                     r.torch or "-", r.transformers or "-", (r.run_uid or f"#{r.benchmark_id}")[:8],
                     message[:50]])
    table(rows)
    if any(r.valid is False for r in found):
        print(INVALID_NOTE)
    return exitcodes.OK


def _series_list(session, args: argparse.Namespace) -> int:
    found = query.series(session, branch=args.branch, repository=args.repository,
                         scenario=args.scenario or args.series)
    if not found:
        print("no series stored")
        return exitcodes.OK
    rows = [["SERIES", "SCENARIO", "MODEL", "DEVICE", "RUNS"]]
    rows += [[s.series_key, s.scenario, s.model_id or "", s.gpu_name or "", str(s.runs)] for s in found]
    table(rows)
    return exitcodes.OK


def resolve_series(session, args: argparse.Namespace) -> query.SeriesInfo:
    return series_named(session, branch=args.branch, repository=args.repository, scenario=args.scenario,
                        series=args.series)


def _figure(session, args: argparse.Namespace) -> int:
    s = resolve_series(session, args)
    points = query.series_history(session, s.series_key, args.metric, branch=args.branch,
                                  repository=args.repository, limit=args.limit or None)
    figure = FIGURES[args.metric]
    better = {"lower": "lower is better", "higher": "higher is better"}.get(figure.direction, "informational")
    print(printable(f"{args.metric} of {s.scenario} ({s.model_id} on {s.gpu_name}; series {s.series_key})"
                    f" - {better}"))
    if not points:
        print("no values stored for this figure")
        return exitcodes.OK
    medians = [p.stats.median for p in points if p.stats is not None]
    hi = max(medians, default=0.0)
    rows = [["COMMIT", "COMMITTED (UTC)", "MEDIAN", "P90", "MIN", "N", "", "RUN", "VALID"]]
    for p in points:
        st = p.stats
        valid = "INVALID" if p.valid is False else ""  # as plain `history` marks the run
        if st is None:
            rows.append([(p.commit_id or "")[:12], when(p.commit_time or p.started_at), "-", "-", "-", "0",
                         p.status or "", (p.run_uid or "")[:8], valid])
            continue
        rows.append([(p.commit_id or "")[:12], when(p.commit_time or p.started_at), fmt(st.median, figure.unit),
                     fmt(st.p90, figure.unit), fmt(st.min, figure.unit), str(st.n) + processes_note(p.processes),
                     _bar(st.median, hi),
                     (p.run_uid or "")[:8], valid])
    table(rows)
    if any(p.valid is False for p in points):
        print(INVALID_NOTE)
    return exitcodes.OK


def _bar(value: float, hi: float) -> str:
    """A bar from zero, BAR cells for the largest median, in eighths of a cell: a change
    looks as large as it is (a bar from the smallest value would make noise look like a cliff)."""
    eighths = round(value / hi * BAR * 8) if hi > 0 else 0
    full, part = divmod(max(eighths, 0), 8)
    return "\u2588" * full + (" \u258f\u258e\u258d\u258c\u258b\u258a\u2589"[part] if part else "")

