"""A/B two revisions of the code under test on this machine, in one job: each gets its own git
worktree and venv (the current environment's packages shared, its own code in front), and
their `commitbench run`s alternate round by round, AB BA AB ..., so machine drift hits both
alike (a linear drift cancels exactly over an even number of rounds). Then `commitbench
compare` reports head against base, all runs of a commit being its replicates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from db.url import BadDatabaseURL, display_url

from ..contracts import exitcodes
from ..contracts.config import ConfigError
from ..contracts.escapes import printable
from ..flows import ab as flow
from ..flows.errors import Failure
from ..run.worktrees import SetupError
from ..verdicts.thresholds import CONTEXTS, DEFAULT_CONTEXT
from .common import (add_db_argument, add_revision_arguments, add_run_options, cancelled, compare_exit_code,
                     output_problem, overrides_of, run_options, say, write_output)
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "no regression, and a gating figure was decided (the verdicts of `commitbench compare`)",
    exitcodes.REGRESSION: "regression (a gating figure, a failed scenario, or correctness)",
    exitcodes.NOT_COMPARABLE: ("could not decide: no gating figure got a decisive verdict (all noisy or "
                               "insufficient: the output names them; more --rounds decide them), or nothing could be "
                               "compared"),
    exitcodes.BAD_INPUT: "bad input or a revision that cannot be set up (nothing written)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    exitcodes.CANCELLED_BASE: ("cancelled by SIGINT/SIGTERM (the run in flight records its cancellation, the "
                               "worktrees are removed)"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("revisions")
    g.add_argument("--base", required=True, help="the revision to compare against (commit, branch, tag)")
    g.add_argument("--head", required=True, help="the revision under test")
    add_revision_arguments(g)
    g.add_argument("--rounds", type=int, default=4, help="runs of each revision, alternating AB, BA, ... "
                   "(default 4; an even number cancels a linear drift exactly)")
    add_run_options(p)
    o = p.add_argument_group("output")
    add_db_argument(o)
    o.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="compare's format")
    o.add_argument("-o", "--output", type=Path, help="write compare's report to this file")
    o.add_argument("--threshold", type=float, help="compare's --threshold (default 0.02)")
    o.add_argument("--thresholds", type=Path, metavar="FILE", help="compare's --thresholds file")
    o.add_argument("--context", choices=CONTEXTS, default=DEFAULT_CONTEXT, help="compare's --context: whose "
                   "thresholds and gating, a pull request's (pr, the default) or main's (main)")


def run(args: argparse.Namespace) -> int:
    try:
        output = _output(args.output)
        plan = flow.plan(repo=args.repo, base=args.base, head=args.head, rounds=args.rounds, install=args.install,
                         workdir=args.workdir, db=args.db, options=run_options(args), config=args.config,
                         overrides=overrides_of(args), threshold=args.threshold, thresholds_file=args.thresholds,
                         context=args.context)
    except (SetupError, ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    say(f"ab: base {plan.base.short} {printable(plan.base.subject)!r}, head {plan.head.short} "
        f"{printable(plan.head.subject)!r}; {args.rounds} round(s); database {display_url(plan.db_url)}")
    try:
        outcome = flow.ab(plan, say, output=sys.stderr)
    except Failure as e:  # from the comparison
        return error(str(e), e.code)
    if outcome.failure is not None:
        error(str(outcome.failure), outcome.failure.code)
    if outcome.cancelled_by is not None:
        return cancelled("ab", outcome.cancelled_by)
    if outcome.failure is not None:
        return outcome.failure.code
    if outcome.stopped is not None:
        return outcome.stopped
    write_output(output, flow.compare.rendered(outcome.compared, args.format))
    return compare_exit_code(outcome.compared.verdict)


def _output(path: Path | None) -> Path | None:
    """-o checked before anything runs (ConfigError), absolute: the comparison is written last."""
    if path is None:
        return None
    if problem := output_problem(path):
        raise ConfigError(f"-o {path}: {problem}")
    return path.resolve()
