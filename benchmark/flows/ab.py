"""A/B two revisions on this machine (`commitbench ab`): each gets its own worktree and venv,
their `commitbench run`s alternate round by round, AB BA AB ..., so machine drift hits both
alike; then head is compared with base (flows/compare.py), all runs of a commit being its
replicates.

`plan` checks everything before a worktree is made (bad input: ConfigError, SetupError,
BadDatabaseURL); `ab` runs the rounds and the comparison and says how it ended (`Outcome`):
compared, stopped by a run's exit code, cancelled by a signal, or a revision that could not
be set up. Progress lines go to `say`; the runs' own output to `output`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..contracts.config import ConfigError
from ..contracts.escapes import printable
from ..run.worktrees import Revision, SetupError, Side, Signals, Worktrees, check_install_template, repo_root, resolve
from . import compare
from .errors import Failure, bad_input
from .measure import Measurer, check_rounds, check_run_config, repository_name, round_order, stop_code
from .store import absolute_url

BRANCHES = {"base": "ab/base", "head": "ab/head"}


@dataclass
class Plan:
    repo: Path
    base: Revision
    head: Revision
    rounds: int
    install: str | None
    workdir: Path | None
    db_url: str
    options: list[str]  # passed to every `commitbench run`
    compare: compare.Request


@dataclass
class Outcome:
    """How the job ended: `compared` when every round ran; else what stopped it."""

    compared: compare.Compared | None = None
    stopped: int | None = None  # a run's exit code that ended the rounds
    failure: Failure | None = None  # a revision that could not be set up (nothing compared)
    cancelled_by: int | None = None  # SIGINT/SIGTERM; the worktrees are removed


def plan(*, repo: Path, base: str, head: str, rounds: int, install: str | None, workdir: Path | None,
         db: str | None, options: list[str], config: Path | None, overrides: dict,
         threshold: float | None, thresholds_file: Path | None, context: str) -> Plan:
    """Everything checked before a worktree is made or a run is stored."""
    check_rounds(rounds)
    root = repo_root(repo)
    b, h = resolve(root, base, "--base"), resolve(root, head, "--head")
    if b.sha == h.sha:
        raise SetupError(f"--base {base} and --head {head} are the same commit {b.short}: nothing to compare")
    if install is not None:
        check_install_template(install)
    check_run_config(config, overrides)
    try:  # compare's thresholds, checked before anything runs
        compare.thresholds(threshold, thresholds_file, context)
    except Failure as e:
        raise ConfigError(str(e)) from None
    request = compare.Request(b.sha, h.sha, threshold, None if thresholds_file is None else thresholds_file.resolve(),
                              context)
    return Plan(repo=root, base=b, head=h, rounds=rounds, install=install, workdir=workdir, db_url=absolute_url(db),
                options=options, compare=request)


def ab(plan: Plan, say: Callable[[str], None], output: IO | None = None) -> Outcome:
    """The rounds, then the comparison (a Failure from it: 3 database unavailable, 9 nothing
    to compare)."""
    signals = Signals()
    measurer = Measurer(signals, plan.db_url, plan.options, repository_name(plan.repo), output)
    with signals.installed():
        outcome = _rounds(plan, signals, measurer, say)
    if signals.received is not None:
        outcome.cancelled_by = signals.received
    if outcome.cancelled_by is not None or outcome.failure is not None or outcome.stopped is not None:
        return outcome
    outcome.compared = compare.between(plan.db_url, plan.compare)
    return outcome


def _rounds(plan: Plan, signals: Signals, measurer: Measurer, say: Callable[[str], None]) -> Outcome:
    """Set up both sides and run the rounds; what stopped them early, if anything."""
    with Worktrees(plan.repo, plan.workdir, signals, say) as trees:
        sides: dict[str, Side] = {}
        for label, rev in (("base", plan.base), ("head", plan.head)):
            try:
                sides[label] = trees.add(label, rev, plan.install)
            except SetupError as e:
                return Outcome(failure=bad_input(str(e)))
            if signals.received is not None:
                return Outcome()
            say(printable(sides[label].describe()))
        for r, label in round_order(plan.rounds):
            side = sides[label]
            say(f"round {r}/{plan.rounds}: {label} ({side.revision.short}) ...")
            code = measurer.measure(side, BRANCHES[label])
            if signals.received is not None:
                return Outcome()
            if (stop := stop_code(code)) is not None:
                say(f"ab: the run of {label} {side.revision.short} exited {code}; stopping")
                return Outcome(stopped=stop)
    return Outcome()
