"""Was a run measured on a quiet, healthy machine? Its device samples judged by rules.

Samples (the sampler's readings, tagged with scenario and phase) and rules in, a list of
Violations out, each naming its rule: a run with any is invalid, kept and shown but left
out of compare and detect. Only measured phases count: interpreter start, worker
preparation and the reference decodes that only check correctness are `unmeasured_phases`.

The rules (each can be turned off; `rules_from` reads them from a `[validity]` table):
- throttle: an NVML clocks-event reason other than the ignored ones (by default GPU idle
  and the applications-clocks setting, which are not slowdowns) in any measured sample;
- sm_clock: a measured phase whose median SM clock is below `sm_clock_min_share` of the
  run's highest. Samples flagged GPU-idle are left out: an idle GPU clocks down by design
  (between compile steps, say), which is not a throttled measurement. A median, so that a
  single dip between kernels is not a verdict;
- temperature: any measured sample at or above `temperature_limit_c`;
- gpu_processes: more than `max_other_gpu_processes` other compute processes on the GPU;
- cpu_load: other processes' CPU (system-wide minus the benchmark's own tree), median over
  a measured phase, above `max_other_cpu_share` of the machine's cores.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmark.contracts.config import ConfigError
from benchmark.contracts.result import DeviceSample, ScenarioResult, Violation

# NVML's nvmlClocksEventReasons bits (nvml.h; pynvml's nvmlClocksEventReason* constants).
THROTTLE_REASONS: dict[int, str] = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap", 0x8: "hw_slowdown",
    0x10: "sync_boost", 0x20: "sw_thermal_slowdown", 0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown", 0x100: "display_clock_setting",
}
BIT = {name: bit for bit, name in THROTTLE_REASONS.items()}
GPU_IDLE = BIT["gpu_idle"]
RULES = ("throttle", "sm_clock", "temperature", "gpu_processes", "cpu_load")


@dataclass(frozen=True)
class Rules:
    throttle: bool = True
    ignore_throttle_reasons: tuple[str, ...] = ("gpu_idle", "applications_clocks_setting")
    sm_clock_min_share: float | None = 0.9  # None: rule off
    temperature_limit_c: float | None = 87.0
    max_other_gpu_processes: int | None = 0
    max_other_cpu_share: float | None = 0.5
    unmeasured_phases: tuple[str, ...] = ("startup", "prepare", "eager_reference", "unforced_reference",
                                          "reference")

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Verdict:
    violations: list[Violation] = field(default_factory=list)
    samples: int = 0  # measured samples judged: 0 means there was nothing to judge

    @property
    def valid(self) -> bool:
        return not self.violations

    def stored(self, rules: Rules) -> tuple[bool | None, list[dict[str, Any]], dict[str, Any]]:
        """(valid, invalid_reasons, validity_rules) as a run stores them: valid is None where
        nothing measured was sampled (the sampler off), so "not evaluated" is never "valid"."""
        return (None if self.samples == 0 else self.valid), [v.to_dict() for v in self.violations], rules.to_dict()


def reason_names(bits: int) -> list[str]:
    """Clocks-event bits -> names; an unknown bit as its hex value."""
    names, b = [], 1
    while b <= bits:
        if bits & b:
            names.append(THROTTLE_REASONS.get(b, f"bit {b:#x}"))
        b <<= 1
    return names


def evaluate(samples: Iterable[DeviceSample], rules: Rules, cpu_count: int | None) -> Verdict:
    """Every rule over the measured samples, grouped by (scenario, phase) in first-seen order."""
    groups: dict[tuple[str | None, str | None], list[DeviceSample]] = {}
    for s in samples:
        if s.phase not in rules.unmeasured_phases:
            groups.setdefault((s.scenario, s.phase), []).append(s)
    ignored = sum(BIT[n] for n in rules.ignore_throttle_reasons)
    busy = [s.sm_clock_mhz for g in groups.values() for s in g if _busy_clock(s) is not None]
    top = max(busy, default=None)
    out: list[Violation] = []
    for (scenario, phase), g in groups.items():
        found = [_throttle(g, ignored) if rules.throttle else None,
                 _sm_clock(g, top, rules.sm_clock_min_share),
                 _temperature(g, rules.temperature_limit_c),
                 _gpu_processes(g, rules.max_other_gpu_processes),
                 _cpu_load(g, rules.max_other_cpu_share, cpu_count)]
        out += [Violation(rule, detail, scenario, phase) for rule, detail in zip(RULES, found) if detail]
    return Verdict(out, sum(len(g) for g in groups.values()))


def judge(scenarios: Iterable[ScenarioResult], rules: Rules, cpu_count: int | None) -> Verdict:
    """A run's verdict: the device samples of all its scenarios."""
    return evaluate((d for s in scenarios for d in s.samples), rules, cpu_count)


def _busy_clock(s: DeviceSample) -> float | None:
    if s.sm_clock_mhz is None or (s.throttle_reasons is not None and s.throttle_reasons & GPU_IDLE):
        return None
    return s.sm_clock_mhz


def _throttle(g: Sequence[DeviceSample], ignored: int) -> str | None:
    hits = [s.throttle_reasons & ~ignored for s in g if s.throttle_reasons]
    hits = [b for b in hits if b]
    if not hits:
        return None
    seen = 0
    for b in hits:
        seen |= b
    return f"{', '.join(reason_names(seen))} in {len(hits)} of {len(g)} samples"


def _sm_clock(g: Sequence[DeviceSample], top: float | None, share: float | None) -> str | None:
    clocks = [c for s in g if (c := _busy_clock(s)) is not None]
    if share is None or not clocks or not top:
        return None
    median = statistics.median(clocks)
    if median >= share * top:
        return None
    return (f"median SM clock {median:g} MHz is {median / top:.2f} of the run's highest {top:g} MHz "
            f"(below {share:g})")


def _temperature(g: Sequence[DeviceSample], limit: float | None) -> str | None:
    hot = [s.temperature_c for s in g if s.temperature_c is not None and limit is not None
           and s.temperature_c >= limit]
    if not hot:
        return None
    return f"{max(hot):g} C reached the limit {limit:g} C in {len(hot)} of {len(g)} samples"


def _gpu_processes(g: Sequence[DeviceSample], allowed: int | None) -> str | None:
    counts = [s.gpu_other_processes for s in g if s.gpu_other_processes is not None]
    if allowed is None or not counts or max(counts) <= allowed:
        return None
    over = sum(1 for c in counts if c > allowed)
    return f"up to {max(counts)} other process(es) on the GPU (allowed {allowed}) in {over} of {len(g)} samples"


def _cpu_load(g: Sequence[DeviceSample], share: float | None, cpu_count: int | None) -> str | None:
    loads = [s.cpu_other_util for s in g if s.cpu_other_util is not None]
    if share is None or not loads or not cpu_count:
        return None
    cores = statistics.median(loads) / 100.0  # percent of one core -> cores
    if cores <= share * cpu_count:
        return None
    return (f"other processes used {cores:.2f} of {cpu_count} cores (median of {len(loads)} samples), "
            f"above {share:g} of the machine")


# -- the rules as configuration ------------------------------------------------------------

def rules_from(table: Mapping[str, Any] | None, where: str = "[validity]") -> Rules:
    """A `[validity]` table -> Rules; a missing key keeps its default, `false` turns a
    threshold off. ConfigError (one line naming the key and what is allowed) otherwise."""
    if table is None:
        return Rules()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    known = set(Rules.__dataclass_fields__)
    if unknown := sorted(set(table) - known):
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(unknown)} (allowed: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key, value in table.items():
        values[key] = _CHECKS[key](f"{where} {key}", value)
    return Rules(**values)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r:.60}")
    return value


def _number(low: float, high: float, integer: bool = False):
    def check(name: str, value: Any) -> float | int | None:
        if value is False or value is None:  # None: JSON's null, how a stored rule that is off reads back
            return None
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not math.isfinite(value) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"{name} must be {kind} from {low:g} to {high:g}, or false (off), got {value!r:.60}")
        return value
    return check


def _names(allowed: tuple[str, ...] | None):
    def check(name: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of names, got {value!r:.60}")
        if allowed is not None and (bad := [v for v in value if v not in allowed]):
            raise ConfigError(f"{name}: unknown {bad[0]!r:.60} (one of {', '.join(allowed)})")
        return tuple(value)
    return check


_CHECKS = {
    "throttle": _flag,
    "ignore_throttle_reasons": _names(tuple(BIT)),
    "sm_clock_min_share": _number(0.0, 1.0),
    "temperature_limit_c": _number(0.0, 200.0),
    "max_other_gpu_processes": _number(0, 1000, integer=True),
    "max_other_cpu_share": _number(0.0, 1.0),
    "unmeasured_phases": _names(None),
}
