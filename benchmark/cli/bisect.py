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

With --report ID the first bad commit and the evidence (every tested commit's level, noise
and verdict) are recorded into that regression report (`commitbench reports`), which is
checked before anything runs. Should recording fail after measuring, the evidence is
written to a JSON file the error names, for `commitbench reports bisected`.

Exit codes: 0 the first bad commit is named; 9 could not decide (the evidence is printed);
2 bad input (nothing written); 3 database unavailable; 130/143 cancelled."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from db.url import BadDatabaseURL, display_url

from ..contracts import exitcodes
from ..contracts.config import KINDS, ConfigError, ScenarioParams
from ..contracts.escapes import printable
from ..contracts.figures import FIGURES
from ..contracts.stats import percentile
from ..contracts.units import fmt
from ..run.worktrees import (Revision, SetupError, Side, Signals, Worktrees, ancestry_path, check_install_template,
                              repo_root, resolve)
from .ab import (Measurer, add_revision_arguments, add_run_options, cancelled, check_rounds, check_run_options,
                 database_url, repository_name, round_order, run_options, say, stop_code)
from . import reports
from .common import CommandError, add_db_argument
from .errors import error

COULD_NOT_DECIDE = exitcodes.NOT_COMPARABLE  # 9, as compare's "could not compare"
BRANCH = "bisect"
SEPARATION = 4.0  # endpoints at least this many noise units apart
MARGIN = 1.0  # a commit at least this many noise units from the midpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to bisect")
    g.add_argument("--good", required=True, help="a commit with the old level of the figure")
    g.add_argument("--bad", required=True, help="a later commit (a descendant of --good) with the new level")
    g.add_argument("--metric", required=True, help="the figure, e.g. eager_time_to_next_token_secs")
    g.add_argument("--scenario", required=True, help="the scenario, as named in results, e.g. "
                   "eager or compiled_decode[compile_mode=default]; only it runs")
    add_revision_arguments(p, g)
    g.add_argument("--rounds", type=int, default=2, help="runs of each tested commit (default 2)")
    add_run_options(p, leave_out=("config", "kinds"))  # the scenario comes from --scenario
    out = p.add_argument_group("output")
    out.add_argument("--report", metavar="ID", help="record the first bad commit and the evidence into this "
                     "regression report (`commitbench reports`)")
    add_db_argument(out)


# -- the pure parts ---------------------------------------------------------------------

def scenario_entry(name: str) -> dict:
    """`kind[p=v,...]` -> a [[scenarios]] entry with typed values, checked like a config's."""
    kind, _, rest = name.partition("[")
    if kind not in KINDS or KINDS[kind].selftest:
        raise ConfigError(f"--scenario {name!r}: unknown kind {kind!r} (one of "
                          f"{', '.join(k for k, v in KINDS.items() if not v.selftest)})")
    entry: dict = {"kind": kind}
    if rest:
        if not rest.endswith("]"):
            raise ConfigError(f"--scenario {name!r}: expected kind[param=value,...]")
        types = {f.name: type(f.default) for f in fields(ScenarioParams) if f.name != "kind"}
        for item in filter(None, rest[:-1].split(",")):
            key, eq, value = item.partition("=")
            if not eq or key not in KINDS[kind].params:
                raise ConfigError(f"--scenario {name!r}: {item!r} is not a parameter of {kind} "
                                  f"(its parameters: {', '.join(KINDS[kind].params)})")
            entry[key] = _typed(types[key], value, name)
    ScenarioParams(**entry).validate()
    return entry


def _typed(kind: type, value: str, name: str):
    if kind is bool:
        if value not in ("True", "False", "true", "false"):
            raise ConfigError(f"--scenario {name!r}: {value!r} is not true or false")
        return value in ("True", "true")
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"--scenario {name!r}: {value!r} is not a {kind.__name__}") from None


@dataclass
class Level:
    median: float
    # the larger of the samples' spread (1.4826 x median absolute deviation, robust to
    # outliers) and the spread of the runs' medians: samples of one process share its offset,
    # so only several runs show how far one process lands from the next
    noise: float
    n: int

    @classmethod
    def of(cls, runs: list[list[float]]) -> Level:
        s = sorted(v for run in runs for v in run)
        median = percentile(s, 50)
        within = 1.4826 * percentile(sorted(abs(v - median) for v in s), 50)
        medians = [percentile(sorted(run), 50) for run in runs if run]
        between = statistics.stdev(medians) if len(medians) > 1 else 0.0
        return cls(median=median, noise=max(within, between), n=len(s))


@dataclass
class Judge:
    good: Level
    bad: Level

    @property
    def noise(self) -> float:
        return max(self.good.noise, self.bad.noise)

    @property
    def midpoint(self) -> float:
        return (self.good.median + self.bad.median) / 2

    def separated(self) -> bool:
        gap = abs(self.bad.median - self.good.median)
        return gap > 0 and gap > SEPARATION * self.noise

    def verdict(self, level: Level) -> str | None:
        """"good", "bad", or None when the level is too near the midpoint to tell."""
        offset = level.median - self.midpoint
        if abs(offset) <= MARGIN * self.noise:
            return None
        toward_bad = (offset > 0) == (self.bad.median > self.good.median)
        return "bad" if toward_bad else "good"


def figure_samples(result: dict, scenario: str, metric: str) -> list[float] | None:
    """A figure's samples from a `commitbench run --json` result; None where it is absent."""
    for s in result.get("scenarios", []):
        if s.get("name") == scenario:
            for m in s.get("metrics", []):
                if m.get("name") == metric:
                    return [float(v) for v in m.get("samples") or []] or None
            return None
    return None


def scenario_names(result: dict) -> list[str]:
    return [s.get("name", "?") for s in result.get("scenarios", [])]


# -- the search -------------------------------------------------------------------------

@dataclass
class Tested:
    revision: Revision
    level: Level | None  # None: the figure was not measured (the scenario failed)
    role: str  # "good endpoint", "bad endpoint", or the verdict
    samples: list[float] = field(default_factory=list)


class Stop(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@dataclass
class Plan:
    repo: Path
    good: Revision
    bad: Revision
    between: list[Revision]  # good..bad on the ancestry path, oldest first, bad last
    entry: dict
    db_url: str
    options: list[str]


def _plan(args: argparse.Namespace) -> Plan:
    check_rounds(args.rounds)
    if args.metric not in FIGURES:
        raise ConfigError(f"--metric {args.metric!r}: not a registered figure (see benchmark/contracts/figures.py)")
    entry = scenario_entry(args.scenario)
    repo = repo_root(args.repo)
    good, bad = resolve(repo, args.good, "--good"), resolve(repo, args.bad, "--bad")
    between = ancestry_path(repo, good, bad)
    if not between:
        raise SetupError(f"--bad {bad.short} is not a descendant of --good {good.short}")
    if args.install is not None:
        check_install_template(args.install)
    check_run_options(args, {"scenarios": [entry]})
    return Plan(repo=repo, good=good, bad=bad, between=between, entry=entry,
                db_url=database_url(args), options=run_options(args))


def run(args: argparse.Namespace) -> int:
    try:
        plan = _plan(args)
        report_id = None if args.report is None else reports.report_id_of(args.report)
        if report_id is not None:
            reports.check_bisectable(plan.db_url, report_id)
    except (SetupError, ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    except CommandError as e:
        return error(str(e), e.code)
    signals = Signals()
    measurer = Measurer(signals, plan.db_url, plan.options, repository_name(plan.repo))
    say(f"bisect: {args.metric} of {args.scenario}, good {plan.good.short}, bad {plan.bad.short}: "
        f"{len(plan.between) - 1} commit(s) between; {args.rounds} run(s) each; database {display_url(plan.db_url)}")
    tested: list[Tested] = []
    with signals.installed():
        try:
            with Worktrees(plan.repo, args.workdir, signals, say) as trees:
                search = Search(args, plan, trees, measurer, tested)
                code, first_bad = search.run()
        except Stop as stop:
            code, first_bad = stop.code, None
    if (stopped := cancelled(signals, "bisect")) is not None:
        return stopped
    if tested:
        order = {rev.sha: i for i, rev in enumerate([plan.good, *plan.between])}
        tested = sorted(tested, key=lambda t: order[t.revision.sha])
        print_evidence(tested, args.metric, first_bad, code)
    if report_id is not None and first_bad is not None:
        return _record(plan.db_url, report_id, first_bad, evidence(tested, args, first_bad))
    return code


def evidence(tested: list[Tested], args: argparse.Namespace, first_bad: Revision) -> dict:
    """What `--report` stores: the search's inputs and every tested commit, oldest first."""
    return {"tool": "commitbench bisect", "metric": args.metric, "scenario": args.scenario, "rounds": args.rounds,
            "first_bad": first_bad.sha,
            "tested": [{"commit": t.revision.sha, "subject": t.revision.subject, "verdict": t.role,
                        "level": t.level.median if t.level else None, "noise": t.level.noise if t.level else None,
                        "n": t.level.n if t.level else 0} for t in tested]}


def _record(db_url: str, report_id: int, first_bad: Revision, found: dict) -> int:
    try:
        reports.record_bisected(db_url, report_id, first_bad.sha, found)
    except CommandError as e:
        import tempfile

        fd, path = tempfile.mkstemp(prefix=f"commitbench-bisect-report-{report_id}-", suffix=".json")
        with open(fd, "w") as f:
            json.dump(found, f, indent=2)
        return error(f"{e}; the evidence is in {path}: `commitbench reports bisected {report_id} --commit "
                     f"{first_bad.sha} --evidence {path}` records it", e.code)
    say(f"bisect: recorded into report #{report_id} (bisected, first bad commit {first_bad.short})")
    return exitcodes.OK


@dataclass
class Search:
    args: argparse.Namespace
    plan: Plan
    trees: Worktrees
    measurer: Measurer
    tested: list[Tested]

    def run(self) -> tuple[int, Revision | None]:
        plan = self.plan
        good, bad = self._endpoints()
        judge = Judge(good.level, bad.level)
        if not judge.separated():
            say(f"bisect: good and bad levels ({good.level.median:g}, {bad.level.median:g}) are not "
                f"{SEPARATION:g} noise units ({judge.noise:g}) apart: nothing to bisect")
            return COULD_NOT_DECIDE, None
        lo, hi = -1, len(plan.between) - 1  # between[lo] is good (-1: the good endpoint), between[hi] bad
        while hi - lo > 1:
            mid = (lo + hi) // 2
            say(f"bisect: {hi - lo - 1} commit(s) left; testing {plan.between[mid].short}")
            t = self._measure([plan.between[mid]])[0]
            t.role = (judge.verdict(t.level) or "undecided") if t.level else "not measured"
            if t.role not in ("good", "bad"):
                return COULD_NOT_DECIDE, None
            lo, hi = (mid, hi) if t.role == "good" else (lo, mid)
        return exitcodes.OK, plan.between[hi]

    def _endpoints(self) -> tuple[Tested, Tested]:
        good, bad = self._measure([self.plan.good, self.plan.bad], interleave=True)
        good.role, bad.role = "good endpoint", "bad endpoint"
        for t in (good, bad):
            if t.level is None:
                say(f"bisect: {t.role} {t.revision.short} has no {self.args.metric} (its scenario failed)")
                raise Stop(COULD_NOT_DECIDE)
        return good, bad

    def _measure(self, revisions: list[Revision], interleave: bool = False) -> list[Tested]:
        """Install the revisions, run each --rounds times (alternating when there are two),
        remove them again; their levels, in the order given."""
        sides = [self._add(rev) for rev in revisions]
        config = self.trees.dir / "scenario.json"
        config.write_text(json.dumps({"scenarios": [self.plan.entry]}))
        samples: dict[str, list[list[float]]] = {s.label: [] for s in sides}  # per run
        measured: dict[str, bool] = {s.label: True for s in sides}
        order = round_order(self.args.rounds) if interleave else [(r, "base") for r in range(1, self.args.rounds + 1)]
        for i, (r, which) in enumerate(order):
            side = sides[1] if which == "head" else sides[0]
            say(f"round {r}/{self.args.rounds}: {side.label} ...")
            out = self.trees.dir / f"run-{side.revision.short}-{i}.json"
            code = self.measurer.measure(side, BRANCH, [f"--config={config}", f"--json={out}"])
            if self.trees.signals.received is not None:
                raise Stop(code)
            if (stop := stop_code(code)) is not None:
                say(f"bisect: the run of {side.label} exited {code}; stopping")
                raise Stop(stop)
            result = json.loads(out.read_text()) if out.is_file() else {}
            if result and self.args.scenario not in scenario_names(result):
                error(f"--scenario {self.args.scenario!r}: the run has no such scenario (it ran "
                      f"{', '.join(scenario_names(result))})", exitcodes.BAD_INPUT)
                raise Stop(exitcodes.BAD_INPUT)
            found = figure_samples(result, self.args.scenario, self.args.metric)
            if found is None:
                measured[side.label] = False
            else:
                samples[side.label].append(found)
        for side in sides:
            self.trees.remove(side)
        done = [Tested(revision=s.revision, samples=[v for run in samples[s.label] for v in run], role="",
                       level=Level.of(samples[s.label]) if measured[s.label] and samples[s.label] else None)
                for s in sides]
        self.tested.extend(done)
        return done

    def _add(self, rev: Revision) -> Side:
        try:
            side = self.trees.add(rev.short, rev, self.args.install)
        except SetupError as e:
            error(str(e), exitcodes.BAD_INPUT)
            raise Stop(exitcodes.BAD_INPUT) from None
        if self.trees.signals.received is not None:
            raise Stop(exitcodes.CANCELLED_BASE + self.trees.signals.received)
        say(printable(side.describe()))
        return side


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
