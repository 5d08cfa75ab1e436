"""A/B two revisions of the code under test on this machine, in one job: each gets its own git
worktree and venv (the current environment's packages shared, its own code in front), and
their `commitbench run`s alternate round by round, AB BA AB ..., so machine drift hits both
alike (a linear drift cancels exactly over an even number of rounds). Then `commitbench
compare` reports head against base, all runs of a commit being its replicates.

Exit codes: those of `commitbench compare` (0 no regression, 8 regression, 9 could not
compare); 2 bad input or a revision that cannot be set up (nothing written); 3 database
unavailable; 130/143 cancelled by SIGINT/SIGTERM (the run in flight records its
cancellation, the worktrees are removed)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from db.url import BadDatabaseURL, display_url, resolve_url, validate_url

from ..contracts import exitcodes
from ..contracts.config import ConfigError, build_config, load_config_file
from ..contracts.escapes import printable
from ..run import gitinfo
from ..run.worktrees import Revision, SetupError, Side, Signals, Worktrees, check_install_template, repo_root, resolve
from ..verdicts.thresholds import CONTEXTS, DEFAULT_CONTEXT, ThresholdError, from_options
from . import run as run_command
from .common import add_db_argument, output_problem
from .errors import error

BRANCHES = {"base": "ab/base", "head": "ab/head"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("revisions")
    g.add_argument("--base", required=True, help="the revision to compare against (commit, branch, tag)")
    g.add_argument("--head", required=True, help="the revision under test")
    add_revision_arguments(p, g)
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


def add_revision_arguments(p: argparse.ArgumentParser, g: argparse._ArgumentGroup) -> None:
    """What ab and bisect share about where revisions come from and how they are installed."""
    g.add_argument("--repo", type=Path, default=Path("."), help="git repository of the code under test (default .)")
    g.add_argument("--install", help="install command per revision, with {python} (its venv's) and {worktree}; "
                   "'none' installs nothing and puts the worktree on PYTHONPATH (default: pip install -e "
                   "--no-deps --no-build-isolation where the worktree has pyproject.toml or setup.py, else none)")
    g.add_argument("--workdir", type=Path, help="where worktrees and venvs are made (default: a temp directory); "
                   "removed afterwards")


def _run_benchmark_options() -> list[argparse.Action]:
    """`commitbench run`'s benchmark options, taken from its own parser so they never drift."""
    model = argparse.ArgumentParser(add_help=False)
    run_command.add_arguments(model)
    return next(g for g in model._action_groups if g.title == "benchmark")._group_actions


RUN_FLAGS = {a.dest: a.option_strings[0] for a in _run_benchmark_options()}


def add_run_options(p: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    mine = p.add_argument_group("passed to every `commitbench run`")
    for action in _run_benchmark_options():
        if action.dest not in leave_out:
            mine._add_action(action)


def run_options(args: argparse.Namespace) -> list[str]:
    """The run options given, back as arguments (paths made absolute: runs start elsewhere)."""
    out: list[str] = []
    for dest, flag in RUN_FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest == "kinds":
            value = ",".join(value)
        elif dest == "config" or (dest == "model" and Path(value).exists()):
            value = Path(value).resolve()
        out.append(f"{flag}={value}")
    return out


def check_run_options(args: argparse.Namespace, extra: dict | None = None) -> None:
    """The current commitbench's view of the options, so a typo fails before anything is set up."""
    data = load_config_file(args.config) if getattr(args, "config", None) else {}
    build_config({**data, **(extra or {})}, {k: getattr(args, k, None) for k in run_command.OVERRIDES})


def database_url(args: argparse.Namespace) -> str:
    """The database every run and the comparison use; a relative SQLite path made absolute."""
    url, _ = resolve_url(args.db)
    validate_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        url = parsed.set(database=str(Path(parsed.database).expanduser().resolve())) \
            .render_as_string(hide_password=False)
    return url


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def round_order(rounds: int) -> list[tuple[int, str]]:
    """(round, side) in run order: AB, BA, AB, ... so each side is as often first as second."""
    order = []
    for r in range(1, rounds + 1):
        pair = ("base", "head") if r % 2 else ("head", "base")
        order += [(r, side) for side in pair]
    return order


def check_rounds(rounds: int) -> None:
    if not 1 <= rounds <= 100:
        raise ConfigError(f"--rounds must be an integer from 1 to 100, got {rounds}")


@dataclass
class Measurer:
    """Runs `commitbench run` of one installed revision (each scenario in its own process, as
    always) into the shared database."""

    signals: Signals
    db_url: str
    options: list[str]
    repository: str | None

    def argv(self, side: Side, branch: str, extra: list[str] = ()) -> list[str]:
        rev = side.revision
        argv = [str(side.python), "-m", "benchmark.cli", "run", f"--branch={branch}",
                f"--commit={rev.sha}", f"--message={rev.subject or rev.short}", f"--commit-time={rev.time}"]
        if rev.parents:
            argv.append(f"--parents={','.join(rev.parents)}")
        if self.repository:
            argv.append(f"--repository={self.repository}")
        return argv + self.options + list(extra)

    def measure(self, side: Side, branch: str, extra: list[str] = ()) -> int:
        # The database goes by environment, not argv, so its password is not in `ps`. The run
        # starts in the side's directory, where no other copy of the code can shadow its own.
        env = side.env({"DATABASE_URL": self.db_url})
        return self.signals.run(self.argv(side, branch, extra), cwd=side.root, env=env, stdout=sys.stderr)


def stop_code(code: int) -> int | None:
    """A run's exit code that ends the job: only a failed scenario lets the rounds go on
    (compare reports it)."""
    return None if code in (exitcodes.OK, exitcodes.SCENARIO_FAILED) else code


def repository_name(repo: Path) -> str | None:
    return gitinfo.read(repo).repository


@dataclass
class Plan:
    repo: Path
    base: Revision
    head: Revision
    db_url: str
    options: list[str]
    output: Path | None
    format: str
    compare_options: list[str]


def _plan(args: argparse.Namespace) -> Plan:
    """Everything checked before a worktree is made or a run is stored."""
    check_rounds(args.rounds)
    repo = repo_root(args.repo)
    base, head = resolve(repo, args.base, "--base"), resolve(repo, args.head, "--head")
    if base.sha == head.sha:
        raise SetupError(f"--base {args.base} and --head {args.head} are the same commit {base.short}: "
                         "nothing to compare")
    if args.install is not None:
        check_install_template(args.install)
    output = None
    if args.output is not None:
        if problem := output_problem(args.output):
            raise ConfigError(f"-o {args.output}: {problem}")
        output = args.output.resolve()
    check_run_options(args)
    try:  # compare's thresholds, checked before anything runs
        from_options(args.threshold, args.thresholds, args.context)
    except ThresholdError as e:
        raise ConfigError(str(e)) from None
    compare_options = ([f"--threshold={args.threshold}"] if args.threshold is not None else []) + \
        ([f"--thresholds={args.thresholds.resolve()}"] if args.thresholds is not None else []) + \
        [f"--context={args.context}"]
    return Plan(repo=repo, base=base, head=head, db_url=database_url(args), options=run_options(args),
                output=output, format=args.format, compare_options=compare_options)


def run(args: argparse.Namespace) -> int:
    try:
        plan = _plan(args)
    except (SetupError, ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    signals = Signals()
    measurer = Measurer(signals, plan.db_url, plan.options, repository_name(plan.repo))
    say(f"ab: base {plan.base.short} {printable(plan.base.subject)!r}, head {plan.head.short} "
        f"{printable(plan.head.subject)!r}; {args.rounds} round(s); database {display_url(plan.db_url)}")
    with signals.installed():
        code = _rounds(args, plan, signals, measurer)
    if (stopped := cancelled(signals, "ab")) is not None:
        return stopped
    return code if code is not None else compare(plan)


def cancelled(signals: Signals, who: str) -> int | None:
    """After SIGINT/SIGTERM (the worktrees are removed by then): its exit code; else None."""
    if signals.received is None:
        return None
    say(f"{who}: cancelled by signal {signals.received}; worktrees removed")
    return exitcodes.CANCELLED_BASE + signals.received


def _rounds(args: argparse.Namespace, plan: Plan, signals: Signals, measurer: Measurer) -> int | None:
    """Set up both sides and run the rounds; an exit code if the job must stop early."""
    with Worktrees(plan.repo, args.workdir, signals, say) as trees:
        sides: dict[str, Side] = {}
        for label, rev in (("base", plan.base), ("head", plan.head)):
            try:
                sides[label] = trees.add(label, rev, args.install)
            except SetupError as e:
                return error(str(e), exitcodes.BAD_INPUT)
            if signals.received is not None:
                return None
            say(printable(sides[label].describe()))
        for r, label in round_order(args.rounds):
            side = sides[label]
            say(f"round {r}/{args.rounds}: {label} ({side.revision.short}) ...")
            code = measurer.measure(side, BRANCHES[label])
            if signals.received is not None:
                return None
            if (stop := stop_code(code)) is not None:
                say(f"ab: the run of {label} {side.revision.short} exited {code}; stopping")
                return stop
    return None


def compare(plan: Plan) -> int:
    """`commitbench compare` of head against base, in this process, on the same database."""
    from . import main

    argv = ["compare", "--base", plan.base.sha, "--head", plan.head.sha, "--db", plan.db_url, "--format", plan.format,
            *plan.compare_options]
    if plan.output is not None:
        argv += ["-o", str(plan.output)]
    return main(argv)
