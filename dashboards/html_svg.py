"""Inline SVG plots for the HTML report, drawn in Python: no JavaScript, no library, no
external file. Every SVG is complete on its own (attributes, not page CSS), so one plot can
be shown, or screenshot, alone.

Values are scaled by their registered unit (contracts/figures.py): seconds as ms or µs,
bytes as MiB or GiB, checks as the share of repetitions that passed. Text is escaped
(`esc`) wherever it goes: element text, attributes, SVG <title> tooltips.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from benchmark.contracts.escapes import printable

FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
LINE, P90, P99 = "#2563eb", "#60a5fa", "#93c5fd"
FAIL, FAIL_BAND = "#dc2626", "#fecaca"
# Phase colours, light enough for lines to read over them; given out in order of first use.
PHASE_COLOURS = ("#dbeafe", "#fef3c7", "#dcfce7", "#fae8ff", "#ffedd5", "#e0f2fe", "#fce7f3", "#ecfccb",
                 "#ede9fe", "#f1f5f9")


def esc(text: object) -> str:
    """Stored text made safe for HTML and SVG: control characters, bidi overrides and lone
    surrogates written as visible escapes (as the terminal output does), then HTML-escaped."""
    return html.escape(printable(str(text), newlines=True), quote=True)


@dataclass(frozen=True)
class Scale:
    """How a plot's axis shows one unit: value * factor, then the suffix."""

    factor: float
    suffix: str

    def tick(self, value: float) -> str:
        v = value * self.factor
        text = f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.3g}"
        return text + self.suffix


def scale_for(unit: str, largest: float) -> Scale:
    if unit == "s":
        if largest < 1e-3:
            return Scale(1e6, " µs")
        return Scale(1e3, " ms") if largest < 1 else Scale(1.0, " s")
    if unit == "bytes":
        return Scale(2.0**-30, " GiB") if largest >= 2**30 else Scale(2.0**-20, " MiB")
    if unit in ("bool", "ratio"):
        return Scale(100.0, "%")
    if unit == "J":
        return Scale(1e3, " mJ") if largest < 1 else Scale(1.0, " J")
    if unit in ("count", ""):
        return Scale(1.0, "")
    return Scale(1.0, " tok/s" if unit == "tokens/s" else f" {unit}")


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0, step, ... up to the first tick at or above `top`, with a 1/2/2.5/5 step."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top * (1 - 1e-9):
        # rounded to significant digits, not decimals: a step of 1e-17 (a KL divergence) still advances
        ticks.append(float(f"{len(ticks) * step:.12g}"))
    return ticks


def px(x: float) -> str:
    return f"{x:.1f}"


def svg_doc(width: int, height: int, body: Iterable[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}" font-family="{FONT}" '
            f'font-size="10" fill="{INK}">' + "".join(body) + "</svg>")


# -- history: one figure of one series, per commit -------------------------------------


@dataclass
class Point:
    """One run's statistics of the figure (already in the figure's unit)."""

    median: float
    p90: float | None = None
    p99: float | None = None
    tip: str = ""
    invalid: bool = False  # an invalid run's (validity rules): drawn hollow


@dataclass
class Slot:
    """One commit on the x axis: its runs' values, and why a run of it has none."""

    label: str  # the short sha
    tip: str  # the commit: sha, time, message
    points: list[Point] = field(default_factory=list)
    failure: str | None = None  # a failed / cancelled run of this series at this commit
    run_failed: bool = False  # a run of this commit failed (maybe in another scenario)

    @property
    def value(self) -> float | None:
        if not self.points:
            return None
        values = sorted(p.median for p in self.points)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


W, H = 380, 200
LEFT, RIGHT, TOP, BOTTOM = 54, 10, 10, 48


def history_svg(slots: Sequence[Slot], unit: str, label: str, percentiles: bool = False) -> str:
    """The median per commit as a line from a zero baseline (a change looks as large as it
    is), p90 and p99 as lighter lines when `percentiles`; a red band where a run failed."""
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    highs = [v for s in slots for p in s.points for v in (p.median, p.p90 if percentiles else None,
                                                          p.p99 if percentiles else None) if v is not None]
    top = 1.0 if unit == "bool" else max(highs, default=0.0)
    scale = scale_for(unit, top)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0] if unit == "bool" else [t / scale.factor for t in
                                                               nice_ticks(top * scale.factor)]
    ymax = ticks[-1] or 1.0
    step = pw / max(len(slots), 1)

    def x(i: int) -> float:
        return LEFT + step * (i + 0.5)

    def y(v: float) -> float:
        return TOP + ph - (max(v, 0.0) / ymax) * ph

    out = []
    for t in ticks:  # grid and y labels
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{px(y(t))}" y2="{px(y(t))}" stroke="{GRID}"/>')
        out.append(f'<text x="{LEFT - 4}" y="{px(y(t) + 3)}" text-anchor="end" fill="{MUTED}">'
                   f'{esc(scale.tick(t))}</text>')
    for i, s in enumerate(slots):  # failure bands first: lines go over them
        if s.failure is not None:
            bx = x(i) - step / 2
            out.append(f'<g><title>{esc(s.failure)}</title><rect x="{px(bx)}" y="{TOP}" width="{px(step)}" '
                       f'height="{ph}" fill="{FAIL_BAND}" fill-opacity="0.7"/>'
                       f'<path d="M{px(x(i) - 4)},{px(TOP + ph - 1)} l4,-7 l4,7 z" fill="{FAIL}"/></g>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="{MUTED}"/>')
    lines = [("median", LINE, 2.0, "")]
    if percentiles:
        lines = [("p99", P99, 1.2, ' stroke-dasharray="3 2"'), ("p90", P90, 1.2, ""), *lines]
    for attr, colour, width, dash in lines:
        for segment in _segments(slots, attr):
            pts = " ".join(f"{px(x(i))},{px(y(v))}" for i, v in segment)
            if len(segment) > 1:
                out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}" '
                           f'stroke-linejoin="round"{dash}/>')
    for i, s in enumerate(slots):  # dots: one per run, hollow for an invalid run
        for p in s.points:
            colour = FAIL if unit == "bool" and p.median < 1 else LINE
            fill, stroke, width = ("#fff", colour, 1.5) if p.invalid else (colour, "#fff", 1)
            out.append(f'<circle cx="{px(x(i))}" cy="{px(y(p.median))}" r="3" fill="{fill}" '
                       f'stroke="{stroke}" stroke-width="{width}"/>')
    every = max(1, math.ceil(len(slots) / (pw / 11)))  # rotated labels need ~11 px each
    for i, s in enumerate(slots):
        if i % every and i != len(slots) - 1:
            continue
        colour = FAIL if s.run_failed else MUTED
        out.append(f'<text transform="translate({px(x(i) + 3)},{TOP + ph + 6}) rotate(-55)" text-anchor="end" '
                   f'fill="{colour}" font-family="ui-monospace,Menlo,Consolas,monospace" font-size="9">'
                   f'{esc(s.label)}</text>')
    for i, s in enumerate(slots):  # hover areas: the whole column tells what is there
        tip = "\n".join([s.tip, *(p.tip for p in s.points), *([s.failure] if s.failure else [])])
        out.append(f'<rect x="{px(x(i) - step / 2)}" y="{TOP}" width="{px(step)}" height="{ph + BOTTOM - 4}" '
                   f'fill="#000" fill-opacity="0"><title>{esc(tip)}</title></rect>')
    return svg_doc(W, H, out, label)


def status_svg(slots: Sequence[Slot], label: str) -> str:
    """For a series without figures: one cell per commit, red where it failed."""
    pw = W - LEFT - RIGHT
    step = pw / max(len(slots), 1)
    out = [f'<text x="{LEFT - 4}" y="{TOP + 13}" text-anchor="end" fill="{MUTED}">runs</text>']
    for i, s in enumerate(slots):
        colour = FAIL if s.failure else "#86efac" if s.points else GRID
        tip = "\n".join([s.tip, *([s.failure] if s.failure else [])])
        out.append(f'<rect x="{px(LEFT + step * i + 1)}" y="{TOP}" width="{px(max(step - 2, 1))}" height="18" rx="2" '
                   f'fill="{colour}"><title>{esc(tip)}</title></rect>')
        out.append(f'<text transform="translate({px(LEFT + step * (i + 0.5) + 3)},{TOP + 24}) rotate(-55)" '
                   f'text-anchor="end" fill="{FAIL if s.run_failed else MUTED}" '
                   f'font-family="ui-monospace,Menlo,Consolas,monospace" font-size="9">{esc(s.label)}</text>')
    return svg_doc(W, TOP + 24 + BOTTOM - 6, out, label)


def _segments(slots: Sequence[Slot], attr: str) -> list[list[tuple[int, float]]]:
    """Runs of consecutive commits that have a value: a commit without one breaks the line."""
    segments: list[list[tuple[int, float]]] = [[]]
    for i, s in enumerate(slots):
        if attr == "median":
            v = s.value
        else:
            vals = [getattr(p, attr) for p in s.points if getattr(p, attr) is not None]
            v = sorted(vals)[len(vals) // 2] if vals else None
        if v is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((i, v))
    return [seg for seg in segments if seg]
