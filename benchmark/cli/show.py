"""Show one stored run: every scenario and figure, its series keys, the 13 figures of
transformers' v4.46 benchmark (model_measurements).

RUN is a run id (or 4+ of its first characters), `#N` for the row with benchmark_id N
(runs stored by transformers' v4.46 benchmark have no run id), or `latest` (of --branch, if given)."""

from __future__ import annotations

import argparse


from ..contracts import exitcodes
from ..flows.read import run_named
from .common import READ_EXIT_CODES, CommandError, add_db_argument, reading
from .errors import error
from .table import print_result

EXIT_CODES = READ_EXIT_CODES  # docs/reference/exit-codes.md


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run id or prefix, #BENCHMARK_ID, or latest")
    p.add_argument("--branch", help="with `latest`: the latest run of this branch")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        with reading(args) as session:
            result = run_named(session, args.run, args.branch)
            print_result(result, series=True)
    except CommandError as e:
        return error(str(e), e.code)
    return exitcodes.OK
