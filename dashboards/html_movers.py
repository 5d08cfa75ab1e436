"""What got slower, drawn: explain's top operator movers of one regressed scenario as a bar
chart (inline SVG), with the same numbers as a table beside it for a screen reader or a copy.

One row per named operator (explain_render.TOP of them, largest growth first, as `explain`
lists them): a bar from zero of its self time per token's change, right and red where it grew,
left and green where it shrank; an operator that appeared or vanished is labelled NEW or GONE
and its bar drawn light with a dashed outline; each bar ends in its change, its share of the
figure's change per token and what its name means (a host sync, a copy: profile_diff.NOTES).
The figure's own change is a dashed line where it falls within the bars' scale, so the bars
can be read against it (beyond it, it is written at the top).
"""

from __future__ import annotations

from benchmark.analysis.profile_diff import GONE, NEW, Mover
from benchmark.contracts.units import fmt
from benchmark.verdicts.explain_render import TOP, share

from .html_svg import FAIL, GRID, INK, MUTED, esc, nice_ticks, px, scale_for, svg_doc

GREW, SHRANK = FAIL, "#16a34a"
W, ROW, TOP_PAD, BOTTOM = 900, 22, 26, 20
NAME_W = 290  # the operator names' right edge (NEW/GONE in the first 40 px)
LEFT_W, RIGHT_W = 120, 200  # room beside the bars for their labels: a shrink's value; a growth's value and note
MARK = {NEW: "NEW", GONE: "GONE"}
NAME_CHARS = 36  # monospace at 11 px: what fits between NEW/GONE and NAME_W
FIGURE_REACH = 4.0  # the figure's change joins the scale up to this multiple of the largest bar, else it is written


def movers_svg(movers: list[Mover], figure_delta_us: float | None, label: str) -> str:
    """One bar per operator in `movers` (already cut to the shown ones)."""
    deltas_s = [m.delta_self_us * 1e-6 for m in movers]
    if figure_delta_us is not None and abs(figure_delta_us) <= FIGURE_REACH * max(abs(d) for d in deltas_s) * 1e6:
        deltas_s.append(figure_delta_us * 1e-6)  # on the scale: the bars are read against it
    right, left = max([0.0, *deltas_s]), max([0.0, *(-d for d in deltas_s)])
    scale = scale_for("s", max(right, left))
    step_ticks = nice_ticks(max(right, left) * scale.factor)
    step = step_ticks[1] - step_ticks[0]

    def reach(v_s: float) -> float:  # the first tick at or past v_s (0 where nothing goes that way)
        return next((t for t in step_ticks if t >= v_s * scale.factor * (1 - 1e-9)), step_ticks[-1]) if v_s else 0

    reach_r, reach_l = reach(right), reach(left)
    span = (reach_r + reach_l) or step
    x0 = NAME_W + (LEFT_W if reach_l else 10)
    plot_w = W - x0 - RIGHT_W

    def x(v_s: float) -> float:  # seconds -> pixels
        return x0 + (v_s * scale.factor + reach_l) / span * plot_w

    height = TOP_PAD + ROW * len(movers) + BOTTOM
    bottom = TOP_PAD + ROW * len(movers)
    out = [f"<title>{esc(label)}</title>"]
    ticks = [-t for t in step_ticks[::-1] if 0 < t <= reach_l] + [t for t in step_ticks if t <= reach_r]
    for t in ticks:  # grid and x labels, in the figure's unit per token
        tx = x(t / scale.factor)
        out.append(f'<line x1="{px(tx)}" x2="{px(tx)}" y1="{TOP_PAD - 4}" y2="{bottom}" stroke="{GRID}"/>')
        out.append(f'<text x="{px(tx)}" y="{bottom + 13}" text-anchor="middle" fill="{MUTED}">'
                   f"{esc(_signed(scale, t / scale.factor))}</text>")
    out.append(f'<text x="{NAME_W - 8}" y="{bottom + 13}" text-anchor="end" fill="{MUTED}">change of self time '
               "per token, head − base</text>")
    for i, m in enumerate(movers):
        y = TOP_PAD + ROW * i
        d = m.delta_self_us * 1e-6
        colour = GREW if d > 0 else SHRANK if d < 0 else MUTED
        a, b = sorted((x(0), x(d)))
        mark = MARK.get(m.change, "")
        name = m.name if len(m.name) <= NAME_CHARS else m.name[:NAME_CHARS - 1] + "…"
        value = _signed(scale, d) + (f" · {share(m)}" if m.share is not None else "")
        note = (m.note or "").split(" (")[0]  # its gist: the whole note is in the tooltip and the table
        tip = (f"{m.name}: {m.change}; self time {m.base_self_us:.1f} → {m.head_self_us:.1f} µs/token "
               f"({m.delta_self_us:+.1f}); calls {m.base_calls:g} → {m.head_calls:g} per token"
               + (f"; {share(m)} of the figure's change" if m.share is not None else "")
               + (f"; {m.note}" if m.note else ""))
        out.append(f'<g class="mover" data-operator="{esc(m.name)}" data-change="{esc(m.change)}" '
                   f'data-delta-us="{m.delta_self_us:.3f}"><title>{esc(tip)}</title>')
        out.append(f'<text x="{NAME_W - 8}" y="{y + 15}" text-anchor="end" '
                   f'font-family="ui-monospace,Menlo,Consolas,monospace" font-size="11" fill="{INK}">'
                   f"{esc(name)}</text>")
        if mark:
            out.append(f'<text x="4" y="{y + 15}" font-size="9.5" font-weight="700" fill="{colour}">{mark}</text>')
        light = f' fill-opacity="0.4" stroke="{colour}" stroke-dasharray="3 2"' if mark else ""
        out.append(f'<rect class="bar" x="{px(a)}" y="{y + 4}" width="{px(max(b - a, 1.0))}" height="{ROW - 8}" '
                   f'fill="{colour}"{light}/>')
        if d >= 0:  # the value and the note after the bar
            out.append(f'<text x="{px(b + 5)}" y="{y + 15}" fill="{INK}">{esc(value)}'
                       + (f'<tspan fill="{MUTED}"> · {esc(note)}</tspan>' if note else "") + "</text></g>")
        else:  # the value before it, the note on the other side of zero
            out.append(f'<text x="{px(a - 5)}" y="{y + 15}" text-anchor="end" fill="{INK}">{esc(value)}</text>'
                       + (f'<text x="{px(x(0) + 5)}" y="{y + 15}" fill="{MUTED}">{esc(note)}</text>' if note else "")
                       + "</g>")
    out.append(f'<line x1="{px(x(0))}" x2="{px(x(0))}" y1="{TOP_PAD - 4}" y2="{bottom}" stroke="{MUTED}"/>')
    if figure_delta_us is not None:
        fd = figure_delta_us * 1e-6
        text = f"figure {_signed(scale, fd)}"
        tip = f"<title>{esc(f'the figure changed by {figure_delta_us:+.1f} µs per token')}</title>"
        if -reach_l <= fd * scale.factor <= reach_r:  # within the bars' scale: a line to read them against
            fx = x(fd)
            out.append(f'<g>{tip}<line x1="{px(fx)}" x2="{px(fx)}" y1="{TOP_PAD - 8}" y2="{bottom}" '
                       f'stroke="{INK}" stroke-dasharray="4 3"/><text x="{px(fx)}" y="{TOP_PAD - 11}" '
                       f'text-anchor="middle" fill="{INK}">{esc(text)}</text></g>')
        else:  # far beyond the named operators (they explain a small share): said, not drawn
            out.append(f'<g>{tip}<text x="{W - 4}" y="{TOP_PAD - 11}" text-anchor="end" fill="{INK}">'
                       f'{esc(text)} {"→" if fd > 0 else "←"} (beyond this scale)</text></g>')
    return svg_doc(W, height, out, label)


def section(x) -> str:
    """One scenario's chart and its numbers; `x` is a flows/explain.Explained."""
    e = x.explanation
    b, h = x.base.figure_secs, x.head.figure_secs
    if x.figure is not None and b is not None and h is not None:
        pct = f", {(h / b - 1) * 100:+.1f} %" if b else ""
        figure = (f"<code>{esc(x.figure)}</code> {esc(fmt(b, 's'))} → {esc(fmt(h, 's'))} per token "
                  f"({(h - b) * 1e6:+.1f} µs{pct})")
    else:
        figure = "no figure to share the change of"
    together = e.explained_share
    explained = "" if together is None else f"; the named operators explain {round(together * 100)} % of it"
    out = [f'<div class="movers"><h3>What got slower in <code>{esc(x.scenario)}</code> '
           f'<span class="muted">operator profiles, base {esc(x.base.label)} ({x.base.runs}) → head '
           f"{esc(x.head.label)} ({x.head.runs})</span></h3>"
           f'<p class="muted">{figure}{explained}. Noise floor: a self-time move beyond {e.floor_us:.1f} µs/token '
           f"and {e.floor.rel_own:.0%} of the operator's own, or {e.floor.calls:g} calls/token.</p>"]
    if not e.movers:
        return "".join(out) + '<p class="muted">No operator moved beyond the noise floor.</p></div>'
    shown = e.movers[:TOP]
    more = len(e.movers) - len(shown)
    more = f" ({more} more in <code>commitbench explain --format json</code>)" if more else ""
    out.append(f'<figure class="plot movers">{movers_svg(shown, e.figure_delta_us, _label(x, len(shown)))}'
               '<figcaption class="muted">Red: grew; green: shrank; light with a dashed outline: appeared (NEW) '
               f"or vanished (GONE); the dashed line is the figure's change{more}.</figcaption></figure>")
    rows = "".join(f"<tr><td><code>{esc(m.name)}</code></td><td>{esc(m.change)}</td>"
                   f'<td class="num">{m.base_calls:g} → {m.head_calls:g}</td>'
                   f'<td class="num">{m.base_self_us:.1f} → {m.head_self_us:.1f}</td>'
                   f'<td class="num">{m.delta_self_us:+.1f}</td><td class="num">{esc(share(m))}</td>'
                   f"<td>{esc(m.note or '')}</td></tr>" for m in shown)
    out.append('<details><summary>the numbers</summary><table class="compare"><thead><tr><th>operator</th>'
               '<th>change</th><th class="num">calls/token</th><th class="num">self µs/token</th>'
               '<th class="num">delta µs</th><th class="num">share</th><th>note</th></tr></thead>'
               f"<tbody>{rows}</tbody></table></details></div>")
    return "".join(out)


def _signed(scale, v_s: float) -> str:
    """+300 µs, −35 µs (a minus sign, not a hyphen), 0 µs."""
    return ("+" if v_s > 0 else "−" if v_s < 0 else "") + scale.tick(abs(v_s))


def _label(x, n: int) -> str:
    return f"top operator movers of {x.scenario}: {n} operator{'s' if n != 1 else ''}, change of self time per token"
