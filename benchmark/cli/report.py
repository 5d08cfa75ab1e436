"""Write a self-contained HTML report: one file that opens in any browser, offline.

  commitbench report                         the latest run's branch, its newest 20 runs,
                                             beside the database (commitbench-report.html)
  commitbench report --branch main --limit 50 -o main.html

It shows the latest commit against the previous commit of the branch as `commitbench
compare` judges them (verdicts, intervals, the noise band), each series' key figures per
commit in commit order (failed and cancelled runs marked in red, invalid runs hollow), the
latest run's device timeline over its scenarios and phases, and the failed scenarios with
their reasons. Plots are inline SVG: no JavaScript, nothing loaded from the network.
Without -o the file goes beside the SQLite file, named after it (a server database's:
beside the default database), never into the working directory; `commitbench run` writes
the same file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards import html_report
from dashboards.html_data import NothingToReport

from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..flows.report import DEFAULT_LIMIT, report_path  # also what `run` leaves beside a SQLite file
from .common import (OUTPUT_EXIT_CODE, READ_EXIT_CODES, CommandError, add_db_argument, output_problem, reading,
                     write_file)
from .errors import error

EXIT_CODES = READ_EXIT_CODES | OUTPUT_EXIT_CODE  # docs/reference/exit-codes.md


MAX_LIMIT = 10_000  # a page of more runs than this is unreadable, and a huge int overflows the query


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", type=Path,
                   help="the HTML file to write (default: beside the SQLite file, named after it, e.g. "
                        "commitbench-report.html; - for stdout)")
    p.add_argument("--branch", help="the branch to report on (default: the latest run's)")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                   help=f"the newest N runs of the branch, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        return error(f"--limit must be 1 or more, got {args.limit}", exitcodes.BAD_INPUT)
    if args.limit > MAX_LIMIT:
        return error(f"--limit must be at most {MAX_LIMIT}, got {args.limit}", exitcodes.BAD_INPUT)
    to_stdout = str(args.output) == "-"
    named = args.output is not None
    if not named:  # never the working directory (usually a source tree): beside the database
        try:
            args.output = report_path(args.db)
        except CommandError as e:
            return error(str(e), e.code)
    problem = None if to_stdout or not named else output_problem(args.output)  # before the database is read
    if problem is not None:
        return error(f"--output {args.output}: {problem}", exitcodes.BAD_INPUT)
    try:
        with reading(args) as session:
            page = html_report.build(session, branch=args.branch, limit=args.limit)
    except CommandError as e:
        return error(str(e), e.code)
    except NothingToReport as e:
        return error(f"{e}: nothing to report", exitcodes.BAD_INPUT)
    if to_stdout:
        sys.stdout.write(page)
        return exitcodes.OK
    try:
        if not named:  # a server database's report goes where the default database lives, made if need be
            args.output.parent.mkdir(parents=True, exist_ok=True)
        write_file(args.output, page)
    except OSError as e:
        return error(f"--output {args.output}: {e.strerror or e}", exitcodes.OUTPUT_FAILED)
    except CommandError as e:
        return error(str(e), e.code)
    print(printable(f"wrote report: {args.output}"))
    return exitcodes.OK
