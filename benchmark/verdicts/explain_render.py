"""`commitbench explain`'s output: the named operators of each scenario as text, markdown or JSON.

`section` (text, markdown) and `as_dict` (JSON) render one scenario's explanation alone, for a
report that wants it under a regression row (compare, ab, bisect); `block` is that report's
whole section, its heading first. Markdown (the PR comment) names each Chrome trace by its
file name alone: the path is the runner's, the file is in the job's artifact; text and JSON
keep the full path."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from ..analysis.profile_diff import Explanation, KernelMover, Mover
from ..contracts.escapes import printable
from ..contracts.profile import WHOLE_CALL_FIGURES

TOP = 12  # operators shown per scenario in text and markdown (JSON has all)
HEADINGS = {"text": "what got slower (operator profiles):", "markdown": "#### What got slower (operator profiles)"}


def render(items: list, fmt: str) -> str:
    """`items`: flows/explain.Explained, one per scenario."""
    if fmt == "json":
        return json.dumps({"scenarios": [as_dict(x) for x in items]}, indent=2) + "\n"
    return "\n".join(section(x, fmt) for x in items)


def section(x, fmt: str = "text") -> str:
    e: Explanation = x.explanation
    title = f"{x.scenario}: base {x.base.label} ({x.base.runs} profile(s)) -> head {x.head.label} " \
            f"({x.head.runs} profile(s))"
    lines = [_figure_line(x), f"profiled step, operators' self time summed: {e.base_step_us:.1f} -> "
             f"{e.head_step_us:.1f} us/token; noise floor: a self-time move beyond {e.floor_us:.1f} us/token and "
             f"{e.floor.rel_own:.0%} of the operator's own, or {e.floor.calls:g} calls/token"]
    note = x.head.summary.note or x.base.summary.note  # what was profiled, where not torch's decode steps
    if note:
        lines.append(f"profiled: {note}")
    if fmt == "markdown":
        out = [f"### {_md(title)}", "", *[f"- {_md(line)}" for line in lines], ""]
        if not e.movers:
            out.append("No operator moved beyond the noise floor.")
        else:
            out += ["| operator | change | calls/token | self us/token | delta | share | note |",
                    "|---|---|---|---|---|---|---|"]
            out += [f"| `{_md(m.name)}` | {m.change} | {_calls(m)} | {_self(m)} | {m.delta_self_us:+.1f} | "
                    f"{share(m)} | {_md(m.note or '')} |" for m in e.movers[:TOP]]
            if len(e.movers) > TOP:
                out.append(f"\n{len(e.movers) - TOP} more in `--format json`.")
        if e.kernels:
            out += ["", "| kernel | change | calls/token | us/token |", "|---|---|---|---|"]
            out += [f"| `{_md(k.name[:80])}` | {k.change} | {_kcalls(k)} | {k.base_us:.1f} -> {k.head_us:.1f} |"
                    for k in e.kernels[:TOP]]
        traces = [f"{side} {', '.join(_md(PurePath(t).name) for t in s.traces)}"
                  for side, s in (("base", x.base), ("head", x.head)) if s.traces]
        out += ["", f"Chrome traces, in the job's artifact: {'; '.join(traces)}"] if traces else []
        return "\n".join(out).rstrip() + "\n"
    out = [printable(title), *[f"  {printable(line)}" for line in lines]]
    if not e.movers:
        out.append("  no operator moved beyond the noise floor")
    else:
        width = max(len(m.name) for m in e.movers[:TOP])
        out.append(f"  {'operator':<{width}}  change  {'calls/token':>14}  {'self us/token':>17}  {'delta':>8}  "
                   f"{'share':>6}  note")
        for m in e.movers[:TOP]:
            out.append(printable(f"  {m.name:<{width}}  {m.change:<6}  {_calls(m):>14}  {_self(m):>17}  "
                                 f"{m.delta_self_us:>+8.1f}  {share(m):>6}  {m.note or ''}").rstrip())
        if len(e.movers) > TOP:
            out.append(f"  {len(e.movers) - TOP} more in --format json")
    for k in e.kernels[:TOP]:
        out.append(printable(f"  kernel {k.change:<6} {_kcalls(k)} calls/token, {k.base_us:.1f} -> {k.head_us:.1f} "
                             f"us/token  {k.name[:100]}"))
    for side, s in (("base", x.base), ("head", x.head)):
        for t in s.traces:
            out.append(printable(f"  trace ({side}): {t}"))
    return "\n".join(out) + "\n"


def block(items: list, fmt: str, note: str | None = None) -> str:
    """The section a verdict's report ends with (compare, ab, bisect; text or markdown): its
    heading, then each scenario's explanation, or the one line `note` says why there is none;
    "" when there is neither."""
    if items:
        body = "\n".join(section(x, fmt) for x in items)
    elif note:
        body = (_md(note) if fmt == "markdown" else f"  {printable(note)}") + "\n"
    else:
        return ""
    return f"{HEADINGS[fmt]}\n\n{body}\n"


def _figure_line(x) -> str:
    b, h = x.base.figure_secs, x.head.figure_secs
    if x.figure is None or b is None or h is None:
        return "figure: none to share the change of (shares not given)"
    change = f"{(h - b) * 1e6:+.1f} us, {(h / b - 1) * 100:+.1f} %" if b else f"{(h - b) * 1e6:+.1f} us"
    per = " / new_tokens" if x.figure in WHOLE_CALL_FIGURES else ""
    return f"figure {x.figure}{per}: {b * 1e6:.1f} -> {h * 1e6:.1f} us/token ({change})"


def _calls(m: Mover) -> str:
    return f"{m.base_calls:g} -> {m.head_calls:g}"


def _kcalls(k: KernelMover) -> str:
    return f"{k.base_calls:g} -> {k.head_calls:g}"


def _self(m: Mover) -> str:
    return f"{m.base_self_us:.1f} -> {m.head_self_us:.1f}"


def share(m: Mover) -> str:
    return "-" if m.share is None else f"{round(m.share * 100)} %"  # an int: no "-0 %"


def _md(text: str) -> str:
    return printable(text).replace("|", "\\|")


def as_dict(x) -> dict[str, Any]:
    e: Explanation = x.explanation
    side = lambda s: {"ref": s.label, "profiles": s.runs, "figure_secs": s.figure_secs,  # noqa: E731
                      "step_us_per_token": None, "traces": s.traces}
    base, head = side(x.base), side(x.head)
    base["step_us_per_token"], head["step_us_per_token"] = e.base_step_us, e.head_step_us
    return {"scenario": x.scenario, "figure": x.figure, "figure_delta_us_per_token": e.figure_delta_us,
            "floor_us_per_token": e.floor_us, "base": base, "head": head,
            "explained_share": e.explained_share,
            "movers": [{"operator": m.name, "change": m.change, "calls_per_token": [m.base_calls, m.head_calls],
                        "self_us_per_token": [m.base_self_us, m.head_self_us],
                        "total_us_per_token": [m.base_total_us, m.head_total_us],
                        "delta_self_us_per_token": m.delta_self_us, "share": m.share, "note": m.note}
                       for m in e.movers],
            "kernels": [{"kernel": k.name, "change": k.change, "calls_per_token": [k.base_calls, k.head_calls],
                         "us_per_token": [k.base_us, k.head_us]} for k in e.kernels]}
