"""The report's compare section: the latest commit against the previous commit of the
branch, judged by `commitbench compare` itself (verdicts/compare_runs.build, with compare's
default thresholds and history), so the page and the terminal tell one story.

Not the previous run: a second run of the same commit is a replicate (compare pools it into
the head side), never a "change". Not a bare change of the median either: each figure shows
compare's verdict class (regression, suspicious, missing, noisy, insufficient, improvement,
no change), its interval and the noise band, and what head did not measure is "missing",
never "worse". The section names the compare command that gives the same verdicts, and under
it, for each regressed scenario whose two sides were profiled, what got slower: compare's own
explain section (flows/explain.for_regressions, the one flow this part calls: the report shows
what compare shows), drawn as a bar chart (html_movers).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmark.flows.explain import for_regressions
from benchmark.verdicts import render
from benchmark.verdicts.compare_runs import (IMPROVEMENT, INSUFFICIENT, MISSING, NO_CHANGE, NOISY, REGRESSION,
                                             SUSPICIOUS, FigureReport, Report, build)
from benchmark.verdicts.thresholds import from_options
from db import query
from db.figures_read import COUNTED, NoRuns, resolve_ref
from db.models import Benchmark

from . import html_movers
from .html_svg import esc

HISTORY = 10  # compare's default --history (flows/compare.DEFAULT_HISTORY)
FINISHED = ("succeeded", "failed", "cancelled")
# a verdict's colour: worse, leaning worse, better; the undecided and the unchanged are not coloured
CSS_CLASS = {REGRESSION: "bad", SUSPICIOUS: "warn", MISSING: "warn", NOISY: "same", INSUFFICIENT: "same",
             IMPROVEMENT: "good", NO_CHANGE: "same"}


@dataclass
class Judged:
    """The latest commit judged against the previous one, or why it could not be."""

    head: str | None  # commit ids
    base: str | None
    report: Report | None = None
    note: str | None = None  # why nothing was compared
    explained: list = field(default_factory=list)  # flows/explain.Explained of each regressed, profiled scenario

    @property
    def command(self) -> str | None:
        if not (self.base and self.head):
            return None
        return shlex.join(["commitbench", "compare", "--base", self.base[:12], "--head", self.head[:12]])

    def figure(self, series_key: str, name: str) -> FigureReport | None:
        if self.report is None:
            return None
        return next((f for s in self.report.series if s.series_key == series_key for f in s.figures
                     if f.figure == name), None)


def judge(session: Session, branch: str | None, latest: query.RunSummary) -> Judged:
    """compare --base PREVIOUS_COMMIT --head LATEST_COMMIT, where the previous commit is the
    newest other commit of `branch`, at or before the latest's, with a finished valid run."""
    head = latest.commit_id
    if not head:
        return Judged(None, None, note="the latest run names no commit: nothing to compare")
    finished = Benchmark.status.in_(FINISHED) | Benchmark.status.is_(None)
    at = select(query.commit_order()).where(Benchmark.benchmark_id == latest.benchmark_id).scalar_subquery()
    base = session.scalar(select(Benchmark.commit_id)
                          .where(Benchmark.branch == branch, finished, COUNTED, Benchmark.commit_id.is_not(None),
                                 Benchmark.commit_id != head, query.commit_order() <= at)
                          .order_by(query.commit_order().desc(), Benchmark.started_at.desc(),
                                    Benchmark.benchmark_id.desc()).limit(1))
    if base is None:
        return Judged(head, None, note=f"no earlier commit of {branch or 'this branch'} with a finished valid run "
                                       "to compare with yet")
    try:
        base_runs = resolve_ref(session, f"commit:{base}")
        head_runs = resolve_ref(session, f"commit:{head}")
    except (NoRuns, query.NotFound) as e:
        return Judged(head, base, note=f"could not compare: {e}")
    report = build(session, base_runs, head_runs, from_options(None, None), history=HISTORY)
    explained = for_regressions(session, f"commit:{base}", f"commit:{head}", None,
                                {s.scenario for s in report.series if s.regressed})
    return Judged(head, base, report, explained=explained)


def verdict_chip(f: FigureReport) -> str:
    """A figure's verdict as compare words it, coloured by its class, with its change."""
    change = "" if f.comparison.change is None else " " + render.pct(f.comparison.change)
    return f'<span class="chg {CSS_CLASS.get(f.verdict, "same")}">{esc(render.shown(f) + change)}</span>'


def _row(scenario: str, f: FigureReport) -> str:
    c = f.comparison
    noise = "-" if c.noise is None else f"{c.noise * 100:.1f} %"
    return (f'<tr><td class="scenario" title="{esc(scenario)}">{esc(scenario)}</td>'
            f"<td><code>{esc(f.figure)}</code></td>"
            f'<td class="num">{esc(render.level(c.base_level, f.unit))}</td>'
            f'<td class="num">{esc(render.level(c.head_level, f.unit))}</td>'
            f'<td class="num">{esc(render.pct(c.change))}</td><td class="num">{esc(render.interval(c.ci))}</td>'
            f'<td class="num">{esc(noise)}</td>'
            f'<td class="verdict chg {CSS_CLASS.get(f.verdict, "same")}" title="{esc(c.reason)}">'
            f"{esc(render.shown(f))}</td><td>{'yes' if f.gating else 'no'}</td>"
            f'<td class="num">{c.base_runs}/{c.head_runs}/{c.history_runs}</td></tr>')


HEAD = ("<thead><tr><th>scenario</th><th>figure</th><th class=\"num\">base</th><th class=\"num\">head</th>"
        "<th class=\"num\">change</th><th class=\"num\">CI</th><th class=\"num\">noise</th><th>verdict</th>"
        "<th>gates</th><th class=\"num\">runs b/h/hist</th></tr></thead>")


def section(judged: Judged) -> str:
    out = ['<section id="compare"><h2>Latest commit against the previous one</h2>']
    if judged.report is None:
        return "".join(out) + f'<p class="muted">{esc(judged.note)}.</p></section>'
    report = judged.report
    counts = "".join(f'<span class="chg {CSS_CLASS[v] if n else "same"} count">{n} {esc(v.replace("_", " "))}</span> '
                     for v, n in report.counts().items())  # a class none has is not coloured
    out.append(f"<p class=\"headline\"><b>{esc(render.title(report))}</b></p>"
               f'<p class="counts">{counts}<span class="muted">figures per verdict, as <code>'
               f"{esc(judged.command)}</code> counts them</span></p>")
    out += [f'<p class="alert">{esc(p)}</p>' for p in render.problems(report)]
    out += [f"<p>{esc(line)}</p>" for line in [render.to_decide(report)] if line]
    out.append(f'<p class="muted">baseline {esc(render.baseline(report))}<br>noise band: '
               f"{esc(render.noise_band(report))}. A figure is coloured by its verdict, never by a bare change "
               "of the median.</p>")
    rows = render.rows(report)
    decided = [_row(*r) for r in rows if r[1].verdict != NO_CHANGE]
    unchanged = [_row(*r) for r in rows if r[1].verdict == NO_CHANGE]
    if decided:
        out.append(f'<table class="compare">{HEAD}<tbody>{"".join(decided)}</tbody></table>')
    if unchanged:
        out.append(f"<details><summary>{len(unchanged)} figure{'s' if len(unchanged) != 1 else ''} with no change"
                   f'</summary><table class="compare">{HEAD}<tbody>{"".join(unchanged)}</tbody></table></details>')
    if report.missing:
        out.append("<p><b>Missing on head</b> (head did not measure these: compare counts them missing, never as a "
                   'regression)</p><ul class="missing">'
                   + "".join(f"<li><code>{esc(render.missing_name(m))}</code>: {esc(m.reason)}</li>"
                             for m in report.missing) + "</ul>")
    out += [f'<p class="muted">{esc(line)}</p>' for line in render.left_out(report, lambda s: s)]
    out += [html_movers.section(x) for x in judged.explained]
    return "".join(out) + "</section>"
