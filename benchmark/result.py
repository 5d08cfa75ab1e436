"""Plain result dataclasses: raw samples beside their statistics, JSON round-trip.

Everything the runner produces (and the spool file, and `commitbench ingest`) goes
through these types, so the database layer never sees torch or subprocesses.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

RESULT_FORMAT = "commitbench.result/1"

# Run and scenario statuses, as stored in the database.
RUNNING, SUCCEEDED, FAILED, CANCELLED = "running", "succeeded", "failed", "cancelled"
STATUSES = (RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)

# The seed's `model_measurements.measurements` keys, in its order (all seconds).
SEED_KEYS = (
    "model_load_time",
    "first_eager_forward_pass_time_secs",
    "second_eager_forward_pass_time_secs",
    "first_eager_generate_time_secs",
    "second_eager_generate_time_secs",
    "time_to_first_token_secs",
    "time_to_second_token_secs",
    "time_to_third_token_secs",
    "time_to_next_token_mean_secs",
    "first_compile_generate_time_secs",
    "second_compile_generate_time_secs",
    "third_compile_generate_time_secs",
    "fourth_compile_generate_time_secs",
)


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass
class Stats:
    n: int
    mean: float
    median: float
    p90: float
    p99: float
    min: float
    max: float
    stdev: float  # sample standard deviation; 0.0 for a single value

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            raise ValueError("statistics of no values")
        s = sorted(values)
        n = len(s)
        mean = sum(s) / n
        var = sum((v - mean) ** 2 for v in s) / (n - 1) if n > 1 else 0.0
        return cls(
            n=n,
            mean=mean,
            median=percentile(s, 50),
            p90=percentile(s, 90),
            p99=percentile(s, 99),
            min=s[0],
            max=s[-1],
            stdev=math.sqrt(var),
        )


@dataclass
class Metric:
    """One figure of one scenario: every raw sample, and statistics derived from them."""

    name: str
    unit: str  # "s", "tokens/s", "bytes", "count", "bool"
    samples: list[float]
    stats: Stats | None = None

    def __post_init__(self) -> None:
        self.samples = [float(v) for v in self.samples]
        if self.stats is None and self.samples:
            self.stats = Stats.of(self.samples)

    @property
    def value(self) -> float:
        """The figure's headline: the median (the only sample for one-shot figures)."""
        assert self.stats is not None
        return self.stats.median


@dataclass
class Phase:
    """A named stretch of a scenario, wall-clock (unix seconds)."""

    name: str
    start: float
    end: float | None = None


@dataclass
class DeviceSample:
    """One sampler reading; GPU fields are None where there is no GPU or NVML lacks them."""

    time: float  # unix seconds
    scenario: str | None
    phase: str | None
    cpu_util: float | None
    mem_megabytes: float | None
    gpu_util: float | None = None
    gpu_mem_megabytes: float | None = None
    sm_clock_mhz: float | None = None
    power_watts: float | None = None
    temperature_c: float | None = None
    throttle_reasons: int | None = None


@dataclass
class ScenarioResult:
    name: str  # unique within a run, e.g. "compiled_decode[compile_mode=default]"
    kind: str  # load / eager / compiled_decode / compiled_generate / selftest_*
    params: dict[str, Any]
    status: str = RUNNING
    error: str | None = None  # one line: why it failed
    exit_code: int | None = None
    signal: str | None = None  # e.g. "SIGSEGV" when the subprocess died of a signal
    stderr_tail: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    phases: list[Phase] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    # e.g. the compile mode that applied, generated tokens, the sampler's achieved rate
    info: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # e.g. "compiled_tokens_mismatch"
    samples: list[DeviceSample] = field(default_factory=list)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass
class RunResult:
    run_uid: str  # idempotency key for ingest
    branch: str
    commit_id: str
    commit_message: str  # full text; the seed column keeps the first 70 characters
    repository: str | None
    model_id: str
    synthetic: bool
    config: dict[str, Any]
    config_hash: str
    environment: dict[str, Any]
    status: str = RUNNING
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    scenarios: list[ScenarioResult] = field(default_factory=list)
    format: str = RESULT_FORMAT

    @property
    def gpu_name(self) -> str | None:
        return self.environment.get("gpu_name")

    def seed_measurements(self) -> dict[str, float | None]:
        """The seed's jsonb keys, from the first scenario of each kind that produced them."""
        out: dict[str, float | None] = dict.fromkeys(SEED_KEYS)
        for sc in self.scenarios:
            for m in sc.metrics:
                if m.name in out and out[m.name] is None and m.stats is not None:
                    out[m.name] = m.value
        return out

    # JSON round-trip -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunResult:
        """Rebuild a result from JSON, checking every field's type (ValueError if off), so a
        damaged file is refused before anything is stored."""
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a commitbench result (format {found!r})")
        try:
            d = dict(data)
            d["scenarios"] = [_scenario_from_dict(s) for s in d.get("scenarios", [])]
            result = cls(**_known(cls, d))
        except (TypeError, KeyError, AttributeError, ValueError) as e:
            raise ValueError(f"malformed result: {e}") from None
        _check_types(result, "result")
        if result.status not in STATUSES:
            raise ValueError(f"malformed result: status {result.status!r}")
        return result

    def dump(self, path: Path) -> None:
        """Write atomically: a crash mid-write never leaves a truncated result."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RunResult:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _check_types(obj: Any, where: str) -> None:
    """Each dataclass field holds what its annotation says (JSON numbers may be int for float)."""
    hints = typing.get_type_hints(type(obj))
    for f in fields(obj):
        _check_value(getattr(obj, f.name), hints[f.name], f"{where}.{f.name}")


def _check_value(value: Any, hint: Any, where: str) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                _check_value(value, option, where)
                return
            except ValueError:
                continue
        raise ValueError(f"malformed result: {where} = {value!r:.60}")
    if hint is Any:
        return
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"malformed result: {where} is not a list")
        for i, item in enumerate(value):
            _check_value(item, args[0], f"{where}[{i}]")
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"malformed result: {where} is not an object")
        return
    if hint is type(None):
        ok = value is None
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif is_dataclass(hint):
        ok = isinstance(value, hint)
        if ok:
            _check_types(value, where)
    else:
        ok = isinstance(value, hint)
    if not ok:
        raise ValueError(f"malformed result: {where} = {value!r:.60}")


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def _scenario_from_dict(d: dict[str, Any]) -> ScenarioResult:
    d = dict(d)
    d["phases"] = [Phase(**p) for p in d.get("phases", [])]
    d["metrics"] = [
        Metric(
            name=m["name"],
            unit=m["unit"],
            samples=m["samples"],
            stats=Stats(**m["stats"]) if m.get("stats") else None,
        )
        for m in d.get("metrics", [])
    ]
    d["samples"] = [DeviceSample(**s) for s in d.get("samples", [])]
    return ScenarioResult(**_known(ScenarioResult, d))
