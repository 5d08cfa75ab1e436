"""Why a figure regressed: the phase-aligned differences between base's and head's device
readings and compile tallies, as a few notable deltas and a hint.

Input: per phase (the runner's phase tags: "compile", "decode", ...), each quantity's readings
on each side, pooled over the side's runs (every sampler reading of the scenario in that
phase); and each compile tally's values on each side. A side's level is the median reading.
Only phases both sides have are compared, so a delta is always like for like.

What counts as notable (the differences ordinary run-to-run noise does not make):
- utilization (CPU: % of one core, summed over the worker's processes; GPU: %): 10 points;
- host and GPU memory, power: 10 % relative; SM clock: 5 % relative; temperature: 5 °C;
- throttle reasons: a reason bit in some head reading that no base reading had;
- a compile tally (graphs compiled, recompiles, graph breaks): any change of its median.
Hints: "host-bound" when GPU utilization fell notably in a phase while CPU utilization did
not (the GPU waits for the host); "clocks down" when the SM clock fell notably or head
throttled for a new reason; "recompiling" / "more graph breaks" when those tallies rose.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THROTTLE = "throttle_reasons"
POINTS, RELATIVE = "points", "relative"


@dataclass(frozen=True)
class Quantity:
    label: str
    unit: str
    rule: str  # POINTS: absolute difference; RELATIVE: head / base - 1
    notable: float


QUANTITIES: dict[str, Quantity] = {
    "gpu_util": Quantity("GPU util", "%", POINTS, 10.0),
    "cpu_util": Quantity("CPU util", "%", POINTS, 10.0),
    "sm_clock_mhz": Quantity("SM clock", "MHz", RELATIVE, 0.05),
    "gpu_mem_megabytes": Quantity("GPU memory", "MB", RELATIVE, 0.10),
    "mem_megabytes": Quantity("host memory", "MB", RELATIVE, 0.10),
    "power_watts": Quantity("power", "W", RELATIVE, 0.10),
    "temperature_c": Quantity("temperature", "°C", POINTS, 5.0),
}
TALLIES = {"graphs_compiled": "graphs compiled", "recompiles_during_measurement": "recompiles",
           "graph_breaks": "graph breaks"}
HOST_BOUND, CLOCKS_DOWN = "host-bound", "clocks down"

# phase -> quantity -> readings
Readings = Mapping[str, Mapping[str, Sequence[float]]]


@dataclass(frozen=True)
class Delta:
    quantity: str  # a QUANTITIES or TALLIES key, or THROTTLE
    phase: str | None  # None for a tally (per scenario, not per phase)
    base: float
    head: float
    text: str  # e.g. "GPU util 92 → 71 % in decode"


@dataclass(frozen=True)
class Evidence:
    deltas: tuple[Delta, ...]
    hints: tuple[str, ...]
    phases: tuple[str, ...]  # the phases both sides had readings in

    def summary(self) -> str:
        parts = [d.text for d in self.deltas] + list(self.hints)
        if parts:
            return "; ".join(parts)
        return "no notable device or compile delta" if self.phases else "device readings missing on one side or both"


def evidence(base: Readings, head: Readings,
             tallies: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None) -> Evidence:
    """Notable deltas, device ones in phase order of base then quantity order, then tallies
    (name -> (base values, head values))."""
    phases = tuple(p for p in base if p in head)
    deltas: list[Delta] = []
    hints: list[str] = []
    for phase in phases:
        b, h = base[phase], head[phase]
        found = {}
        for key, q in QUANTITIES.items():
            bv, hv = _median(b.get(key, ())), _median(h.get(key, ()))
            if bv is None or hv is None:
                continue
            diff = hv - bv if q.rule == POINTS else (hv / bv - 1 if bv else None)
            if diff is not None and abs(diff) >= q.notable:
                found[key] = diff
                deltas.append(Delta(key, phase, bv, hv, f"{q.label} {_num(bv)} → {_num(hv)} {q.unit} in {phase}"))
        new_bits = _bits(h.get(THROTTLE, ())) & ~_bits(b.get(THROTTLE, ()))
        if new_bits:
            deltas.append(Delta(THROTTLE, phase, float(_bits(b.get(THROTTLE, ()))), float(_bits(h.get(THROTTLE, ()))),
                                f"new throttle reasons {new_bits:#x} in {phase}"))
        if found.get("gpu_util", 0) < 0 and found.get("cpu_util", 0) >= 0 and HOST_BOUND not in hints:
            hints.append(HOST_BOUND)
        if (found.get("sm_clock_mhz", 0) < 0 or new_bits) and CLOCKS_DOWN not in hints:
            hints.append(CLOCKS_DOWN)
    for key, (bv, hv) in (tallies or {}).items():
        b_mid, h_mid = _median(bv), _median(hv)
        if b_mid is None or h_mid is None or b_mid == h_mid:
            continue
        label = TALLIES.get(key, key)
        deltas.append(Delta(key, None, b_mid, h_mid, f"{label} {_num(b_mid)} → {_num(h_mid)}"))
        if h_mid > b_mid and key == "recompiles_during_measurement":
            hints.append("recompiling")
        if h_mid > b_mid and key == "graph_breaks":
            hints.append("more graph breaks")
    return Evidence(tuple(deltas), tuple(hints), phases)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _bits(values: Sequence[float]) -> int:
    out = 0
    for v in values:
        out |= int(v)
    return out


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.3g}"
