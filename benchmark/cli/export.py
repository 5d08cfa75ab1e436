"""Export stored figures for notebooks and spreadsheets.

  commitbench export RUN --format json     the whole run, as `run --json` writes it
  commitbench export RUN --format csv      one row per figure of the run
  commitbench export --scenario NAME [--metric FIGURE] --format csv|json
  commitbench export --series KEY [--metric FIGURE] --format csv|json
                                           a series' history in commit order: one row per
                                           run and figure (every figure without --metric)

CSV rows carry the run, commit, commit time (ISO 8601, UTC), scenario, series key, figure,
unit, direction, the statistics and the raw samples (space-separated). RUN is as for
`commitbench show`. Output goes to stdout, or to -o FILE.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from db import query

from ..contracts import codec, exitcodes
from ..contracts.figures import FIGURES
from ..flows.read import run_named, series_named
from .common import OUTPUT_EXIT_CODE, READ_EXIT_CODES, CommandError, add_db_argument, check_output, reading, write_file
from .errors import error

EXIT_CODES = READ_EXIT_CODES | OUTPUT_EXIT_CODE  # docs/reference/exit-codes.md


COLUMNS = ["run_uid", "branch", "commit_id", "commit_time", "scenario", "series_key", "metric", "unit",
           "direction", "n", "mean", "median", "p90", "p99", "min", "max", "stdev", "samples",
           "processes"]  # the worker processes the samples come from, in equal shares (run --processes)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", metavar="RUN", help="run id or prefix, #BENCHMARK_ID, or latest")
    p.add_argument("--format", choices=("csv", "json"), required=True)
    p.add_argument("--scenario", help="a series by its scenario's name")
    p.add_argument("--series", help="a series by its key (or a prefix of it)")
    p.add_argument("--metric", help="with a series: only this figure")
    p.add_argument("--branch", help="only runs of this branch")
    p.add_argument("--repository", help="only runs of this repository")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.scenario is None and args.series is None):
        return error("give a RUN, or a series (--scenario NAME or --series KEY), not both", exitcodes.BAD_INPUT)
    if args.metric is not None and args.metric not in FIGURES:
        return error(f"unknown figure {args.metric!r} (docs/reference/figures.md lists them)", exitcodes.BAD_INPUT)
    try:
        check_output(args.output)
        with reading(args) as session:
            text = _run(session, args) if args.run is not None else _series(session, args)
        if args.output is None:
            print(text, end="")
        else:
            write_file(args.output, text)
    except CommandError as e:
        return error(str(e), e.code)
    return exitcodes.OK


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _row(run_uid, branch, commit_id, commit_time, scenario, series_key, metric, unit, stats, samples,
         processes) -> list:
    figure = FIGURES.get(metric)
    values = [getattr(stats, k) if stats else "" for k in ("n", "mean", "median", "p90", "p99", "min", "max", "stdev")]
    return [run_uid, branch, commit_id, _iso(commit_time), scenario, series_key or "", metric, unit or "",
            figure.direction if figure else "", *values, " ".join(repr(v) for v in samples), processes]


# OWASP's CSV injection rule: a text cell a spreadsheet would run as a formula (a branch named
# `=HYPERLINK(...)`) is written with a leading single quote. Our own numbers (a negative mean,
# the samples' list) are numbers, not formulas, and are left as they are.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBERS = re.compile(r"-?(?:\d[\d.e+-]*|inf|nan)(?: -?(?:\d[\d.e+-]*|inf|nan))*")


def cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBERS.fullmatch(value):
        return "'" + value
    return value


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buf.getvalue()


def _run(session, args: argparse.Namespace) -> str:
    result = run_named(session, args.run, args.branch)
    if args.format == "json":
        return result.to_json() + "\n"
    return _csv([_row(result.run_uid, result.branch, result.commit_id, result.commit_time, s.name, s.series_key,
                      m.name, m.unit, m.stats, m.samples, m.processes) for s in result.scenarios for m in s.metrics])


def _series(session, args: argparse.Namespace) -> str:
    s = series_named(session, branch=args.branch, repository=args.repository, scenario=args.scenario,
                     series=args.series)
    metrics = [args.metric] if args.metric else query.series_metrics(session, s.series_key)
    points = [p for m in metrics for p in query.series_history(session, s.series_key, m, branch=args.branch,
                                                                repository=args.repository)]
    if args.format == "json":
        return json.dumps({"series_key": s.series_key, "scenario": s.scenario, "model_id": s.model_id,
                           "device": s.gpu_name, "points": codec.encode(points)}, indent=1, allow_nan=False) + "\n"
    return _csv([_row(p.run_uid, p.branch, p.commit_id, p.commit_time, p.scenario, s.series_key, p.metric, p.unit,
                      p.stats, p.samples, p.processes) for p in points])
