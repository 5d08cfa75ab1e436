"""A/B two revisions of the code under test on this machine, in one job: each gets its own git
worktree and venv (the current environment's packages shared, its own code in front), and
rounds of one base and one head `commitbench run` alternate their order, AB BA AB ..., so
machine drift hits both alike. After each round from --min-rounds on, every gating figure is
judged round by round (paired, with main's earlier runs on this runner as the noise prior) and
the rounds stop once each is decided: a regression or improvement beyond noise, or no change
as large as the threshold; else at --max-rounds or when --budget-minutes leaves no time for
another round. The report is `commitbench compare`'s, with how many rounds ran and why they
stopped.

  commitbench ab --base main --head HEAD                  sequential, 2 to 10 rounds
  commitbench ab --input rounds.jsonl                     the decision rule on data from elsewhere"""

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
from .common import (CHANGED_OUTPUT_EXIT_CODE, CommandError, add_db_argument, add_revision_arguments,
                     add_run_options, cancelled, compare_exit_code, output_problem, overrides_of, read_input,
                     run_options, say, write_output)
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "no regression, and a gating figure was decided (the verdicts of `commitbench compare`)",
    exitcodes.REGRESSION: "regression (a gating figure, a failed scenario, or correctness)",
    exitcodes.NOT_COMPARABLE: ("could not decide: no gating figure got a decisive verdict (all noisy or "
                               "insufficient: the output names them; a larger --max-rounds or --budget-minutes "
                               "decides them), or nothing could be compared"),
    exitcodes.BAD_INPUT: "bad input or a revision that cannot be set up (nothing written)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    exitcodes.CANCELLED_BASE: ("cancelled by SIGINT/SIGTERM (the run in flight records its cancellation, the "
                               "worktrees are removed)"),
    **CHANGED_OUTPUT_EXIT_CODE,  # -o
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("revisions")
    g.add_argument("--base", help="the revision to compare against (commit, branch, tag)")
    g.add_argument("--head", help="the revision under test")
    add_revision_arguments(g)
    r = p.add_argument_group("rounds (one base and one head process each, alternating AB, BA, ...)")
    r.add_argument("--min-rounds", type=int, default=2, help="rounds before the first decision (default 2)")
    r.add_argument("--max-rounds", type=int, default=10, help="rounds at most; the answer at the last is final "
                   "(default 10)")
    r.add_argument("--rounds", type=int, help="exactly this many rounds, one decision at the end (sets both)")
    r.add_argument("--budget-minutes", type=float, help="start no round that would end past this many minutes "
                   "after the first round began (default: no budget)")
    r.add_argument("--prior-branch", default="main", help="the branch whose earlier runs on this runner are the "
                   "prior for the process-to-process noise (default main; without any, nothing stops before "
                   "the rounds estimate it themselves)")
    r.add_argument("--input", type=Path, metavar="FILE", help='the decision rule on JSON lines of rounds ("-": '
                   'stdin): {"id", "direction", "max_rounds", "rounds": [{"order", "base": run, "head": run}, ...], '
                   '"history": [run, ...]} in, {"id", "decision": "more"|"done", "verdict", "change", "ci", '
                   '"rounds", "stopped"} out; no --base or --head')
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
        rounds = _rounds(args)
        if not args.prior_branch.strip():
            raise ConfigError(f"--prior-branch must name a branch (default main), got {args.prior_branch!r}")
        if args.input is not None:
            return _cases(args, rounds, output)
        if not args.base or not args.head:
            raise ConfigError("give --base REF and --head REF (or --input FILE)")
        plan = flow.plan(repo=args.repo, base=args.base, head=args.head, rounds=rounds, prior_branch=args.prior_branch,
                         install=args.install, workdir=args.workdir, db=args.db, options=run_options(args),
                         config=args.config, overrides=overrides_of(args), threshold=args.threshold,
                         thresholds_file=args.thresholds, context=args.context)
    except (SetupError, ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    except (CommandError, Failure) as e:
        return error(str(e), e.code)
    budget = "" if rounds.budget_s is None else f", budget {rounds.budget_s / 60:g} min"
    say(f"ab: base {plan.base.short} {printable(plan.base.subject)!r}, head {plan.head.short} "
        f"{printable(plan.head.subject)!r}; {rounds.min} to {rounds.max} round(s){budget}; scenarios: "
        f"{', '.join(plan.kinds)}; noise prior: {args.prior_branch}'s earlier runs; database "
        f"{display_url(plan.db_url)}")
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
    try:
        write_output(output, flow.compare.rendered(outcome.compared, args.format),
                     done="both revisions' runs are stored (`commitbench compare` reads them again)")
    except CommandError as e:
        return error(str(e), e.code)
    return compare_exit_code(outcome.compared.verdict)


def _rounds(args: argparse.Namespace) -> flow.Rounds:
    low, high = (args.rounds, args.rounds) if args.rounds is not None else (args.min_rounds, args.max_rounds)
    budget = None if args.budget_minutes is None else args.budget_minutes * 60
    if args.rounds is not None and (args.min_rounds, args.max_rounds) != (2, 10):
        raise ConfigError("--rounds sets both --min-rounds and --max-rounds: give one or the others")
    if args.rounds is not None and not 1 <= args.rounds <= 100:
        raise ConfigError(f"--rounds must be an integer from 1 to 100, got {args.rounds}")
    return flow.Rounds(low, high, budget)


def _cases(args: argparse.Namespace, rounds: flow.Rounds, output: Path | None) -> int:
    """`--input`: the decision rule on the file's cases, one JSON line out each."""
    if args.base or args.head:
        raise ConfigError("--input decides the file's cases: give no --base or --head")
    threshold = flow.compare.thresholds(args.threshold, args.thresholds, args.context).default
    lines = flow.cases(read_input(args.input), str(args.input), threshold, rounds)
    write_output(output, "".join(line + "\n" for line in lines))
    return exitcodes.OK


def _output(path: Path | None) -> Path | None:
    """-o checked before anything runs (ConfigError), absolute: the comparison is written last."""
    if path is None:
        return None
    if problem := output_problem(path):
        raise ConfigError(f"-o {path}: {problem}")
    return path.resolve()
