"""Is benchmarking alive? Every branch and runner's newest run, for a scheduled workflow.

  commitbench status                       every (repository, branch, runner) in the database
  commitbench status --branch main --max-age 2d --max-failures 3 --format json

A branch/runner is stale when its newest finished run is older than --max-age (default
$COMMITBENCH_MAX_AGE, else 7d), failing when its newest --max-failures finished runs failed
in a row (default 3; cancelled runs are skipped). No runs at all (or none of --branch) is
stale: silence must never read as "no regressions". Runs still marked running are counted
beside, never as fresh. Below the first line: the detector's grade over the last 90 days
(`commitbench reports stats` has the whole table); it changes no exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from db import query

from ..analysis.staleness import Health, age_text, judge, parse_age
from ..contracts import exitcodes
from ..contracts.escapes import aligned, printable
from ..verdicts import report_stats
from .common import OUTPUT_EXIT_CODE, CommandError, add_db_argument, check_output, reading, store_for, write_output
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "every one healthy",
    exitcodes.STALE: "one or more stale or failing (or no runs)",
    exitcodes.BAD_INPUT: "bad input",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    **OUTPUT_EXIT_CODE,  # -o
}


MAX_AGE_ENV = "COMMITBENCH_MAX_AGE"
DEFAULT_MAX_AGE = "7d"
FORMATS = ("text", "json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--branch", help="only this branch")
    p.add_argument("--repository", help="only this repository")
    p.add_argument("--max-age", help=f"e.g. 2d, 12h, 90m (default ${MAX_AGE_ENV}, else {DEFAULT_MAX_AGE})")
    p.add_argument("--max-failures", type=int, default=3, help="failed runs in a row that make a runner failing "
                   "(default 3)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        max_age_s, max_age = _max_age(args.max_age)
        if not 1 <= args.max_failures <= 1000:
            raise CommandError(f"--max-failures must be an integer from 1 to 1000, got {args.max_failures}",
                               exitcodes.BAD_INPUT)
        check_output(args.output)
        missing = _missing_sqlite(args)
        graded = None  # the reports' headline
        if missing:
            found = []
        else:
            with reading(args) as session:
                found = query.runner_runs(session, args.branch, args.repository)
                graded = report_stats.headline_of(session, datetime.now(timezone.utc).replace(tzinfo=None),
                                                  repository=args.repository, branch=args.branch)
    except CommandError as e:
        return error(str(e), e.code)
    now = time.time()
    judged = [(g, judge(g.latest_finished, g.statuses, now, max_age_s, args.max_failures)) for g in found]
    empty = missing or f"no runs stored{_scope(args)}"
    shown = (_json if args.format == "json" else _text)(judged, empty, max_age, args.max_failures, graded)
    try:
        write_output(args.output, shown)
    except CommandError as e:
        return error(str(e), e.code)
    return exitcodes.OK if judged and all(h.healthy for _, h in judged) else exitcodes.STALE


def _max_age(option: str | None) -> tuple[float, str]:
    env = os.environ.get(MAX_AGE_ENV)
    where, value = ("--max-age", option) if option is not None else \
        (f"${MAX_AGE_ENV}", env) if env else ("--max-age", DEFAULT_MAX_AGE)
    try:
        return parse_age(value), value.strip()
    except ValueError as e:
        raise CommandError(f"{where}: {e}", exitcodes.BAD_INPUT) from None


def _missing_sqlite(args: argparse.Namespace) -> str | None:
    """A SQLite file that does not exist holds no runs: stale, and it is not created."""
    store = store_for(args)
    try:
        url = store.engine.url
        if url.get_backend_name() == "sqlite" and not Path(url.database).expanduser().is_file():
            return f"no runs stored: {url.database} does not exist"
        return None
    finally:
        store.close()


def _scope(args: argparse.Namespace) -> str:
    parts = [f"branch {args.branch!r}" if args.branch else "", f"repository {args.repository!r}"
             if args.repository else ""]
    return (" for " + " and ".join(p for p in parts if p)) if any(parts) else ""


def _text(judged: list[tuple[query.RunnerRuns, Health]], empty: str, max_age: str, max_failures: int,
          graded: str | None) -> str:
    reports = [] if graded is None else [printable(graded)]
    if not judged:
        return "\n".join([printable(f"stale: {empty}"), *reports]) + "\n"
    bad = sum(1 for _, h in judged if not h.healthy)
    out = [f"{'stale' if bad else 'ok'}: {bad} of {len(judged)} branch/runner{'s' if len(judged) != 1 else ''} "
           f"stale or failing (max age {max_age}, max failures in a row {max_failures})", *reports]
    rows = [["REPOSITORY", "BRANCH", "RUNNER", "GPU", "NEWEST", "AGE", "FAILED", "RUNNING", "STATE", "WHY"]]
    for g, h in judged:
        rows.append([g.repository or "-", g.branch or "-", g.runner_host or "-", g.gpu_name or "-",
                     (g.latest_commit or "-")[:12], "-" if h.age_s is None else age_text(h.age_s), str(h.failures),
                     str(g.running), h.state, "; ".join(h.reasons)])
    out += aligned(rows)
    return "\n".join(out) + "\n"


def _json(judged: list[tuple[query.RunnerRuns, Health]], empty: str, max_age: str, max_failures: int,
          graded: str | None) -> str:
    doc = {"format": "commitbench.status/1", "healthy": bool(judged) and all(h.healthy for _, h in judged),
           "max_age": max_age, "max_failures": max_failures, "problem": None if judged else empty, "reports": graded,
           "runners": [{"repository": g.repository, "branch": g.branch, "runner_host": g.runner_host,
                        "gpu_name": g.gpu_name, "newest_commit": g.latest_commit,
                        "newest_finished_at": g.latest_finished, "age_s": h.age_s,
                        "failures_in_a_row": h.failures, "running": g.running, "state": h.state,
                        "reasons": list(h.reasons)} for g, h in judged]}
    return json.dumps(doc, indent=2) + "\n"
