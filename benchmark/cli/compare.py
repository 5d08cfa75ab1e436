"""Did head make inference slower than base? Per series, figure by figure, with statistics.

  commitbench compare --base main --head 1f2e3d4c            branch / commit / run id
  commitbench compare --base main --head HEAD_SHA --format markdown -o compare.md
  commitbench compare --base PREV_SHA --head MERGED_SHA --context main   after merge
  commitbench compare --input cases.jsonl                    data from elsewhere (JSON lines)

REF: a branch (its latest finished run's commit, with every run of that commit on the
branch), a commit id (4+ hex characters: every finished run of it), or a run id (or #N);
`branch:`, `commit:`, `run:` say which. Every run of a side is one replicate. The base
branch's --history recent runs of each series (on the same runner where there are 3 or
more) estimate the run-to-run noise; docs/compare.md says how compare decides. When the
base branch has open regression reports for a compared series, the output says so under
its title: "main has been slower since <commit> (report #N): not this PR" (verdicts/baseline.py).

Verdicts per figure: regression, suspicious, missing, noisy, insufficient, improvement,
no_change; a figure gates or is informational as --thresholds and --context say.

Exit codes: 0 no regression (suspicious, missing and informational regressions are shown,
not failed), 8 regression (a gating figure, a failed scenario, or correctness),
9 nothing could be compared (also: a REF with no finished runs, such as a baseline branch
not benchmarked yet), 2 bad input, 3 database unavailable. With --input: 0 once
every line is written (a regression is a verdict in the output, not an error).
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from db import query
from db.figures_read import NoRuns, resolve_ref

from ..analysis.compare import CompareOptions, compare, from_json, to_json
from ..contracts import exitcodes
from ..verdicts import baseline, render
from ..verdicts.compare_runs import INSUFFICIENT, REGRESSION, build
from ..verdicts.thresholds import CONTEXTS, DEFAULT_CONTEXT, Thresholds, ThresholdError, from_options
from .common import CommandError, add_db_argument, check_output, read_input, reading, write_output
from .errors import error

FORMATS = ("text", "markdown", "json")
DIRECTIONS = ("lower", "higher", "info")
MAX_HISTORY = 10_000  # runs of history: beyond this a number is a typo (and overflows SQL's LIMIT)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", help="the reference: branch, commit id or run id")
    p.add_argument("--head", help="what is judged: branch, commit id or run id")
    p.add_argument("--input", type=Path, metavar="FILE",
                   help='JSON lines {"id", "base": {"reps": [[...]]}, "head": {...}, "history": [...]}; '
                        '"-" for stdin')
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    p.add_argument("--history", type=int, default=10, help="base runs before the base commit that estimate "
                   "run-to-run noise (default 10; 0: none)")
    p.add_argument("--threshold", type=float, help="the relative change that matters, for every figure "
                   "without its own (default 0.02)")
    p.add_argument("--thresholds", type=Path, metavar="FILE", help="per-figure thresholds and gating, with [pr] and "
                   "[main] sections (TOML or JSON)")
    p.add_argument("--context", choices=CONTEXTS, default=DEFAULT_CONTEXT,
                   help="whose thresholds: a pull request's (pr, the default) or main's after merge (main)")
    p.add_argument("--direction", choices=DIRECTIONS, default="lower",
                   help="with --input: which way is better, unless a line has its own (default lower)")
    p.add_argument("--repository", help="only runs of this repository")
    p.add_argument("--full-report", metavar="URL", help="with --format markdown: where the complete report is "
                   "(e.g. the job's artifact), named when rows must be left out to fit GitHub's comment limit")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        thresholds = _thresholds(args)
        if not 0 <= args.history <= MAX_HISTORY:
            raise CommandError(f"--history must be an integer from 0 to {MAX_HISTORY}, got {args.history}",
                               exitcodes.BAD_INPUT)
        check_output(args.output)
        if args.input is not None:
            if args.base or args.head:
                raise CommandError("--input compares the file's cases: give no --base or --head",
                                   exitcodes.BAD_INPUT)
            return _input(args, thresholds)
        if not args.base or not args.head:
            raise CommandError("give --base REF and --head REF (or --input FILE)", exitcodes.BAD_INPUT)
        with reading(args) as session:
            try:
                base = resolve_ref(session, args.base, args.repository)
                head = resolve_ref(session, args.head, args.repository)
            except query.NotFound as e:
                raise CommandError(str(e), exitcodes.BAD_INPUT) from None
            except NoRuns as e:
                raise CommandError(f"could not compare: {e}", exitcodes.NOT_COMPARABLE) from None
            report = build(session, base, head, thresholds, history=args.history)
            drift = baseline.drifts(session, report)
    except CommandError as e:
        return error(str(e), e.code)
    if args.format == "markdown":
        shown = render.markdown(report, command=reproduce(args), full_report=args.full_report)
    else:
        shown = {"text": render.text, "json": render.as_json}[args.format](report)
    shown = baseline.annotate(shown, drift, args.format)
    write_output(args.output, shown)
    if report.verdict == REGRESSION:
        return exitcodes.REGRESSION
    return exitcodes.NOT_COMPARABLE if report.verdict == INSUFFICIENT else exitcodes.OK


def reproduce(args: argparse.Namespace) -> str:
    """The command line that gives this comparison again (with the same database)."""
    words = ["commitbench", "compare", "--base", args.base, "--head", args.head, "--context", args.context]
    words += ["--history", str(args.history)] if args.history != 10 else []
    words += ["--threshold", str(args.threshold)] if args.threshold is not None else []
    words += ["--thresholds", str(args.thresholds)] if args.thresholds is not None else []
    words += ["--repository", args.repository] if args.repository is not None else []
    return shlex.join(words + ["--format", args.format])


def _thresholds(args: argparse.Namespace) -> Thresholds:
    try:
        return from_options(args.threshold, args.thresholds, args.context)
    except ThresholdError as e:
        raise CommandError(str(e), exitcodes.BAD_INPUT) from None


def _input(args: argparse.Namespace, thresholds: Thresholds) -> int:
    """Every line is read and checked before anything is written."""
    text = read_input(args.input)
    cases = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a line must be a JSON object")
            direction = obj.get("direction", args.direction)
            if direction not in DIRECTIONS:
                raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
            base, head, history = from_json(obj)
        except ValueError as e:  # json.JSONDecodeError is one
            raise CommandError(f"--input {args.input} line {n}: {e}", exitcodes.BAD_INPUT) from None
        cases.append((obj.get("id"), base, head, history, direction))
    options = CompareOptions(threshold=thresholds.default)
    out = [json.dumps(to_json(i, compare(b, h, d, options, history=hist))) for i, b, h, hist, d in cases]
    write_output(args.output, "".join(line + "\n" for line in out))
    return exitcodes.OK

