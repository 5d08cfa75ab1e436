"""What got slower: the operators whose time per token grew, appeared or vanished, and call
counts that changed, between two refs' stored profiles, each with its share of the figure's
change per token.

  commitbench explain --base main --head 1f2e3d4c
  commitbench explain --base main --head HEAD_SHA --scenario eager --format markdown -o explain.md

REF as in compare: a branch (its latest finished run's commit, with every run of that commit
on the branch), a commit id, or a run id; `branch:`, `commit:`, `run:` say which. Profiles
come from `commitbench run --profile` (ab and bisect profile every run by default); several
profiled runs of a side are combined, operator by operator, by their median. An operator is
named only past the noise floor (docs/explain.md): a change in calls per token of at least
0.5, or a self-time change per token beyond both 5 us and 3 % of the base's profiled step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..contracts import exitcodes
from ..flows import explain as flow
from ..verdicts.explain_render import render
from .common import CommandError, add_db_argument, check_output, write_output
from .errors import error

FORMATS = ("text", "markdown", "json")
EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "explained (whether or not an operator moved beyond the noise floor)",
    exitcodes.BAD_INPUT: "bad input (an unknown ref, a --scenario not profiled on both sides; nothing written)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    exitcodes.NOT_COMPARABLE: "nothing to explain: no scenario has a profile on both sides, or a REF has no runs",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", required=True, help="the reference: branch, commit id or run id")
    p.add_argument("--head", required=True, help="what is explained: branch, commit id or run id")
    p.add_argument("--scenario", help="one scenario by its name, e.g. eager or compiled_decode[compile_mode=default] "
                   "(default: every scenario profiled on both sides)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    p.add_argument("--repository", help="only runs of this repository")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        check_output(args.output)
        explained = flow.explain(args.db, flow.Request(args.base, args.head, args.scenario, args.repository))
    except CommandError as e:
        return error(str(e), e.code)
    write_output(args.output, render(explained, args.format))
    return exitcodes.OK
