"""The device timeline of one run, as inline SVG: what the sampler read (CPU, RSS, the GPU's
readings) in panels on one time axis, over the run's scenarios and their phases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .html_svg import FAIL, FAIL_BAND, GRID, INK, LINE, MUTED, PHASE_COLOURS, esc, nice_ticks, px, svg_doc


@dataclass
class Region:
    """A stretch of the run: a scenario, or a phase of one."""

    name: str
    start: float  # seconds since the run's start
    end: float
    tip: str
    failed: bool = False


@dataclass
class Track:
    """One panel: a sampled quantity over time."""

    label: str
    suffix: str
    points: list[tuple[float, float]]  # (seconds since start, value)
    colour: str = LINE
    description: str = ""


TL_W, TL_LEFT, TL_RIGHT, TL_HEAD, TL_PANEL, TL_GAP, TL_FOOT = 1120, 128, 12, 40, 96, 28, 26


def timeline_svg(scenarios: Sequence[Region], phases: Sequence[Region], tracks: Sequence[Track],
                 duration: float, label: str, phase_colour: dict[str, str]) -> str:
    """Panels stacked on one time axis, with the scenarios (top row, separated by lines) and
    their phases (shaded, labelled where there is room) behind every panel."""
    pw = TL_W - TL_LEFT - TL_RIGHT
    height = TL_HEAD + len(tracks) * (TL_PANEL + TL_GAP) + TL_FOOT
    bottom = height - TL_FOOT
    span = max(duration, 1e-9)

    def x(t: float) -> float:
        return TL_LEFT + max(0.0, min(t, span)) / span * pw

    out = []
    for p in phases:
        x0, x1 = x(p.start), x(p.end)
        colour = FAIL_BAND if p.failed else phase_colour.get(p.name, PHASE_COLOURS[-1])
        out.append(f'<g><title>{esc(p.tip)}</title><rect x="{px(x0)}" y="{TL_HEAD - 16}" '
                   f'width="{px(max(x1 - x0, 0.5))}" height="{px(bottom - TL_HEAD + 16)}" fill="{colour}" '
                   f'stroke="#fff" stroke-width="0.8"/>')
        if x1 - x0 > 5.5 * len(p.name) + 6:
            out.append(f'<text x="{px(x0 + 3)}" y="{TL_HEAD - 5}" font-size="9" fill="{MUTED}">{esc(p.name)}</text>')
        out.append("</g>")
    for s in scenarios:
        x0, x1 = x(s.start), x(s.end)
        colour = FAIL if s.failed else INK
        out.append(f'<g><title>{esc(s.tip)}</title>'
                   f'<line x1="{px(x0)}" x2="{px(x0)}" y1="4" y2="{bottom}" stroke="{MUTED}" stroke-width="0.8"/>'
                   f'<rect x="{px(x0)}" y="4" width="{px(max(x1 - x0, 0.5))}" height="16" fill="#fff" '
                   f'fill-opacity="0"/>')
        room = int((x1 - x0 - 6) / 6)
        if room >= 3:
            name = s.name if len(s.name) <= room else s.name[:room - 1] + "…"
            out.append(f'<text x="{px(x0 + 3)}" y="15" font-weight="600" fill="{colour}">{esc(name)}</text>')
        out.append("</g>")
    for k, tr in enumerate(tracks):
        y0 = TL_HEAD + k * (TL_PANEL + TL_GAP)
        top = max((v for _, v in tr.points), default=0.0)
        ticks = nice_ticks(top, 3)
        ymax = ticks[-1] or 1.0

        def y(v: float, y0: float = y0, ymax: float = ymax) -> float:
            return y0 + TL_PANEL - max(v, 0.0) / ymax * TL_PANEL

        for t in ticks:
            out.append(f'<line x1="{TL_LEFT}" x2="{TL_LEFT + pw}" y1="{px(y(t))}" y2="{px(y(t))}" '
                       f'stroke="{GRID}" stroke-opacity="0.9"/>')
            out.append(f'<text x="{TL_LEFT - 4}" y="{px(y(t) + 3)}" text-anchor="end" fill="{MUTED}">'
                       f'{esc(_tick(t) + tr.suffix)}</text>')
        out.append(f'<text x="4" y="{y0 + TL_PANEL / 2 + 4:.0f}" font-size="11" font-weight="600">'
                   f'<title>{esc(tr.description or tr.label)}</title>{esc(tr.label)}</text>')
        for segment in _time_segments(tr.points):
            pts = " ".join(f"{px(x(t))},{px(y(v))}" for t, v in _thin(segment, pw))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{tr.colour}" stroke-width="1.4" '
                       f'stroke-linejoin="round"/>')
    for t in nice_ticks(span, 8):
        if t > span * 1.0001:
            break
        out.append(f'<line x1="{px(x(t))}" x2="{px(x(t))}" y1="{bottom}" y2="{bottom + 4}" stroke="{MUTED}"/>'
                   f'<text x="{px(x(t))}" y="{bottom + 15}" text-anchor="middle" fill="{MUTED}">'
                   f'{esc(_tick(t))} s</text>')
    return svg_doc(TL_W, height, out, label)


def _tick(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.3g}"


def _time_segments(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A pause in sampling (between scenarios, while a model is prepared) breaks the line."""
    if len(points) < 2:
        return [points] if points else []
    gaps = sorted(b[0] - a[0] for a, b in zip(points, points[1:]))
    limit = max(gaps[len(gaps) // 2] * 5, 1e-6)
    segments = [[points[0]]]
    for a, b in zip(points, points[1:]):
        if b[0] - a[0] > limit:
            segments.append([])
        segments[-1].append(b)
    return segments


def _thin(points: list[tuple[float, float]], width: float) -> list[tuple[float, float]]:
    """At most about two points per pixel column: the lowest and highest of each, in time
    order, so a spike survives the thinning."""
    if len(points) <= 2 * width:
        return points
    t0, t1 = points[0][0], points[-1][0]
    per = (t1 - t0) / width or 1.0
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    current = 0
    for p in points:
        b = int((p[0] - t0) / per)
        if b != current and bucket:
            lo, hi = min(bucket, key=lambda q: q[1]), max(bucket, key=lambda q: q[1])
            out.extend(sorted({lo, hi}))
            bucket = []
        current = b
        bucket.append(p)
    if bucket:
        lo, hi = min(bucket, key=lambda q: q[1]), max(bucket, key=lambda q: q[1])
        out.extend(sorted({lo, hi}))
    return out
