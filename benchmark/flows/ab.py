"""A/B two revisions on this machine (`commitbench ab`): each gets its own worktree and venv,
and rounds of one base and one head `commitbench run` alternate their order, AB BA AB ..., so
machine drift hits both alike. After each round from `min_rounds` on, head is judged against
base round by round (flows/compare.py with verdicts/compare_runs.Paired: the sequential rule of
analysis/sequential.py, main's earlier runs as the noise prior), and the rounds stop as soon as
every gating figure is decided, at `max_rounds`, or when the budget leaves no time for another.

`plan` checks everything before a worktree is made (bad input: ConfigError, SetupError,
BadDatabaseURL); `ab` runs the rounds and the comparison and says how it ended (`Outcome`):
compared, stopped by a run's exit code, cancelled by a signal, or a revision that could not
be set up. Progress lines go to `say`; the runs' own output to `output`. `cases` is the
decision rule on JSON lines (`commitbench ab --input`)."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..analysis import sequential
from ..analysis.sequential import SequentialOptions
from ..contracts.config import ConfigError
from ..contracts.escapes import printable
from ..run.worktrees import Revision, SetupError, Side, Signals, Worktrees, check_install_template, repo_root, resolve
from ..verdicts.compare_runs import Paired
from . import compare, lines
from .errors import Failure, bad_input
from .measure import Measurer, check_run_config, profiled, repository_name, round_order, stop_code
from .store import absolute_url


def job_branches() -> dict[str, str]:
    """Where one A/B job stores its runs: branches of its own (ab/<job>/base, ab/<job>/head), so
    its rounds are its own even when the database holds an earlier A/B of the same commits (a
    re-run job) or another job of the same base is running beside it."""
    job = uuid.uuid4().hex[:8]
    return {"base": f"ab/{job}/base", "head": f"ab/{job}/head"}


@dataclass(frozen=True)
class Rounds:
    """How many rounds: at least `min`, at most `max`, and no new round once `budget_s` could
    not hold it (its duration guessed as the longest so far)."""
    min: int = 2
    max: int = 10
    budget_s: float | None = None

    def __post_init__(self) -> None:
        try:
            SequentialOptions(min_rounds=self.min, max_rounds=self.max)
        except ValueError as e:
            raise ConfigError(f"--{str(e).replace('_', '-')}") from None
        if self.budget_s is not None and not 0 < self.budget_s <= 7 * 24 * 3600:
            raise ConfigError(f"--budget-minutes must be a number of minutes from 0 to 10080, got "
                              f"{self.budget_s / 60:g}")


@dataclass
class Plan:
    repo: Path
    base: Revision
    head: Revision
    rounds: Rounds
    prior_branch: str | None
    kinds: list[str]  # the scenario kinds measured
    side_cache: bool  # each side keeps its own inductor cache: cold in round 1, warm after
    install: str | None
    workdir: Path | None
    db_url: str
    options: list[str]  # passed to every `commitbench run`
    compare: compare.Request
    branches: dict[str, str] = field(default_factory=job_branches)  # this job's own (job_branches)

    @property
    def branch_pair(self) -> tuple[str, str]:
        """(base's, head's): as Paired and the rounds line take them."""
        return self.branches["base"], self.branches["head"]


@dataclass
class Outcome:
    """How the job ended: `compared` when every round ran; else what stopped it."""

    compared: compare.Compared | None = None
    stopped: int | None = None  # a run's exit code that ended the rounds
    failure: Failure | None = None  # a revision that could not be set up (nothing compared)
    cancelled_by: int | None = None  # SIGINT/SIGTERM; the worktrees are removed


def plan(*, repo: Path, base: str, head: str, rounds: Rounds, prior_branch: str | None, install: str | None,
         workdir: Path | None, db: str | None, options: list[str], config: Path | None, overrides: dict,
         threshold: float | None, thresholds_file: Path | None, context: str) -> Plan:
    """Everything checked before a worktree is made or a run is stored."""
    root = repo_root(repo)
    b, h = resolve(root, base, "--base"), resolve(root, head, "--head")
    if b.sha == h.sha:
        raise SetupError(f"--base {base} and --head {head} are the same commit {b.short}: nothing to compare")
    if install is not None:
        check_install_template(install)
    cfg = check_run_config(config, overrides)
    every = list(dict.fromkeys(s.kind for s in cfg.scenarios))
    kinds = every if overrides.get("kinds") is not None else cfg.kinds_for_ab()  # --scenarios is the user's
    if not kinds:
        raise ConfigError(f"ab_kinds {cfg.ab_kinds} names none of the run's scenario kinds ({', '.join(every)})")
    if kinds != every:
        options = [*options, f"--scenarios={','.join(kinds)}"]  # only what can gate
    try:  # compare's thresholds, checked before anything runs
        compare.thresholds(threshold, thresholds_file, context)
    except Failure as e:
        raise ConfigError(str(e)) from None
    request = compare.Request(b.sha, h.sha, threshold, None if thresholds_file is None else thresholds_file.resolve(),
                              context)
    return Plan(repo=root, base=b, head=h, rounds=rounds, prior_branch=prior_branch, kinds=kinds,
                side_cache=cfg.inductor_cache == "fresh", install=install, workdir=workdir, db_url=absolute_url(db),
                options=profiled(options), compare=request)


def ab(plan: Plan, say: Callable[[str], None], output: IO | None = None) -> Outcome:
    """The rounds, each judged from `plan.rounds.min` on (a Failure from the comparison: 3
    database unavailable, 9 nothing to compare)."""
    signals = Signals()
    measurer = Measurer(signals, plan.db_url, plan.options, repository_name(plan.repo), output)
    with signals.installed():
        outcome = _rounds(plan, signals, measurer, say)
    if signals.received is not None:
        outcome.cancelled_by = signals.received
    return outcome


def _cache(plan: Plan, side: Side) -> tuple[list[str], dict[str, str]]:
    """A side's own inductor and triton caches, empty at the start: its first round compiles
    cold (compile times judged on that round alone), later rounds reuse what it compiled."""
    if not plan.side_cache:
        return [], {}
    return ["--inductor-cache=shared"], {"TORCHINDUCTOR_CACHE_DIR": str(side.root / "inductor"),
                                         "TRITON_CACHE_DIR": str(side.root / "triton")}


def _look(plan: Plan, final: bool) -> compare.Compared:
    paired = Paired(SequentialOptions(min_rounds=plan.rounds.min, max_rounds=plan.rounds.max), final=final,
                    prior_branch=plan.prior_branch, warm_after_first=plan.side_cache,
                    branches=plan.branch_pair)
    return compare.between(plan.db_url, plan.compare, paired)


def _progress(r: int, compared: compare.Compared) -> str:
    gating = compared.report.gating_measured
    done = [f for _, f in gating if f.decision is not None and f.decision.decision == sequential.DONE]
    verdicts = ", ".join(f"{sc} {f.figure}: {f.verdict}" for sc, f in gating[:4])
    more = f", +{len(gating) - 4} more" if len(gating) > 4 else ""
    return f"round {r}: {len(done)} of {len(gating)} gating figure(s) decided ({verdicts}{more})"


def _stopped(compared: compare.Compared, r: int, rounds: Rounds, budget_out: bool) -> str:
    report = compared.report
    if any(s.correctness or s.failure for s in report.series):
        return "a scenario regressed (a failure or a correctness check): nothing more to learn"
    if not report.gating_measured:
        return "no gating figure to decide"
    if report.decided and r < rounds.max and not budget_out:
        counts: dict[str, int] = {}
        for _, f in report.gating_measured:
            counts[f.verdict] = counts.get(f.verdict, 0) + 1
        # noisy before the last round is a futility stop (analysis/sequential.py): say what it means
        futile = f": {rounds.max} rounds would not decide them at this noise" if "noisy" in counts else ""
        return "every gating figure decided (" + ", ".join(f"{n} {v}" for v, n in counts.items()) + f"{futile})"
    if budget_out and r < rounds.max:
        return "the budget left no time for another round"
    return f"{rounds.max} round(s), the most allowed"


def _rounds(plan: Plan, signals: Signals, measurer: Measurer, say: Callable[[str], None]) -> Outcome:
    """Set up both sides and run the rounds, judging each from min on; what stopped them."""
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
        started, durations = time.monotonic(), []
        for r in range(1, plan.rounds.max + 1):
            round_start = time.monotonic()
            for _, label in round_order(r)[-2:]:
                side = sides[label]
                say(f"round {r}/{plan.rounds.max}: {label} ({side.revision.short}) ...")
                code = measurer.measure(side, plan.branches[label], *_cache(plan, side))
                if signals.received is not None:
                    return Outcome()
                if (stop := stop_code(code)) is not None:
                    say(f"ab: the run of {label} {side.revision.short} exited {code}; stopping")
                    return Outcome(stopped=stop)
            durations.append(time.monotonic() - round_start)
            if r < plan.rounds.min:
                continue
            budget_out = plan.rounds.budget_s is not None and \
                time.monotonic() - started + max(durations) > plan.rounds.budget_s
            compared = _look(plan, final=budget_out or r == plan.rounds.max)
            say(_progress(r, compared))
            if compared.report.decided or budget_out or r == plan.rounds.max:
                compared.ab = compare.Rounds(r, plan.rounds.max, _stopped(compared, r, plan.rounds, budget_out),
                                             plan.branch_pair)
                say(f"ab: {compared.ab.line()}; mean round {statistics.fmean(durations):.0f} s")
                return Outcome(compared=compared)
    raise AssertionError("the last round always ends the rounds")


# --- the decision rule on JSON lines (`commitbench ab --input`) ----------------------------------

def cases(text: str, source: str, threshold: float, rounds: Rounds) -> list[str]:
    """One JSON line out per case, {"id", "decision", "verdict", "change", "ci", "rounds",
    "stopped"}; every line is checked first (a Failure naming the bad one)."""
    options = SequentialOptions(threshold=threshold, min_rounds=rounds.min, max_rounds=rounds.max)

    def parse(obj: dict) -> tuple:
        return (obj.get("id"), *sequential.from_json(obj, options))

    return [json.dumps(sequential.to_json(i, sequential.decide(r, d, o, hist)))
            for i, r, hist, d, o in lines.parsed(text, source, parse)]
