"""A compare Report as a terminal table, markdown (job summary, PR comment) and JSON.

Markdown starts with MARKER, which `commitbench pr-comment` uses to find and edit its one
comment. Text from outside (branch names, scenario errors) is escaped for where it goes:
control characters for the terminal, markdown and HTML syntax and @mentions for GitHub.
What matters comes first: correctness, failed scenarios, regressions (gating, then
informational, each with its evidence), then the rest.

The markdown (the PR comment) names its baseline (commit, runs, runners) and the noise band,
counts every verdict class, folds the no-change rows into <details>, and ends with the
command that reproduces it. It never passes `limit` characters (GitHub refuses a comment over
65536): rows that do not fit are left out from the end, and a line says how many and where
the full report is.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from ..analysis.compare import CompareOptions
from ..contracts.escapes import aligned, printable
from ..contracts.units import fmt
from .compare_runs import (CLASSES, IMPROVEMENT, INSUFFICIENT, MISSING, NO_CHANGE, NOISY, REGRESSION, SUSPICIOUS,
                           FigureReport, Missing, Report, RunInfo)
from .notes import notes

MARKER = "<!-- commitbench-compare -->"
CONFIDENCE = CompareOptions().confidence
ORDER = {v: i for i, v in enumerate(CLASSES)}
SHOWN = {REGRESSION: "REGRESSION", IMPROVEMENT: "improvement", NO_CHANGE: "no change", NOISY: "noisy",
         INSUFFICIENT: "insufficient", SUSPICIOUS: "suspicious", MISSING: "missing"}
MAX_COMMENT = 65536  # GitHub's limit on a comment body
SHOWN_RUNS = 3  # runs named per side; the rest are counted
HEADLINE = {REGRESSION: "regression found", NO_CHANGE: "no regression", INSUFFICIENT: "could not compare"}
UNDECIDED_LEAD = "undecided gating figures"
NAMED_UNDECIDED = 8  # undecided gating figures named in the line that lists them; the rest are counted


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.1f} %"


def interval(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}] %"


def level(value: float | None, unit: str) -> str:
    return "-" if value is None else fmt(value, unit)


def rows(report: Report) -> list[tuple[str, FigureReport]]:
    """(scenario, figure) pairs, worst verdict first (a gating regression before an
    informational one), then by scenario and figure."""
    out = [(s.scenario, f) for s in report.series for f in s.figures]
    return sorted(out, key=lambda r: (ORDER.get(r[1].verdict, 99), not r[1].gating, r[0], r[1].figure))


def shown(f: FigureReport) -> str:
    v = SHOWN.get(f.verdict, f.verdict)
    return f"{v} (informational)" if f.verdict == REGRESSION and not f.gating else v


def counts_line(report: Report) -> str:
    counts = report.counts()
    informational = len(report.informational_regressions)
    out = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in counts.items())
    return out + (f" ({informational} of the regressions informational)" if informational else "")


def runs_named(runs: list[RunInfo]) -> str:
    names = [r.run_uid[:8] if r.run_uid else f"#{r.benchmark_id}" for r in runs]
    more = f" and {len(names) - SHOWN_RUNS} more" if len(names) > SHOWN_RUNS else ""
    hosts = sorted({r.runner_host for r in runs if r.runner_host})
    return (f"run{'s' if len(names) != 1 else ''} {', '.join(names[:SHOWN_RUNS])}{more}"
            + (f" on {', '.join(hosts)}" if hosts else " (runner unknown)"))


def baseline(report: Report) -> str:
    def side(ref, runs: list[RunInfo]) -> str:
        commit = f" at commit {ref.commit_id[:8]}" if ref.how == "run" and ref.commit_id else ""
        return f"{ref.label}{commit}: {runs_named(runs)}"
    return f"{side(report.base, report.base_runs)}; head {side(report.head, report.head_runs)}"


def noise_band(report: Report) -> str:
    noises = sorted(f.comparison.noise for s in report.series for f in s.figures if f.comparison.noise is not None)
    hist = max((f.comparison.history_runs for s in report.series for f in s.figures), default=0)
    where = f"the base history of up to {hist} runs and the runs themselves" if hist else "the runs themselves"
    if not noises:
        band = "run-to-run noise unknown (one run a side and no history: nothing estimates it)"
    else:
        band = (f"run-to-run noise {noises[0] * 100:.1f}-{noises[-1] * 100:.1f} % "
                f"(median {statistics.median(noises) * 100:.1f} %) over {len(noises)} figures, from {where}")
    thresholds = sorted({f.threshold for s in report.series for f in s.figures if f.unit != "count"})
    thr = "/".join(f"{t:.0%}" for t in thresholds) or "-"
    return f"{band}; {CONFIDENCE:.0%} intervals; thresholds {thr} ({report.context} context)"


def title(report: Report) -> str:
    if report.undecided:
        tally = ", ".join(f"{n} {v}" for v in (NOISY, INSUFFICIENT)
                          if (n := sum(f.verdict == v for _, f in report.undecided_gating)))
        # an A/B's rounds ran out: advice to run an A/B would send the reader in a circle
        more = "more rounds decide: a larger `--max-rounds` or `--budget-minutes`" if report.paired is not None \
            else "more runs on each side decide, e.g. `commitbench ab`"
        return (f"head {report.head.label} vs base {report.base.label}: could not decide (no gating figure could be "
                f"decided: {tally}; {more})")
    if report.verdict == INSUFFICIENT and any(s.figures for s in report.series):
        return (f"head {report.head.label} vs base {report.base.label}: could not decide (no gating figure was "
                "compared: informational figures and tallies decide nothing)")
    return f"head {report.head.label} vs base {report.base.label}: {HEADLINE[report.verdict]}"


def to_decide(report: Report) -> str | None:
    """Which gating figures were left noisy or insufficient, and what would decide them; None
    when every gating figure was decided. Said whether or not others decided the comparison."""
    left = report.undecided_gating
    if not left:
        return None
    parts = []
    for verdict, remedy in ((NOISY, _more_runs(report)),
                            (INSUFFICIENT, "a valid run with samples of the scenario on each side")):
        names = [f"{scenario} {f.figure}" for scenario, f in left if f.verdict == verdict]
        if names:
            more = f" and {len(names) - NAMED_UNDECIDED} more" if len(names) > NAMED_UNDECIDED else ""
            parts.append(f"{verdict} {', '.join(names[:NAMED_UNDECIDED])}{more} (would be decided by {remedy})")
    whole = "none decided" if report.undecided else "the others decided"
    return f"{UNDECIDED_LEAD} ({whole}): " + "; ".join(parts)


def _more_runs(report: Report) -> str:
    """The remedy for noisy figures: more runs a side narrow the interval (with one run a side
    and no history they are what estimates the noise at all); ab makes them on one machine."""
    ab = "commitbench ab"
    if report.base.commit_id and report.head.commit_id:
        ab += f" --base {report.base.commit_id[:12]} --head {report.head.commit_id[:12]}"
    if report.paired is not None:  # this was an A/B: its rounds ran out
        return (f"more rounds (a larger `--max-rounds` or `--budget-minutes`), or main's history on this runner "
                f"as the noise prior (`--prior-branch`): `{ab} --max-rounds N`")
    return (f"more runs on each side, or base history on the same runner: `{ab}` runs both interleaved on one "
            "machine")


def problems(report: Report) -> list[str]:
    """Correctness first, then failed scenarios, each one line."""
    lines = [f"correctness regression in {s.scenario}: {c}" for s in report.series for c in s.correctness]
    lines += [f"{s.scenario} failed on head (succeeded on base): {first_line(s.failure)}"
              for s in report.series if s.failure]
    return lines


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else "failed"


def text(report: Report) -> str:
    out = [printable(title(report))] + [printable(p) for p in problems(report)]
    out += [printable(line) for line in [to_decide(report)] if line]
    out += [printable("baseline " + baseline(report)), printable("noise band: " + noise_band(report)),
            printable("verdicts: " + counts_line(report))]
    table = [["SCENARIO", "FIGURE", "BASE", "HEAD", "CHANGE", "CI", "THRESHOLD", "VERDICT", "GATES", "RUNS B/H/HIST"]]
    for scenario, f in rows(report):
        c = f.comparison
        table.append([scenario, f.figure, level(c.base_level, f.unit), level(c.head_level, f.unit), pct(c.change),
                      interval(c.ci), _threshold(f), shown(f), "yes" if f.gating else "no",
                      f"{c.base_runs}/{c.head_runs}/{c.history_runs}"])
    if len(table) > 1:
        out += aligned(table)
    out += [printable(f"evidence, {line}") for line in evidence_lines(rows(report))]
    out += [printable(f"missing: {missing_name(m)}: {m.reason}") for m in report.missing]
    out += left_out(report, printable)
    return "\n".join(out) + "\n"


def evidence_lines(shown_rows: list[tuple[str, FigureReport]]) -> list[str]:
    """One line per scenario with a regressed figure: what regressed, then its scenario's
    deltas, e.g. "compiled_decode: time_to_next_token_secs +8.0 %; GPU util 92 → 71 % in
    decode; host-bound"."""
    by_scenario: dict[str, list[FigureReport]] = {}
    for scenario, f in shown_rows:
        if f.evidence is not None:
            by_scenario.setdefault(scenario, []).append(f)
    def moved(f: FigureReport) -> str:  # a tally from 0 has no relative change: its delta follows
        return f.figure if f.comparison.change is None else f"{f.figure} {pct(f.comparison.change)}"
    return [f"{scenario}: " + ", ".join(map(moved, figs))
            + f"; {figs[0].evidence.summary()}" for scenario, figs in by_scenario.items()]


def missing_name(m: Missing) -> str:
    return m.scenario if m.figure is None else f"{m.scenario} {m.figure}"


def _threshold(f: FigureReport) -> str:
    if f.direction == "info":
        return "info"
    return "any" if f.unit == "count" else f"{f.threshold:.0%}"


def left_out(report: Report, esc) -> list[str]:
    """What was not compared, and why (the missing ones are listed as missing)."""
    out = [esc(f"{s.scenario}: {s.note}") for s in report.series if s.note and not s.missing]
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


TABLE_HEAD = ["| scenario | figure | base | head | change | CI | noise | verdict | gates | runs b/h/hist |",
              "|---|---|---:|---:|---:|---|---:|---|---|---|"]


def _md_row(scenario: str, f: FigureReport) -> str:
    c = f.comparison
    verdict = md(shown(f))
    verdict = f"**{verdict}**" if f.verdict == REGRESSION and f.gating else verdict
    noise = "-" if c.noise is None else f"{c.noise * 100:.1f} %"
    return (f"| {md(scenario)} | {md(f.figure)} | {level(c.base_level, f.unit)} | {level(c.head_level, f.unit)} "
            f"| {pct(c.change)} | {interval(c.ci)} | {noise} | {verdict} | {'yes' if f.gating else 'no'} "
            f"| {c.base_runs}/{c.head_runs}/{c.history_runs} |")


def markdown(report: Report, command: str | None = None, full_report: str | None = None,
             limit: int = MAX_COMMENT) -> str:
    """The PR comment. `command` reproduces it (its last line); `full_report` is where the
    rows that do not fit within `limit` characters can be read (a job artifact, a URL)."""
    table = rows(report)
    regressed = [r for r in table if r[1].verdict == REGRESSION]
    others = [r for r in table if r[1].verdict not in (REGRESSION, NO_CHANGE)]
    unchanged = [r for r in table if r[1].verdict == NO_CHANGE]
    total = len(problems(report)) + len(table) + len(report.missing)
    lo, hi = 0, total  # the most rows that fit: rows (problems first) are kept in the order shown
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_markdown(report, regressed, others, unchanged, mid, command, full_report)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    out = _markdown(report, regressed, others, unchanged, lo, command, full_report)
    if len(out) > limit:
        raise ValueError(f"the comment's fixed parts alone are {len(out)} characters, over the limit of {limit}")
    return out


def _markdown(report: Report, regressed: list, others: list, unchanged: list, keep: int, command: str | None,
              full_report: str | None) -> str:
    icon = {REGRESSION: ":x:", NO_CHANGE: ":white_check_mark:", INSUFFICIENT: ":grey_question:"}[report.verdict]
    out = [MARKER, f"### commitbench: {icon} {md(title(report))}", "",
           f"**Baseline:** {md(baseline(report))}", "",
           f"**Noise band:** {md(noise_band(report))}", "",
           f"**Verdicts** (per figure, tested at the level of runs): {md(counts_line(report))}", ""]
    out += [f"**{UNDECIDED_LEAD.capitalize()}** {md(line.removeprefix(UNDECIDED_LEAD + ' '))}", ""] \
        if (line := to_decide(report)) else []
    left = keep

    def take(items: list) -> list:
        nonlocal left
        kept = items[:max(left, 0)]
        left -= len(kept)
        return kept

    kept = take(problems(report))
    out += [f"- **{md(p)}**" for p in kept] + ([""] if kept else [])
    kept = take(regressed)
    if kept:
        out += ["#### Regressions", ""] + TABLE_HEAD + [_md_row(*r) for r in kept] + [""]
        lines = evidence_lines(kept)
        out += [f"- evidence, {md(line)}" for line in lines] + ([""] if lines else [])
    kept = take(others)
    if kept:
        out += ["#### Other verdicts", ""] + TABLE_HEAD + [_md_row(*r) for r in kept] + [""]
    kept = take(report.missing)
    if kept:
        out += ["#### Missing on head", ""] + [f"- {md(missing_name(m))}: {md(m.reason)}" for m in kept] + [""]
    kept = take(unchanged)
    if kept:
        out += [f"<details><summary>{len(kept)} figure{'s' if len(kept) != 1 else ''} with no change</summary>", ""] \
            + TABLE_HEAD + [_md_row(*r) for r in kept] + ["", "</details>", ""]
    out += [f"- {md(x)}" for x in left_out(report, lambda s: s)]
    omitted = len(problems(report)) + len(regressed) + len(others) + len(report.missing) + len(unchanged) - keep
    if omitted > 0:
        where = md(full_report) if full_report else "the JSON report (the command below with `--format json`)"
        out += ["", f"**{omitted} more row{'s' if omitted != 1 else ''}: full report at {where}**"]
    if command:  # the database is not named: its URL may hold a password
        out += ["", "Reproduce (against the same database: `--db` or `$DATABASE_URL`):", "", "```sh",
                command.replace("`", "'"), "```"]
    return "\n".join(out).rstrip() + "\n"


def as_json(report: Report) -> str:
    def figure(f: FigureReport) -> dict[str, Any]:
        c = f.comparison
        ev = None if f.evidence is None else {
            "summary": f.evidence.summary(), "hints": list(f.evidence.hints), "phases": list(f.evidence.phases),
            "deltas": [{"quantity": d.quantity, "phase": d.phase, "base": d.base, "head": d.head, "text": d.text}
                       for d in f.evidence.deltas]}
        return {"figure": f.figure, "unit": f.unit, "direction": f.direction, "threshold": f.threshold,
                "gating": f.gating, "verdict": c.verdict, "change": c.change, "ci": list(c.ci) if c.ci else None,
                "base": c.base_level, "head": c.head_level, "base_runs": c.base_runs, "head_runs": c.head_runs,
                "history_runs": c.history_runs, "noise": c.noise, "reason": c.reason, "evidence": ev}

    def side(r, runs: list[RunInfo]) -> dict[str, Any]:
        return {"ref": r.ref, "how": r.how, "branch": r.branch, "commit_id": r.commit_id, "runs": len(r.benchmark_ids),
                "run_uids": [x.run_uid for x in runs],
                "runners": sorted({x.runner_host for x in runs if x.runner_host})}

    doc = {"format": "commitbench.compare/1", "verdict": report.verdict, "context": report.context,
           "counts": report.counts(), "base": side(report.base, report.base_runs),
           "head": side(report.head, report.head_runs), "problems": problems(report),
           "undecided": [{"scenario": sc, "figure": f.figure, "verdict": f.verdict, "reason": f.comparison.reason}
                         for sc, f in report.undecided_gating],
           "to_decide": to_decide(report),
           "series": [{"series_key": s.series_key, "scenario": s.scenario, "model": s.model_id, "gpu": s.gpu_name,
                       "correctness": s.correctness, "failure": s.failure, "note": s.note,
                       "figures": [figure(f) for f in s.figures]} for s in report.series],
           "missing": [{"scenario": m.scenario, "figure": m.figure, "reason": m.reason} for m in report.missing],
           "only_base": report.only_base, "only_head": report.only_head}
    return json.dumps(doc, indent=2) + "\n"
