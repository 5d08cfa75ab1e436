"""Baselines that cannot drift silently: what a compare says about the base branch's open reports.

A compare against a branch judges head against that branch's latest runs, which already
sit at the moved level: a step main took before the pull request is not counted against
it. So that the step is not forgotten either, every comparison whose base branch has
active regression reports (open, confirmed, bisected: db/reports.py) for the compared
series says, per series, "main has been slower since <commit> (report #N): not this PR".
An accepted report is the branch's chosen level and a fixed one is gone: neither is noted
(the tracking issue keeps listing accepted ones). Kept apart from render.py so the
comparison's own rendering does not change; compare.py adds these lines in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from db.reports import ReportView, active_at

from ..contracts.escapes import printable
from ..contracts.figures import FIGURES
from .compare_runs import Report
from .render import md, pct

SLOWER_UNITS = ("s", "tokens/s")  # figures of speed: "slower"; any other figure: "worse"


@dataclass(frozen=True)
class Drift:
    """One series of the base branch that moved the worse way and nobody has decided on."""

    branch: str
    scenario: str
    commit_id: str
    reports: tuple[ReportView, ...]

    @property
    def word(self) -> str:
        units = {FIGURES[r.figure].unit if r.figure in FIGURES else "" for r in self.reports}
        return "slower" if units <= set(SLOWER_UNITS) else "worse"

    def line(self, esc: Callable[[str], str], code: Callable[[str], str]) -> str:
        figures = ", ".join(f"{r.figure} {pct(r.magnitude)}" for r in self.reports)
        numbers = ", ".join(f"#{r.report_id}" + ("" if r.state == "open" else f" {r.state}") for r in self.reports)
        bisected = sorted({r.first_bad_commit[:12] for r in self.reports if r.first_bad_commit})
        first_bad = f"; first bad commit {', '.join(code(c) for c in bisected)}" if bisected else ""
        return (f"{esc(self.branch)} has been {self.word} since {code(self.commit_id[:12])} in {esc(self.scenario)} "
                f"({esc(figures)}; report{'s' if len(self.reports) > 1 else ''} {numbers}{first_bad}): not this PR")


def drifts(session: Session, report: Report) -> list[Drift]:
    base = report.base
    if base.branch is None:
        return []
    scenario = {s.series_key: s.scenario for s in report.series}
    found = active_at(session, base.branch, base.benchmark_ids, list(scenario))
    groups: dict[tuple[str, str], list[ReportView]] = {}
    for r in found:
        groups.setdefault((r.series_key, r.commit_id), []).append(r)
    return [Drift(base.branch, scenario[key], commit, tuple(rs)) for (key, commit), rs in groups.items()]


def annotate(shown: str, found: list[Drift], fmt: str) -> str:
    """The rendered comparison with the notes after its title (JSON: a "baseline_reports" key)."""
    if fmt == "json":
        doc = json.loads(shown)
        doc["baseline_reports"] = [{"branch": d.branch, "scenario": d.scenario, "since": d.commit_id,
                                    "reports": [r.report_id for r in d.reports],
                                    "note": d.line(str, str)} for d in found]
        return json.dumps(doc, indent=2) + "\n"
    if not found:
        return shown
    lines = shown.split("\n")
    if fmt == "markdown":  # the marker, then the title: the notes go under the title
        notes = [f"- :warning: {d.line(md, lambda c: f'`{c}`')}" for d in found]
        return "\n".join(lines[:2] + [""] + notes + lines[2:])
    return "\n".join(lines[:1] + [f"note: {d.line(printable, str)}" for d in found] + lines[1:])
