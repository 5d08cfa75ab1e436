"""A compare Report as a terminal table, markdown (job summary, PR comment) and JSON.

Markdown starts with MARKER, which `commitbench pr-comment` uses to find and edit its one
comment. Text from outside (branch names, scenario errors) is escaped for where it goes:
control characters for the terminal, markdown and HTML syntax and @mentions for GitHub.
What matters comes first: correctness, failed scenarios, regressions, then the rest.
"""

from __future__ import annotations

import json
from typing import Any

from ..analysis.compare import CompareOptions
from ..contracts.escapes import printable
from ..contracts.units import fmt
from .compare_runs import IMPROVEMENT, INSUFFICIENT, NO_CHANGE, NOISY, REGRESSION, FigureReport, Report
from .notes import notes

MARKER = "<!-- commitbench-compare -->"
CONFIDENCE = CompareOptions().confidence
ORDER = {REGRESSION: 0, NOISY: 1, INSUFFICIENT: 2, IMPROVEMENT: 3, NO_CHANGE: 4}
SHOWN = {REGRESSION: "REGRESSION", IMPROVEMENT: "improvement", NO_CHANGE: "no change", NOISY: "noisy",
         INSUFFICIENT: "insufficient"}
HEADLINE = {REGRESSION: "regression found", NO_CHANGE: "no regression", INSUFFICIENT: "could not compare"}


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.1f} %"


def interval(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}] %"


def level(value: float | None, unit: str) -> str:
    return "-" if value is None else fmt(value, unit)


def rows(report: Report) -> list[tuple[str, FigureReport]]:
    """(scenario, figure) pairs, worst verdict first, then by scenario and figure."""
    out = [(s.scenario, f) for s in report.series for f in s.figures]
    return sorted(out, key=lambda r: (ORDER.get(r[1].comparison.verdict, 9), r[0], r[1].figure))


def title(report: Report) -> str:
    why = " (no figure could be decided: too noisy; more runs decide, e.g. `commitbench ab`)" if report.undecided \
        else ""
    return f"head {report.head.label} vs base {report.base.label}: {HEADLINE[report.verdict]}{why}"


def problems(report: Report) -> list[str]:
    """Correctness first, then failed scenarios, each one line."""
    lines = [f"correctness regression in {s.scenario}: {c}" for s in report.series for c in s.correctness]
    lines += [f"{s.scenario} failed on head (succeeded on base): {first_line(s.failure)}"
              for s in report.series if s.failure]
    return lines


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else "failed"


def text(report: Report) -> str:
    out = [printable(title(report))]
    out += [printable(p) for p in problems(report)]
    table = [["SCENARIO", "FIGURE", "BASE", "HEAD", "CHANGE", "CI", "THRESHOLD", "VERDICT", "RUNS B/H/HIST"]]
    for scenario, f in rows(report):
        c = f.comparison
        table.append([scenario, f.figure, level(c.base_level, f.unit), level(c.head_level, f.unit), pct(c.change),
                      interval(c.ci), _threshold(f),
                      SHOWN.get(c.verdict, c.verdict), f"{c.base_runs}/{c.head_runs}/{c.history_runs}"])
    if len(table) > 1:
        table = [[printable(c) for c in r] for r in table]
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    out += _left_out(report, printable)
    return "\n".join(out) + "\n"


def _threshold(f: FigureReport) -> str:
    if f.direction == "info":
        return "info"
    return "any" if f.unit == "count" else f"{f.threshold:.0%}"


def _left_out(report: Report, esc) -> list[str]:
    out = [esc(f"{s.scenario}: {s.note}") for s in report.series if s.note]
    if report.only_base:
        out.append(esc("only on base (not compared): " + ", ".join(report.only_base)))
    if report.only_head:
        out.append(esc("only on head (not compared): " + ", ".join(report.only_head)))
    return out + [esc(n) for n in notes(report)]


def md(value: str) -> str:
    """Outside text inside markdown: no table breaks, HTML, code spans or @mentions."""
    value = " ".join(printable(value).split())
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`"), ("@", "&#64;"),
                 ("*", "\\*"), ("_", "\\_"), ("[", "\\["), ("]", "\\]")):
        value = value.replace(a, b)
    return value


def markdown(report: Report) -> str:
    icon = {REGRESSION: ":x:", NO_CHANGE: ":white_check_mark:", INSUFFICIENT: ":grey_question:"}[report.verdict]
    counts = report.counts()
    summary = ", ".join(f"{n} {SHOWN.get(v, v)}" for v, n in sorted(counts.items(), key=lambda kv: ORDER.get(kv[0], 9)))
    out = [MARKER, f"### commitbench: {icon} {md(title(report))}", ""]
    if summary:
        out += [f"{summary} (per figure, tested at the level of runs; CI = {CONFIDENCE:.0%} confidence interval of "
                "the change of the median)", ""]
    out += [f"- **{md(p)}**" for p in problems(report)]
    if problems(report):
        out.append("")
    table = rows(report)
    head = ["| scenario | figure | base | head | change | CI | verdict | runs b/h/hist |",
            "|---|---|---:|---:|---:|---|---|---|"]

    def line(scenario: str, f: FigureReport) -> str:
        c = f.comparison
        verdict = SHOWN.get(c.verdict, c.verdict)
        verdict = f"**{verdict}**" if c.verdict == REGRESSION else verdict
        return (f"| {md(scenario)} | {md(f.figure)} | {level(c.base_level, f.unit)} | {level(c.head_level, f.unit)} "
                f"| {pct(c.change)} | {interval(c.ci)} | {verdict} | {c.base_runs}/{c.head_runs}/{c.history_runs} |")

    notable = [r for r in table if r[1].comparison.verdict not in (NO_CHANGE,)]
    if notable:
        out += head + [line(*r) for r in notable] + [""]
    rest = [r for r in table if r not in notable]
    if rest:
        out += [f"<details><summary>{len(rest)} figure{'s' if len(rest) != 1 else ''} with no change</summary>", ""] + head \
            + [line(*r) for r in rest] + ["", "</details>", ""]
    out += [f"- {md(x)}" for x in _left_out(report, lambda s: s)]
    return "\n".join(out).rstrip() + "\n"


def as_json(report: Report) -> str:
    def figure(f: FigureReport) -> dict[str, Any]:
        c = f.comparison
        return {"figure": f.figure, "unit": f.unit, "direction": f.direction, "threshold": f.threshold,
                "verdict": c.verdict, "change": c.change, "ci": list(c.ci) if c.ci else None,
                "base": c.base_level, "head": c.head_level, "base_runs": c.base_runs, "head_runs": c.head_runs,
                "history_runs": c.history_runs, "noise": c.noise, "reason": c.reason}

    def side(r) -> dict[str, Any]:
        return {"ref": r.ref, "how": r.how, "branch": r.branch, "commit_id": r.commit_id, "runs": len(r.benchmark_ids)}

    doc = {"format": "commitbench.compare/1", "verdict": report.verdict, "base": side(report.base),
           "head": side(report.head), "problems": problems(report),
           "series": [{"series_key": s.series_key, "scenario": s.scenario, "model": s.model_id, "gpu": s.gpu_name,
                       "correctness": s.correctness, "failure": s.failure, "note": s.note,
                       "figures": [figure(f) for f in s.figures]} for s in report.series],
           "only_base": report.only_base, "only_head": report.only_head}
    return json.dumps(doc, indent=2) + "\n"
