"""Regression reports as a terminal table, markdown (the tracking issue) and JSON.

The tracking issue starts with a marker naming its repository and branch, so the workflow
finds its one issue per configuration and edits it in place. Active reports come first
(the branch's level moved and nobody has decided), accepted ones below them, then the
most recently fixed. Outside text (who, why, branch names) is escaped for where it goes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from db.reports import ACCEPTED, ACTIVE, FIXED, ReportView

from ..contracts.escapes import aligned, printable
from .render import md, pct

TRACKING_MARKER = "<!-- commitbench-tracking {repository} {branch}{scope} -->"
RECENTLY_FIXED = 10  # fixed reports the tracking issue still lists


def marker(repository: str, branch: str, gpu: str | None = None, model: str | None = None) -> str:
    """One marker per configuration: repository and branch, and the GPU and model where the
    issue is narrowed to them. md() keeps it one line with no "-->" inside it."""
    return TRACKING_MARKER.format(repository=md(repository or "-"), branch=md(branch), scope=_scope(gpu, model, md))


def _scope(gpu: str | None, model: str | None, esc) -> str:
    return "".join(f" {key}={esc(value)}" for key, value in (("gpu", gpu), ("model", model)) if value)


def short(commit: str | None) -> str:
    return (commit or "-")[:12]


def what(r: ReportView) -> str:
    return f"{r.scenario or r.series_key} {r.figure}"


def text(reports: Sequence[ReportView]) -> str:
    if not reports:
        return "no regression reports\n"
    rows = [["ID", "STATE", "BRANCH", "SCENARIO", "FIGURE", "SINCE", "CHANGE", "DETAIL"]]
    for r in reports:
        rows.append([f"#{r.report_id}", r.state, r.branch, r.scenario or r.series_key, r.figure, short(r.commit_id),
                     pct(r.magnitude), detail(r)])
    return "\n".join(aligned(rows)) + "\n"


def detail(r: ReportView) -> str:
    if r.state == ACCEPTED:
        return f"accepted by {r.accepted_by}: {r.reason}" + (f" ({r.link})" if r.link else "")
    if r.state == FIXED:
        return f"fixed by {short(r.fixed_by_commit)}"
    if r.first_bad_commit:
        return f"first bad commit {short(r.first_bad_commit)}"
    return ""


def show(r: ReportView) -> str:
    lines = [f"report #{r.report_id}: {r.state}",
             f"  where:    {r.repository or '-'} {r.branch}, {r.scenario or '-'} (series {r.series_key}), "
             f"gpu {r.gpu_name or '-'}, model {r.model_id or '-'}",
             f"  figure:   {r.figure} ({r.direction or '?'} is better)",
             f"  change:   {pct(r.magnitude)} at {r.commit_id} (after {r.previous_commit_id or '-'}): "
             f"{_level(r.before)} -> {_level(r.after)}"]
    if r.first_bad_commit:
        lines.append(f"  bisected: first bad commit {r.first_bad_commit}")
    if r.accepted_by:
        lines.append(f"  accepted: by {r.accepted_by}: {r.reason}" + (f" ({r.link})" if r.link else ""))
    if r.fixed_by_commit:
        lines.append(f"  fixed:    by {r.fixed_by_commit}")
    lines.append("  history:")
    lines += [f"    {h.get('at')}  {h.get('state')}  by {h.get('by')}" + (f": {h['note']}" if h.get("note") else "")
              for h in r.history]
    return "\n".join(printable(line) for line in lines) + "\n"


def _level(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def as_dict(r: ReportView) -> dict[str, Any]:
    return {k: (v.isoformat() + "Z" if hasattr(v, "isoformat") else v) for k, v in r.__dict__.items()}


def as_json(reports: Sequence[ReportView]) -> str:
    return json.dumps({"format": "commitbench.reports/1", "reports": [as_dict(r) for r in reports]}, indent=2) + "\n"


def markdown(reports: Sequence[ReportView]) -> str:
    if not reports:
        return "No regression reports.\n"
    out = ["| # | state | branch | scenario | figure | since | change | detail |", "|---|---|---|---|---|---|---:|---|"]
    out += [f"| #{r.report_id} | {r.state} | {md(r.branch)} | {md(r.scenario or r.series_key)} | {md(r.figure)} "
            f"| `{short(r.commit_id)}` | {pct(r.magnitude)} | {md(detail(r))} |" for r in reports]
    return "\n".join(out) + "\n"


def tracking_issue(repository: str, branch: str, reports: Sequence[ReportView], gpu: str | None = None,
                   model: str | None = None) -> str:
    """The body of the configuration's one tracking issue (a branch, or one GPU and model of it)."""
    active = [r for r in reports if r.state in ACTIVE]
    accepted = [r for r in reports if r.state == ACCEPTED]
    fixed = sorted((r for r in reports if r.state == FIXED), key=lambda r: r.updated_at, reverse=True)
    out = [marker(repository, branch, gpu, model), f"### commitbench: regressions on {md(branch)}"
           + (f" ({md(repository)})" if repository else "") + _scope(gpu, model, md), ""]
    if active:
        out += [f"**{len(active)} open**: {md(branch)} has been slower since these commits; each stays here until "
                "someone accepts it (`commitbench reports accept`) or a later change fixes it.", "",
                "| # | state | scenario | figure | since | change | first bad commit |",
                "|---|---|---|---|---|---:|---|"]
        out += [f"| #{r.report_id} | {r.state} | {md(r.scenario or r.series_key)} | {md(r.figure)} "
                f"| `{short(r.commit_id)}` | {pct(r.magnitude)} | "
                f"{'`' + short(r.first_bad_commit) + '`' if r.first_bad_commit else '-'} |" for r in active]
    else:
        out.append(f"No open regression on {md(branch)}.")
    if accepted:
        out += ["", f"#### Accepted ({len(accepted)}): deliberate trade-offs", "",
                "| # | scenario | figure | since | change | by | why |", "|---|---|---|---|---:|---|---|"]
        out += [f"| #{r.report_id} | {md(r.scenario or r.series_key)} | {md(r.figure)} | `{short(r.commit_id)}` "
                f"| {pct(r.magnitude)} | {md(r.accepted_by or '-')} | {md(r.reason or '-')}"
                + (f" ([link]({_url(r.link)}))" if r.link else "") + " |" for r in accepted]
    if fixed:
        out += ["", f"#### Fixed (latest {min(len(fixed), RECENTLY_FIXED)} of {len(fixed)})", ""]
        out += [f"- #{r.report_id} {md(what(r))}: {pct(r.magnitude)} since `{short(r.commit_id)}`, "
                f"fixed by `{short(r.fixed_by_commit)}`" for r in fixed[:RECENTLY_FIXED]]
    return "\n".join(out) + "\n"


def _url(link: str) -> str:
    """A link (checked to be http(s) when stored) inside markdown's (...): no spaces or parentheses."""
    return link.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
