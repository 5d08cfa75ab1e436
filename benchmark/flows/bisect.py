"""Find the first commit between good and bad where one figure of one scenario changed
(`commitbench bisect`).

Each tested commit gets its own worktree and venv (run/worktrees.py) and runs only that
scenario, `rounds` times. The endpoints are measured first, their runs alternating, to learn
the two levels; then a binary search over `git log --ancestry-path good..bad` classifies each
commit by which level its figure lies nearer (analysis/bisection.py judges). `bisect` returns
a `Result`: the first bad commit or why there is none, and every tested commit's level; with a
first bad commit, what got slower: `explain`'s diff of the profiles its runs and the last good
commit's runs took of the scenario (every run profiles unless told --no-profile)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO

from ..analysis.bisection import SEPARATION, Judge, Level
from ..contracts import exitcodes
from ..contracts.config import KINDS, ConfigError, ScenarioParams
from ..contracts.escapes import printable
from ..contracts.figures import FIGURES
from ..run.worktrees import (Revision, SetupError, Side, Signals, Worktrees, ancestry_path, check_install_template,
                              repo_root, resolve)
from ..verdicts import explain_render
from . import explain, reports
from .errors import Failure
from .measure import Measurer, check_rounds, check_run_config, profiled, repository_name, round_order, stop_code
from .store import absolute_url

COULD_NOT_DECIDE = exitcodes.NOT_COMPARABLE  # 9, as compare's "could not compare"
BRANCH = "bisect"


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
    runs: list[str] = field(default_factory=list)  # the uids of its runs, stored: what `explained` reads


@dataclass
class Plan:
    repo: Path
    good: Revision
    bad: Revision
    between: list[Revision]  # good..bad on the ancestry path, oldest first, bad last
    metric: str
    scenario: str
    entry: dict
    rounds: int
    install: str | None
    workdir: Path | None
    db_url: str
    options: list[str]
    report_id: int | None = None


@dataclass
class Result:
    """`code`: 0 with `first_bad`, else why not (9 could not decide, or the exit code that
    stopped the search); `tested`: every measured commit, oldest first; `error`: the one-line
    reason a stop was bad input, when it was."""

    code: int
    first_bad: Revision | None = None
    tested: list[Tested] = field(default_factory=list)
    cancelled_by: int | None = None
    error: str | None = None
    explained: list = field(default_factory=list)  # flows/explain.Explained: last good -> first bad
    unexplained: str | None = None  # with a first bad commit and nothing explained: why, one line


class Stop(Exception):
    def __init__(self, code: int, error: str | None = None) -> None:
        self.code, self.error = code, error


def plan(*, repo: Path, good: str, bad: str, metric: str, scenario: str, rounds: int, install: str | None,
         workdir: Path | None, db: str | None, options: list[str], overrides: dict,
         report: str | None = None) -> Plan:
    """Everything checked before a worktree is made or a run is stored (ConfigError,
    SetupError, BadDatabaseURL: bad input; a Failure for the report)."""
    check_rounds(rounds)
    if metric not in FIGURES:
        raise ConfigError(f"--metric {metric!r}: not a registered figure (see benchmark/contracts/figures.py)")
    entry = scenario_entry(scenario)
    root = repo_root(repo)
    g, b = resolve(root, good, "--good"), resolve(root, bad, "--bad")
    between = ancestry_path(root, g, b)
    if not between:
        raise SetupError(f"--bad {b.short} is not a descendant of --good {g.short}")
    if install is not None:
        check_install_template(install)
    check_run_config(None, overrides, {"scenarios": [entry]})
    p = Plan(repo=root, good=g, bad=b, between=between, metric=metric, scenario=scenario, entry=entry, rounds=rounds,
             install=install, workdir=workdir, db_url=absolute_url(db), options=profiled(options))
    if report is not None:
        p.report_id = reports.report_id_of(report)
        reports.check_bisectable(p.db_url, p.report_id)
    return p


def bisect(plan: Plan, say: Callable[[str], None], output: IO | None = None) -> Result:
    """The endpoints, then the binary search; progress lines to `say`, the runs' output to `output`."""
    signals = Signals()
    measurer = Measurer(signals, plan.db_url, plan.options, repository_name(plan.repo), output)
    tested: list[Tested] = []
    error = None
    with signals.installed():
        try:
            with Worktrees(plan.repo, plan.workdir, signals, say) as trees:
                code, first_bad = Search(plan, trees, measurer, tested, say).run()
        except Stop as stop:
            code, first_bad, error = stop.code, None, stop.error
    order = {rev.sha: i for i, rev in enumerate([plan.good, *plan.between])}
    result = Result(code=code, first_bad=first_bad, tested=sorted(tested, key=lambda t: order[t.revision.sha]),
                    cancelled_by=signals.received, error=error)
    if first_bad is not None and result.cancelled_by is None:
        result.explained, result.unexplained = explained(plan.db_url, plan.scenario, result.tested, first_bad)
    return result


def explained(db_url: str, scenario: str, tested: list[Tested], first_bad: Revision) -> tuple[list, str | None]:
    """What got slower from the last good commit (the tested one before the first bad; the
    search always measures it) to the first bad: `explain` on their runs' profiles of the
    scenario, or none and the one-line reason (a side not profiled, its runs not stored).
    A missing profile never fails the bisection."""
    at = next(i for i, t in enumerate(tested) if t.revision.sha == first_bad.sha)
    good, bad = tested[at - 1], tested[at]
    try:
        return explain.of_stored_runs(db_url, (good.revision.short, good.runs), (bad.revision.short, bad.runs),
                                      scenario), None
    except Failure as e:
        return [], f"not shown: {e}"


def evidence(plan: Plan, result: Result) -> dict:
    """What `--report` stores: the search's inputs, every tested commit, oldest first, and
    what got slower at the first bad commit ("explain": explain's JSON per scenario)."""
    return {"tool": "commitbench bisect", "metric": plan.metric, "scenario": plan.scenario, "rounds": plan.rounds,
            "first_bad": result.first_bad.sha if result.first_bad else None,
            "tested": [{"commit": t.revision.sha, "subject": t.revision.subject, "verdict": t.role,
                        "level": t.level.median if t.level else None, "noise": t.level.noise if t.level else None,
                        "n": t.level.n if t.level else 0} for t in result.tested],
            "explain": [explain_render.as_dict(x) for x in result.explained], "explain_note": result.unexplained}


def keep_evidence(report_id: int, found: dict) -> Path:
    """The evidence in a JSON file, for `reports bisected` when recording it failed."""
    fd, path = tempfile.mkstemp(prefix=f"commitbench-bisect-report-{report_id}-", suffix=".json")
    with open(fd, "w") as f:
        json.dump(found, f, indent=2)
    return Path(path)


@dataclass
class Search:
    plan: Plan
    trees: Worktrees
    measurer: Measurer
    tested: list[Tested]
    say: Callable[[str], None]

    def run(self) -> tuple[int, Revision | None]:
        plan = self.plan
        good, bad = self._endpoints()
        judge = Judge(good.level, bad.level)
        if not judge.separated():
            self.say(f"bisect: good and bad levels ({good.level.median:g}, {bad.level.median:g}) are not "
                     f"{SEPARATION:g} noise units ({judge.noise:g}) apart: nothing to bisect")
            return COULD_NOT_DECIDE, None
        lo, hi = -1, len(plan.between) - 1  # between[lo] is good (-1: the good endpoint), between[hi] bad
        while hi - lo > 1:
            mid = (lo + hi) // 2
            self.say(f"bisect: {hi - lo - 1} commit(s) left; testing {plan.between[mid].short}")
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
                self.say(f"bisect: {t.role} {t.revision.short} has no {self.plan.metric} (its scenario failed)")
                raise Stop(COULD_NOT_DECIDE)
        return good, bad

    def _measure(self, revisions: list[Revision], interleave: bool = False) -> list[Tested]:
        """Install the revisions, run each `rounds` times (alternating when there are two),
        remove them again; their levels, in the order given."""
        plan, rounds = self.plan, self.plan.rounds
        sides = [self._add(rev) for rev in revisions]
        config = self.trees.dir / "scenario.json"
        config.write_text(json.dumps({"scenarios": [plan.entry]}))
        samples: dict[str, list[list[float]]] = {s.label: [] for s in sides}  # per run
        runs: dict[str, list[str]] = {s.label: [] for s in sides}
        measured: dict[str, bool] = {s.label: True for s in sides}
        order = round_order(rounds) if interleave else [(r, "base") for r in range(1, rounds + 1)]
        for i, (r, which) in enumerate(order):
            side = sides[1] if which == "head" else sides[0]
            self.say(f"round {r}/{rounds}: {side.label} ...")
            out = self.trees.dir / f"run-{side.revision.short}-{i}.json"
            code = self.measurer.measure(side, BRANCH, [f"--config={config}", f"--json={out}"])
            if self.trees.signals.received is not None:
                raise Stop(code)
            if (stop := stop_code(code)) is not None:
                self.say(f"bisect: the run of {side.label} exited {code}; stopping")
                raise Stop(stop)
            result = json.loads(out.read_text()) if out.is_file() else {}
            if result and plan.scenario not in scenario_names(result):
                raise Stop(exitcodes.BAD_INPUT, f"--scenario {plan.scenario!r}: the run has no such scenario (it ran "
                                                f"{', '.join(scenario_names(result))})")
            if result.get("run_uid"):
                runs[side.label].append(result["run_uid"])
            found = figure_samples(result, plan.scenario, plan.metric)
            if found is None:
                measured[side.label] = False
            else:
                samples[side.label].append(found)
        for side in sides:
            self.trees.remove(side)
        done = [Tested(revision=s.revision, samples=[v for run in samples[s.label] for v in run], role="",
                       runs=runs[s.label],
                       level=Level.of(samples[s.label]) if measured[s.label] and samples[s.label] else None)
                for s in sides]
        self.tested.extend(done)
        return done

    def _add(self, rev: Revision) -> Side:
        try:
            side = self.trees.add(rev.short, rev, self.plan.install)
        except SetupError as e:
            raise Stop(exitcodes.BAD_INPUT, str(e)) from None
        if self.trees.signals.received is not None:
            raise Stop(exitcodes.CANCELLED_BASE + self.trees.signals.received)
        self.say(printable(side.describe()))
        return side

