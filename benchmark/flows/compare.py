"""The compare pipeline: two refs (or a file of cases) to a judged, rendered comparison.

`between` loads both sides' runs, judges them (verdicts/compare_runs.build) and finds the
base branch's open regression reports in one read session; `rendered` renders it once in
a format, the baseline notes included. `cases` judges `--input` JSON lines. Used by
`commitbench compare` and `commitbench ab`; neither prints here: they get a `Compared` or
a `Failure` (2 bad input, 3 database unavailable, 9 nothing to compare: `NotCompared`)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from db import query
from db.figures_read import LeftOut, NoRuns, resolve_ref

from ..analysis.compare import CompareOptions, compare, from_json, to_json
from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..verdicts import baseline, render
from ..verdicts.compare_runs import INSUFFICIENT, Paired, Report, build
from ..verdicts.thresholds import Thresholds, ThresholdError, from_options
from ..verdicts import explain_render
from . import explain, lines
from .errors import Failure
from .store import reading

FORMATS = ("text", "markdown", "json")
DIRECTIONS = ("lower", "higher", "info")
DEFAULT_HISTORY = 10
MAX_HISTORY = 10_000  # runs of history: beyond this a number is a typo (and overflows SQL's LIMIT)


@dataclass(frozen=True)
class Request:
    """What is compared and how: refs, --threshold/--thresholds/--context, the history."""

    base: str
    head: str
    threshold: float | None = None
    thresholds_file: Path | None = None
    context: str = "pr"
    history: int = DEFAULT_HISTORY
    repository: str | None = None

    def command(self, fmt: str) -> str:
        """The command line that gives this comparison again (with the same database)."""
        words = ["commitbench", "compare", "--base", self.base, "--head", self.head, "--context", self.context]
        words += ["--history", str(self.history)] if self.history != DEFAULT_HISTORY else []
        words += ["--threshold", str(self.threshold)] if self.threshold is not None else []
        words += ["--thresholds", str(self.thresholds_file)] if self.thresholds_file is not None else []
        words += ["--repository", self.repository] if self.repository is not None else []
        return shlex.join(words + ["--format", fmt])


@dataclass(frozen=True)
class Rounds:
    """How an A/B's rounds went: shown under the comparison's title (JSON: an "ab" key)."""

    rounds: int
    max_rounds: int
    stopped: str
    branches: tuple[str, str] | None = None  # where the job stored its base and head runs

    def line(self) -> str:
        where = f"; runs on {self.branches[0]} and {self.branches[1]}" if self.branches else ""
        return f"A/B: {self.rounds} round(s) of at most {self.max_rounds}; stopped: {self.stopped}{where}"

    def annotate(self, shown: str, fmt: str) -> str:
        if fmt == "json":
            doc = json.loads(shown)
            doc["ab"] = {"rounds": self.rounds, "max_rounds": self.max_rounds, "stopped": self.stopped}
            if self.branches:
                doc["ab"]["branches"] = list(self.branches)
            return json.dumps(doc, indent=2) + "\n"
        lines = shown.split("\n")
        if fmt == "markdown":  # the marker, then the title: the line goes under the title
            return "\n".join(lines[:2] + ["", render.md(self.line())] + lines[2:])
        return "\n".join(lines[:1] + [printable(self.line())] + lines[1:])


@dataclass
class Compared:
    """The judged comparison and the base branch's open reports on its series."""

    request: Request
    report: Report
    drift: list[baseline.Drift] = field(default_factory=list)
    ab: Rounds | None = None  # `commitbench ab`'s: rounds run and why it stopped
    explained: list = field(default_factory=list)  # flows/explain.Explained of each regressed scenario

    @property
    def verdict(self) -> str:
        return self.report.verdict


class NotCompared(Failure):
    """Nothing to compare (exit 9): the message is one short line; `as_json` is the whole
    story for `--format json` (every invalid run left out, with its reasons)."""

    def __init__(self, message: str, left_out: list[LeftOut]) -> None:
        super().__init__(message, exitcodes.NOT_COMPARABLE)
        self.left_out = left_out

    def as_json(self) -> str:
        return json.dumps({"format": "commitbench.compare/1", "verdict": INSUFFICIENT, "error": str(self),
                           "left_out": [{"run": x.label, "commit_id": x.commit_id, "reasons": x.reasons}
                                        for x in self.left_out]}, indent=2) + "\n"


def thresholds(threshold: float | None, file: Path | None, context: str) -> Thresholds:
    """The thresholds options name; bad input (Failure) for a bad value or file."""
    try:
        return from_options(threshold, file, context)
    except ThresholdError as e:
        raise Failure(str(e), exitcodes.BAD_INPUT) from None


def check_history(history: int) -> None:
    if not 0 <= history <= MAX_HISTORY:
        raise Failure(f"--history must be an integer from 0 to {MAX_HISTORY}, got {history}", exitcodes.BAD_INPUT)


def between(db: str | None, request: Request, paired: Paired | None = None) -> Compared:
    """Head's runs judged against base's, on the database `db` names; `paired`: round by
    round (`commitbench ab`, verdicts/compare_runs.py)."""
    judged_by = thresholds(request.threshold, request.thresholds_file, request.context)
    check_history(request.history)
    with reading(db) as session:
        try:
            base = resolve_ref(session, request.base, request.repository)
            head = resolve_ref(session, request.head, request.repository)
        except query.NotFound as e:
            raise Failure(str(e), exitcodes.BAD_INPUT) from None
        except NoRuns as e:
            raise NotCompared(f"could not compare: {e}", e.left_out) from None
        report = build(session, base, head, judged_by, history=request.history, paired=paired)
        drift = baseline.drifts(session, report)
        explained = explain.for_regressions(session, request.base, request.head, request.repository,
                                            {s.scenario for s in report.series if s.regressed})
    return Compared(request, report, drift, explained=explained)


def rendered(compared: Compared, fmt: str, full_report: str | None = None) -> str:
    """The comparison in `fmt` (text, markdown, json), with the baseline notes (and an A/B's
    line: its rounds and why it stopped)."""
    if fmt == "markdown":
        command = None if compared.ab else compared.request.command(fmt)  # compare alone would not pair the rounds
        shown = render.markdown(compared.report, command=command, full_report=full_report)
    else:
        shown = {"text": render.text, "json": render.as_json}[fmt](compared.report)
    shown = baseline.annotate(shown, compared.drift, fmt)
    shown = _with_explained(shown, compared.explained, fmt)
    return shown if compared.ab is None else compared.ab.annotate(shown, fmt)


def _with_explained(shown: str, explained: list, fmt: str) -> str:
    """What got slower in each regressed scenario whose two sides have profiles (`explain`),
    after the comparison (JSON: an "explain" key)."""
    if fmt == "json":
        doc = json.loads(shown)
        doc["explain"] = [explain_render.as_dict(x) for x in explained]
        return json.dumps(doc, indent=2) + "\n"
    if not explained:
        return shown
    return shown.rstrip("\n") + "\n\n" + explain_render.block(explained, fmt)


def cases(text: str, source: str, direction: str, threshold: float) -> list[str]:
    """`--input` JSON lines judged one by one: a JSON line out per case. Every line is read
    and checked first: bad input (Failure, naming the line) before anything is judged."""
    def parse(obj: dict) -> tuple:
        way = obj.get("direction", direction)
        if way not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {way!r}")
        return (obj.get("id"), *from_json(obj), way)

    options = CompareOptions(threshold=threshold)
    return [json.dumps(to_json(i, compare(b, h, d, options, history=hist)))
            for i, b, h, hist, d in lines.parsed(text, source, parse)]
