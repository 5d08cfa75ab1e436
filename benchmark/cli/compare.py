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
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..contracts import exitcodes
from ..flows import compare as flow
from ..flows.compare import DIRECTIONS, FORMATS, Request
from ..verdicts.thresholds import CONTEXTS, DEFAULT_CONTEXT
from .common import (OUTPUT_EXIT_CODE, CommandError, add_db_argument, check_output, compare_exit_code, read_input,
                     write_output)
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: ("no regression, and a gating figure was decided (suspicious, missing and informational "
                   "regressions are shown, not failed); with --input: every line is written (a regression is a "
                   "verdict in the output, not an error)"),
    exitcodes.REGRESSION: "regression (a gating figure, a failed scenario, or correctness)",
    exitcodes.NOT_COMPARABLE: ("could not decide: no gating figure got a decisive verdict (all noisy or "
                               "insufficient: the output names them and what would decide them; informational "
                               "figures and tallies decide nothing), or nothing could be compared (also: a REF with "
                               "no finished runs, such as a baseline branch not benchmarked yet)"),
    exitcodes.BAD_INPUT: "bad input",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    **OUTPUT_EXIT_CODE,  # -o
}


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
        thresholds = flow.thresholds(args.threshold, args.thresholds, args.context)
        flow.check_history(args.history)
        check_output(args.output)
        if args.input is not None:
            if args.base or args.head:
                raise CommandError("--input compares the file's cases: give no --base or --head",
                                   exitcodes.BAD_INPUT)
            lines = flow.cases(read_input(args.input), str(args.input), args.direction, thresholds.default)
            write_output(args.output, "".join(line + "\n" for line in lines))
            return exitcodes.OK
        if not args.base or not args.head:
            raise CommandError("give --base REF and --head REF (or --input FILE)", exitcodes.BAD_INPUT)
        compared = flow.between(args.db, Request(args.base, args.head, args.threshold, args.thresholds,
                                                 args.context, args.history, args.repository))
        write_output(args.output, flow.rendered(compared, args.format, args.full_report))
    except flow.NotCompared as e:  # JSON asked for: the document says why, every run left out included
        if args.format == "json":
            try:
                write_output(args.output, e.as_json())
            except CommandError as w:
                error(str(w), w.code)
        return error(str(e), e.code)
    except CommandError as e:
        return error(str(e), e.code)
    return compare_exit_code(compared.verdict)
