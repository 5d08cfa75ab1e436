"""The sections of the HTML report below its header: history, device timeline, failures
(compare is html_compare's). Each is a function of the report's data that returns its HTML."""

from __future__ import annotations

from benchmark.contracts.figures import FIGURES
from benchmark.contracts.result import CANCELLED, FAILED, RunResult
from benchmark.contracts.units import fmt, when

from benchmark.contracts.violations import summary

from .html_compare import verdict_chip
from .html_data import ReportData, Series
from .html_svg import PHASE_COLOURS, Point, Slot, esc, history_svg, status_svg
from .html_text import (
    BAD_STATES, PERCENTILES, badge, better_text, direction, figure_order, first_line, is_key, short, uid, value_text,
)
from .html_timeline import Region, Track, timeline_svg

# (sample field, panel label, axis suffix, colour, what it is)
TRACKS = (("cpu_util", "CPU", "%", "#2563eb", "CPU: percent of one core, summed over the scenario's process tree"),
          ("mem_megabytes", "RSS", " MB", "#7c3aed", "resident memory, summed over the scenario's process tree"),
          ("gpu_util", "GPU", "%", "#059669", "GPU utilization (NVML)"),
          ("gpu_mem_megabytes", "GPU memory", " MB", "#0d9488", "GPU memory used (NVML)"),
          ("power_watts", "GPU power", " W", "#d97706", "GPU power draw (NVML)"),
          ("sm_clock_mhz", "SM clock", " MHz", "#db2777", "GPU SM clock (NVML)"),
          ("temperature_c", "GPU temp.", " °C", "#dc2626", "GPU temperature (NVML)"))


def _slots(data: ReportData, s: Series, name: str | None) -> list[Slot]:
    """One slot per commit (in commit order); several runs of one commit share it."""
    slots: dict[str, Slot] = {}
    values = s.figures.get(name, {}) if name else {}
    for run in data.runs:
        sha = run.commit_id or f"#{run.benchmark_id}"
        slot = slots.get(sha)
        if slot is None:
            slot = slots[sha] = Slot(label=sha[:8], tip=f"{sha[:12]} · {when(run.commit_time or run.started_at)} UTC"
                                     f"\n{first_line(run.commit_message)}")
        if run.state in BAD_STATES:
            slot.run_failed = True
        v = values.get(run.benchmark_id)
        if v is not None:
            stats = ", ".join(f"{k} {fmt(x, v.unit)}" for k, x in (("p90", v.p90), ("p99", v.p99), ("min", v.min))
                              if x is not None and v.unit != "bool" and v.n > 1)
            shown = value_text(v) if v.unit == "bool" else f"median {fmt(v.median, v.unit)}"
            invalid = run.valid is False  # drawn hollow: kept and shown, left out of compare and detect
            slot.points.append(Point(median=v.mean if v.unit == "bool" and v.mean is not None else v.median,
                                     p90=v.p90, p99=v.p99, invalid=invalid,
                                     tip=f"run {uid(run)} ({run.state}{', INVALID' if invalid else ''}): {shown}"
                                         + (f", {stats}" if stats else "") + f", n {v.n}"
                                         + (f"\nINVALID: {summary(run.invalid_reasons or []) or 'no reason stored'}"
                                            if invalid else "")))
        outcome = s.outcomes.get(run.benchmark_id)
        reason = None
        if outcome is not None and outcome.status in (FAILED, CANCELLED):
            reason = f"{s.name} {outcome.status} in run {uid(run)}: {first_line(outcome.error) or 'no reason stored'}"
        elif outcome is None and run.state in BAD_STATES and s.name in (data.planned.get(run.benchmark_id)
                                                                        or {s.name}):
            reason = f"run {uid(run)} {run.state} before {s.name} ran" + (
                f": {first_line(run.error)}" if run.error else "")
        if reason is not None:
            slot.failure = reason if slot.failure is None else f"{slot.failure}\n{reason}"
    return list(slots.values())


def _plot(data: ReportData, s: Series, name: str) -> str:
    values = s.figures[name]
    unit = next(iter(values.values())).unit
    head = values.get(data.runs[-1].benchmark_id)
    d = direction(name, head)
    outcome = s.outcomes.get(data.runs[-1].benchmark_id)
    now = ('<span class="chg bad">' + esc(outcome.status) + " in the latest run</span>"
           if outcome is not None and outcome.status in (FAILED, CANCELLED) else
           '<span class="muted">not in the latest run</span>')
    if head is not None:  # and compare's verdict on it (the latest commit against the previous), if it judged it
        judged = data.compared.figure(s.key, name)
        invalid = ' <span class="muted">(invalid run)</span>' if data.runs[-1].valid is False else ""
        now = (f'<span class="now">{esc(value_text(head))}</span>{invalid}'
               + (f" {verdict_chip(judged)}" if judged else ""))  # the verdict judges the commit's valid runs
    described = FIGURES[name].description if name in FIGURES else ""
    legend = ('<span class="legend"><i class="l50"></i>p50 <i class="l90"></i>p90 <i class="l99"></i>p99</span>'
              if name in PERCENTILES else "")
    svg = history_svg(_slots(data, s, name), unit, f"{name} of {s.name} per commit", percentiles=name in PERCENTILES)
    return (f'<figure class="plot"><figcaption><div><code>{esc(name)}</code> {now}</div>'
            f'<div class="muted">{esc(described)}{" · " if described else ""}{esc(better_text(d))}{legend}</div>'
            f"</figcaption>{svg}</figure>")


def history(data: ReportData) -> str:
    out = ['<section id="history"><h2>History, per commit</h2><p class="muted">The median of each run, '
           "oldest commit left, from a zero baseline. A hollow point is an invalid run (kept and shown, left out "
           "of compare and detect; hover it for why). A red band marks a commit where the scenario failed or "
           "the run was cancelled (hover it for the reason); a red commit id, a run that failed somewhere. "
           "Beside each figure: its latest value and compare's verdict on it.</p>"]
    shown = [s for s in data.series if s.outcomes]
    if not shown:
        out.append("<p class=\"muted\">No scenarios stored for these runs.</p>")
    for s in shown:
        names = figure_order([n for n in s.figures if any(b in s.outcomes for b in s.figures[n])])
        key = [n for n in names if is_key(n)]
        more = [n for n in names if n not in key]
        bad = sum(1 for o in s.outcomes.values() if o.status in (FAILED, CANCELLED))
        out.append(f'<div class="series"><h3>{esc(s.name)} <span class="muted">{esc(s.model_id or "")} on '
                   f'{esc(s.device or "?")} · series {esc(s.key[:12])} · {len(s.outcomes)} runs'
                   + (f' · <span class="chg bad">{bad} failed</span>' if bad else "") + "</span></h3>")
        if not names:
            out.append('<div class="grid"><figure class="plot"><figcaption>no figures stored: every run of it '
                       f"failed</figcaption>{status_svg(_slots(data, s, None), f'runs of {s.name}')}</figure></div>")
        if key:
            out.append('<div class="grid">' + "".join(_plot(data, s, n) for n in key) + "</div>")
        if more:
            out.append(f"<details><summary>{len(more)} more figures of {esc(s.name)}</summary>"
                       '<div class="grid">' + "".join(_plot(data, s, n) for n in more) + "</div></details>")
        out.append("</div>")
    return "".join(out) + "</section>"


def timeline(r: RunResult) -> str:
    head = (f'<section id="timeline"><h2>Device timeline of the latest run</h2><p class="muted">Run '
            f"{esc(uid(r))} on {esc(short(r.commit_id))}: what the sampler read, by scenario (top row) and "
            "phase (shaded). Hover a phase for its times.</p>")
    samples = sorted((d for s in r.scenarios for d in s.samples), key=lambda d: d.time)
    if not samples and not any(s.phases for s in r.scenarios):
        return head + '<p class="muted">No device samples stored for this run (the sampler was off).</p></section>'
    starts = [t for t in [r.started_at, *(d.time for d in samples[:1]),
                          *(p.start for s in r.scenarios for p in s.phases)] if t is not None]
    t0 = min(starts)
    ends = [t for t in [r.finished_at, *(d.time for d in samples[-1:]),
                        *(p.end for s in r.scenarios for p in s.phases if p.end is not None),
                        *(s.finished_at for s in r.scenarios)] if t is not None]
    duration = max(ends) - t0 if ends else 1.0
    colours: dict[str, str] = {}
    scenarios, phases = [], []
    for s in r.scenarios:
        mine = [d for d in s.samples]
        s_start = min([t for t in [s.started_at, *(p.start for p in s.phases), *(d.time for d in mine[:1])]
                       if t is not None], default=None)
        s_end = max([t for t in [s.finished_at, *(p.end or p.start for p in s.phases), *(d.time for d in mine[-1:])]
                     if t is not None], default=None)
        if s_start is None or s_end is None:
            continue
        bad = s.status in (FAILED, CANCELLED)
        scenarios.append(Region(s.name, s_start - t0, s_end - t0, f"{s.name}: {s.status}, "
                                f"{s_start - t0:.1f}–{s_end - t0:.1f} s ({s_end - s_start:.1f} s)"
                                + (f"\n{first_line(s.error)}" if s.error else ""), failed=bad))
        for p in s.phases:
            colours.setdefault(p.name, PHASE_COLOURS[len(colours) % len(PHASE_COLOURS)])
            end = p.end if p.end is not None else s_end
            inside = [d for d in mine if d.phase == p.name]
            cpu = [d.cpu_util for d in inside if d.cpu_util is not None]
            rss = [d.mem_megabytes for d in inside if d.mem_megabytes is not None]
            extra = (f"\nmean CPU {sum(cpu) / len(cpu):.0f} %" if cpu else "") + (
                f", peak RSS {max(rss):.0f} MB" if rss else "")
            phases.append(Region(p.name, p.start - t0, end - t0, f"{s.name} · {p.name}: {p.start - t0:.2f}–"
                                 f"{end - t0:.2f} s ({end - p.start:.2f} s){extra}", failed=False))
    tracks = []
    for attr, label, suffix, colour, what in TRACKS:
        pts = [(d.time - t0, getattr(d, attr)) for d in samples if getattr(d, attr) is not None]
        if pts:
            tracks.append(Track(label, suffix, pts, colour, what))
    svg = timeline_svg(scenarios, phases, tracks, duration, f"device timeline of run {uid(r)}", colours)
    legend = "".join(f'<span class="swatch"><i style="background:{c}"></i>{esc(n)}</span>' for n, c in colours.items())
    return head + f'<div class="wide">{svg}</div><p class="phases">{legend}</p></section>'


def failures(data: ReportData) -> str:
    """Newest first; one entry per distinct failure (scenario, status, reason, exit), with
    the commits it happened at and the newest stderr tail: a scenario that fails at every
    commit is one entry, not twenty."""
    out = ['<section id="failures"><h2>Failed scenarios</h2>']
    groups: dict[tuple, list] = {}
    for run in reversed(data.runs):
        outcomes = [o for s in data.series for o in [s.outcomes.get(run.benchmark_id)]
                    if o is not None and o.status in (FAILED, CANCELLED)]
        if run.state in BAD_STATES and run.error and not outcomes:
            groups.setdefault(("run", run.state, run.error), []).append((run, None))
        for o in outcomes:
            groups.setdefault((o.name, o.status, o.error, o.signal, o.exit_code), []).append((run, o))
    items = []
    for key, seen in groups.items():
        run, o = seen[0]
        at = ", ".join(f"<code>{esc(short(r.commit_id))}</code> (run {esc(uid(r))}, "
                       f"{esc(when(r.commit_time or r.started_at))})" for r, _ in seen)
        count = f" in {len(seen)} runs" if len(seen) > 1 else ""
        if o is None:
            items.append(f'<div class="failure"><p><b>the run</b> {badge(run.state)}{count} · {at}</p>'
                         f'<p class="reason">{esc(run.error)}</p></div>')
            continue
        how = ", ".join(x for x in (f"signal {o.signal}" if o.signal else "",
                                    f"exit code {o.exit_code}" if o.exit_code is not None else "") if x)
        tail = (f"<details open><summary>stderr (last lines"
                f"{', of ' + esc(short(run.commit_id)) if len(seen) > 1 else ''})</summary>"
                f"<pre>{esc(o.stderr_tail)}</pre></details>" if o.stderr_tail else "")
        items.append(f"<div class=\"failure\"><p><b>{esc(o.name)}</b> {badge(o.status)}{count}"
                     f"{' · ' + esc(how) if how else ''}</p><p class=\"muted\">at {at}</p>"
                     f"<p class=\"reason\">{esc(o.error or 'no reason stored')}</p>{tail}</div>")
    out.extend(items or ['<p class="muted">None: every scenario of the shown runs succeeded.</p>'])
    return "".join(out) + "</section>"
