"""Find the first commit between --good and --bad where one figure of one scenario changed.

Each tested commit is checked out in its own worktree with its own venv (as `commitbench ab`
does) and runs only that scenario, --rounds times. The two endpoints are measured first, their
runs alternating (good, bad, bad, good, ...), to learn the two levels; then a binary search
over `git log --ancestry-path good..bad` classifies each commit by which level its
figure lies nearer. The search assumes one change between the endpoints.

A level is the median of every sample of the figure over the commit's runs; the noise is the
larger of the endpoints' robust spreads (1.4826 x the median absolute deviation). The endpoints
must lie more than 4 noise apart, and a commit is good or bad only when its level is more than
1 noise from the midpoint, on one side; otherwise bisect cannot decide.

With a first bad commit named, the output ends with what got slower there: `commitbench
explain`'s diff of the profiles that the runs of the last good commit and of the first bad
commit took of the scenario (every run is profiled unless --no-profile), or one line saying
why there is none.

With --report ID the first bad commit and the evidence (every tested commit's level, noise
and verdict; what got slower) are recorded into that regression report (`commitbench
reports`), which is checked before anything runs. Should recording fail after measuring, the
evidence is written to a JSON file the error names, for `commitbench reports bisected`."""

# (The docstring above is `bisect --help`. The judgement is analysis/bisection.py, the search
# benchmark/flows/bisect.py; this module parses, prints and picks the exit code.)

from __future__ import annotations

import argparse
import sys

from db.url import BadDatabaseURL, display_url

from ..contracts import exitcodes
from ..contracts.config import ConfigError
from ..contracts.escapes import printable
from ..contracts.figures import FIGURES
from ..contracts.units import fmt
from ..flows import bisect as flow
from ..flows.bisect import COULD_NOT_DECIDE, Tested
from ..flows.reports import record_bisected
from ..run.worktrees import Revision, SetupError
from ..verdicts import explain_render
from .common import (CommandError, add_db_argument, add_revision_arguments, add_run_options, cancelled, overrides_of,
                     run_options, say)
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "the first bad commit is named",
    exitcodes.NOT_COMPARABLE: "could not decide (the evidence is printed)",
    exitcodes.BAD_INPUT: "bad input (nothing written)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    exitcodes.CANCELLED_BASE: "cancelled by SIGINT/SIGTERM",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to bisect")
    g.add_argument("--good", required=True, help="a commit with the old level of the figure")
    g.add_argument("--bad", required=True, help="a later commit (a descendant of --good) with the new level")
    g.add_argument("--metric", required=True, help="the figure, e.g. eager_time_to_next_token_secs")
    g.add_argument("--scenario", required=True, help="the scenario, as named in results, e.g. "
                   "eager or compiled_decode[compile_mode=default]; only it runs")
    add_revision_arguments(g)
    g.add_argument("--rounds", type=int, default=2, help="runs of each tested commit (default 2)")
    add_run_options(p, leave_out=("config", "kinds"))  # the scenario comes from --scenario
    out = p.add_argument_group("output")
    out.add_argument("--report", metavar="ID", help="record the first bad commit and the evidence into this "
                     "regression report (`commitbench reports`)")
    add_db_argument(out)


def run(args: argparse.Namespace) -> int:
    try:
        plan = flow.plan(repo=args.repo, good=args.good, bad=args.bad, metric=args.metric, scenario=args.scenario,
                         rounds=args.rounds, install=args.install, workdir=args.workdir, db=args.db,
                         options=run_options(args), overrides=overrides_of(args), report=args.report)
    except (SetupError, ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    except CommandError as e:
        return error(str(e), e.code)
    say(f"bisect: {args.metric} of {args.scenario}, good {plan.good.short}, bad {plan.bad.short}: "
        f"{len(plan.between) - 1} commit(s) between; {args.rounds} run(s) each; database {display_url(plan.db_url)}")
    result = flow.bisect(plan, say, output=sys.stderr)
    if result.error is not None:
        error(result.error, result.code)
    if result.cancelled_by is not None:
        return cancelled("bisect", result.cancelled_by)
    if result.tested:
        print_result(result, args.metric)
    if plan.report_id is not None and result.first_bad is not None:
        return _record(plan.db_url, plan.report_id, result.first_bad, flow.evidence(plan, result))
    return result.code


def _record(db_url: str, report_id: int, first_bad: Revision, found: dict) -> int:
    try:
        record_bisected(db_url, report_id, first_bad.sha, found)
    except CommandError as e:
        path = flow.keep_evidence(report_id, found)
        return error(f"{e}; the evidence is in {path}: `commitbench reports bisected {report_id} --commit "
                     f"{first_bad.sha} --evidence {path}` records it", e.code)
    say(f"bisect: recorded into report #{report_id} (bisected, first bad commit {first_bad.short})")
    return exitcodes.OK


def print_result(result: flow.Result, metric: str, out=None) -> None:
    """The verdict and the levels, then (with a first bad commit) what got slower there:
    explain's section, or the one line saying why there is none."""
    out = out or sys.stdout
    print_evidence(result.tested, metric, result.first_bad, result.code, out)
    if section := explain_render.block(result.explained, "text", result.unexplained):
        print("\n" + section, end="", file=out)


def print_evidence(tested: list[Tested], metric: str, first_bad: Revision | None, code: int, out=None) -> None:
    """The levels at each tested commit, oldest first, under the verdict."""
    out = out or sys.stdout
    unit = FIGURES[metric].unit
    if first_bad is not None:
        print(f"first bad commit: {first_bad.sha} {printable(first_bad.subject)}", file=out)
    elif code == COULD_NOT_DECIDE:
        print("bisect could not decide; the levels measured:", file=out)
    else:
        print("bisect stopped; the levels measured so far:", file=out)
    print(f"{'commit':<10}  {'level (median)':>16}  {'noise':>12}  {'n':>4}  {'verdict':<14}  subject", file=out)
    for t in tested:
        level = fmt(t.level.median, unit) if t.level else "not measured"
        noise = fmt(t.level.noise, unit) if t.level else ""
        n = t.level.n if t.level else 0
        mark = "  <- first bad" if first_bad is not None and t.revision.sha == first_bad.sha else ""
        print(f"{t.revision.short:<10}  {level:>16}  {noise:>12}  {n:>4}  {t.role:<14}  "
              f"{printable(t.revision.subject)[:60]}{mark}", file=out)
