"""The self-contained HTML report: one file, no server, no network, no JavaScript.

`build(session, branch, limit)` returns the page for the newest `limit` runs of a branch:

- in the header, the detector's record on the branch as `status` shows it (`reports stats`'
  headline), where it has any report of the last 90 days;
- the latest commit against the previous commit of the branch, as `commitbench compare`
  judges them (html_compare: verdict classes, intervals, the noise band), and for each
  regressed scenario profiled on both sides, its top operator movers as a bar chart
  (html_movers);
- each series' key figures, the median per commit in commit order (p90 and p99 for the
  pooled decode steps), an invalid run's point hollow, with a red band where a run of it
  failed or was cancelled;
- the latest run's device timeline (CPU, RSS, and the GPU's readings where stored) over its
  scenarios and their phases;
- the failed scenarios of the shown runs, with their reasons and the tail of their stderr.

Plots are inline SVG (html_svg), and their <title> elements are the hover text. Every stored
text is escaped, and the page's Content-Security-Policy forbids loading anything at all.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from benchmark.contracts.result import CANCELLED, FAILED, SUCCEEDED
from benchmark.contracts.units import when
from benchmark.contracts.violations import line as invalid_line

from . import html_compare, html_sections
from .html_data import ReportData, collect
from .html_page import CSS
from .html_svg import esc
from .html_text import badge, first_line, short


def build(session: Session, branch: str | None = None, limit: int = 20, now: float | None = None) -> str:
    """The report's HTML. Raises html_data.NothingToReport when no run is stored."""
    return render(collect(session, branch=branch, limit=limit, now=time.time() if now is None else now))


def render(data: ReportData) -> str:
    latest = data.latest
    title = f"commitbench: {data.branch or 'all branches'} @ {short(latest.commit_id)}"
    parts = [_header(data), html_compare.section(data.compared), html_sections.history(data),
             html_sections.timeline(latest),
             html_sections.failures(data)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            + "".join(parts)
            + f"<footer>Written by <code>commitbench report</code> at {esc(when(data.generated_at))} UTC from "
              f"{len(data.runs)} run{'s' if len(data.runs) != 1 else ''}. Hover a plot for each commit's "
              "values.</footer></body></html>\n")


def _header(data: ReportData) -> str:
    r = data.latest
    env = r.environment
    failed = [s for s in r.scenarios if s.status in (FAILED, CANCELLED)]
    device = env.get("gpu_name") or env.get("device") or "?"
    if env.get("cpu_model") and device == "cpu":
        device = f"cpu ({env['cpu_model']})"
    facts = [("model", r.model_id + (" (synthetic weights)" if r.synthetic else "")), ("device", device),
             ("torch", env.get("torch")), ("transformers", env.get("transformers")),
             ("repository", r.repository), ("run", r.run_uid),
             ("committed", when(r.commit_time) + " UTC" if r.commit_time else None),
             ("ran", f"{when(r.started_at)} UTC, {r.finished_at - r.started_at:.0f} s"
              if r.started_at and r.finished_at else when(r.started_at))]
    first = data.runs[0]
    span = (f"{len(data.runs)} runs, {short(first.commit_id)} ({when(first.commit_time or first.started_at)}) "
            f"to {short(r.commit_id)}") if len(data.runs) > 1 else "1 run"
    alert = (f'<p class="alert">{len(failed)} scenario{"s" if len(failed) != 1 else ""} of this run failed: '
             + ", ".join(f"<code>{esc(s.name)}</code>" for s in failed)
             + ' (<a href="#failures">reasons</a>)</p>') if failed else ""
    if r.status != SUCCEEDED and r.error and not failed:
        alert = f'<p class="alert">run {esc(r.status)}: {esc(first_line(r.error, 300))}</p>'
    if r.valid is False:  # kept and shown, but compare and detect leave it out; once per rule, not per phase
        alert += f'<p class="alert invalid">{esc(invalid_line(r.invalid_reasons))}</p>'
    return ("<header><h1>commitbench <span class=\"branch\">"
            f"{esc(data.branch if data.branch is not None else 'all branches')}</span></h1>"
            f"<p class=\"latest\">latest: <code>{esc(short(r.commit_id))}</code> {badge(r.status)} "
            f"<span class=\"msg\">{esc(first_line(r.commit_message, 160))}</span></p>"
            + alert
            + "<dl>" + "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts if v) + "</dl>"
            + (f'<p class="reports"><span class="muted">the detector\'s record (<code>commitbench reports stats'
               f"</code>):</span> {esc(data.reports)}</p>" if data.reports else "")
            + f"<p class=\"muted\">{esc(span)} of this branch. "
            '<a href="#compare">compare</a> · <a href="#history">history</a> · <a href="#timeline">device '
            'timeline</a> · <a href="#failures">failures</a></p></header>')

