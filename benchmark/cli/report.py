"""Write a self-contained HTML report: one file that opens in any browser, offline.

  commitbench report                         the latest run's branch, its newest 20 runs
  commitbench report --branch main --limit 50 -o main.html

It shows the latest run against the previous run of the branch (every figure, coloured by
which way is better), each series' key figures per commit in commit order (failed and
cancelled runs marked in red), the latest run's device timeline over its scenarios and
phases, and the failed scenarios with their reasons. Plots are inline SVG: no JavaScript,
nothing loaded from the network. `commitbench run` writes one beside its SQLite file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards import html_report
from dashboards.html_data import NothingToReport

from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..flows.report import DEFAULT_LIMIT  # also what `run` leaves beside a SQLite file
from .common import (OUTPUT_EXIT_CODE, READ_EXIT_CODES, CommandError, add_db_argument, output_problem, reading,
                     write_file)
from .errors import error

EXIT_CODES = READ_EXIT_CODES | OUTPUT_EXIT_CODE  # docs/reference/exit-codes.md


DEFAULT_OUTPUT = Path("commitbench-report.html")
MAX_LIMIT = 10_000  # a page of more runs than this is unreadable, and a huge int overflows the query


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT,
                   help=f"the HTML file to write (default ./{DEFAULT_OUTPUT}; - for stdout)")
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
    problem = None if to_stdout else output_problem(args.output)  # before the database is read
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
        write_file(args.output, page)
    except CommandError as e:
        return error(str(e), e.code)
    print(printable(f"wrote report: {args.output}"))
    return exitcodes.OK
