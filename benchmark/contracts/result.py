"""Plain result dataclasses: raw samples beside their statistics, JSON round-trip.

Everything the runner produces, the spool file, `--json`, `commitbench ingest` and the
store's read side go through these types (and `codec`, their one serializer), so the
database layer never sees torch or subprocesses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import codec, identity, inputs
from .config import SCENARIO_NAME_CHARS, parse_name
from .figures import FIGURES, SEED_KEYS, figure
from .stats import Stats

RESULT_FORMAT = "commitbench.result/2"
READABLE_FORMATS = ("commitbench.result/1", RESULT_FORMAT)  # /2 added commit order and series keys

# Run and scenario statuses, as stored in the database.
RUNNING, SUCCEEDED, FAILED, CANCELLED = "running", "succeeded", "failed", "cancelled"
STATUSES = (RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
# A scenario (never a run) that these libraries or this hardware cannot run; its error is
# the reason. It does not fail the run, and it is stored and shown, not dropped.
SKIPPED = "skipped"
# The error of a run closed as failed because its runner died without finishing it. Such
# a run may still be completed by ingesting its spool file.
ABANDONED = "abandoned: "


@dataclass
class Metric:
    """One figure of one scenario: every raw sample, and statistics derived from them."""

    name: str
    unit: str  # see figures.UNITS
    samples: list[float]
    stats: Stats | None = None
    # worker processes whose samples these are, concatenated process by process in equal
    # shares (`commitbench run --processes`; run/processes.py): stats.by_process splits them
    processes: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.processes, bool) or not isinstance(self.processes, int) or self.processes < 1:
            raise ValueError(f"processes: must be an integer >= 1, got {self.processes!r}")
        self.samples = [float(v) for v in self.samples]
        if self.stats is None and self.samples:
            self.stats = Stats.of(self.samples)

    @classmethod
    def of(cls, name: str, samples: list[float]) -> Metric:
        """A registered figure's metric (its unit from the registry)."""
        return cls(name=name, unit=figure(name).unit, samples=samples)

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
    cpu_util: float | None  # percent of one core, summed over the scenario's process tree
    mem_megabytes: float | None  # resident memory, summed over the scenario's process tree
    gpu_util: float | None = None
    gpu_mem_megabytes: float | None = None
    sm_clock_mhz: float | None = None
    power_watts: float | None = None
    temperature_c: float | None = None
    throttle_reasons: int | None = None
    # what else was running: other processes' CPU (percent of one core: system-wide minus the
    # scenario's tree) and other compute processes on the GPU (validity rules, analysis/validity)
    cpu_other_util: float | None = None
    gpu_other_processes: int | None = None


@dataclass(frozen=True)
class Violation:
    """A validity rule a run broke (analysis/validity.py): stored in benchmarks.invalid_reasons."""

    rule: str  # one of analysis.validity.RULES
    detail: str
    scenario: str | None
    phase: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Violation:
        """From its stored dict (a hand-edited one missing keys reads with None)."""
        return cls(str(d.get("rule")), str(d.get("detail") or ""), d.get("scenario"), d.get("phase"))

    def line(self) -> str:
        where = "/".join(x for x in (self.scenario, self.phase) if x)
        return f"{self.rule}: {self.detail}" + (f" ({where})" if where else "")


@dataclass
class ScenarioResult:
    name: str  # unique within a run, e.g. "compiled_decode[compile_mode=default]"
    kind: str  # see config.KINDS
    params: dict[str, Any]  # resolved: no "auto"
    series_key: str | None = None  # identity.series_key of this scenario in its run
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
    commit_time: float | None = None  # unix seconds, the committer date: history is ordered by it
    commit_parents: list[str] = field(default_factory=list)
    # the decode roofline's inputs, once per run (None where not measured): the model's
    # weight bytes and the device's copy bandwidth, bytes read + written per second
    weight_bytes: int | None = None
    memory_bandwidth_bytes_per_s: float | None = None
    # validity from telemetry (analysis/validity.py): None not evaluated; the violations as
    # {rule, detail, scenario, phase}; the rules judged by
    valid: bool | None = None
    invalid_reasons: list[dict[str, Any]] = field(default_factory=list)
    validity_rules: dict[str, Any] | None = None
    replay_of: str | None = None  # the run_uid this run replays (`commitbench replay`)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    format: str = RESULT_FORMAT

    @property
    def gpu_name(self) -> str | None:
        return self.environment.get("gpu_name")

    def series_key(self, scenario: ScenarioResult) -> str:
        return identity.key_of(self.model_id, self.environment, scenario.kind, scenario.params)

    def seed_measurements(self) -> dict[str, float | None]:
        """The seed's jsonb keys. Each comes from one defined scenario of its kind (the one
        closest to the defaults: fewest parameters in its name, then by name), whatever the
        matrix order; None where that scenario did not produce it."""
        out: dict[str, float | None] = dict.fromkeys(SEED_KEYS)
        for key in SEED_KEYS:
            source = self.designated(FIGURES[key].seed_kind or "")
            m = source.metric(key) if source is not None else None
            if m is not None and m.stats is not None:
                out[key] = m.value
        return out

    def designated(self, kind: str) -> ScenarioResult | None:
        """The scenario of `kind` that fills the seed keys."""
        candidates = [s for s in self.scenarios if s.kind == kind]
        return min(candidates, key=lambda s: (len(parse_name(s.name)[1]), s.name), default=None)

    # JSON round-trip -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return codec.encode(self)

    def to_json(self) -> str:
        return codec.dumps(self, indent=1)

    @classmethod
    def from_dict(cls, data: Any) -> RunResult:
        """Rebuild a result from JSON, checking every field's type (ValueError if off), so a
        damaged file is refused before anything is stored."""
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        if found not in READABLE_FORMATS:
            raise ValueError(f"not a commitbench result (format {found!r})")
        try:
            result = codec.decode(cls, data, "result")
        except codec.DecodeError as e:
            raise ValueError(f"malformed result: {e}") from None
        if result.status not in STATUSES:
            raise ValueError(f"malformed result: status {result.status!r}")
        result.format = RESULT_FORMAT
        for s in result.scenarios:
            s.series_key = result.series_key(s)  # results written before /2 have none
        return result

    def check_storable(self) -> None:
        """What identifies the run, checked as a fresh run's would be (ValueError naming the
        field), and credentials dropped from the repository: for files from elsewhere or
        from an older commitbench, before they reach the database."""
        self.branch = inputs.branch(self.branch)
        self.commit_id = inputs.commit_id(self.commit_id)
        self.repository = inputs.repository(self.repository)
        inputs.model_id(self.model_id)
        for s in self.scenarios:
            if len(s.name) > SCENARIO_NAME_CHARS:
                raise ValueError(f"scenario name {s.name[:60]!r}... is longer than {SCENARIO_NAME_CHARS} characters")
        for p in self.commit_parents:
            inputs.commit_id(p, "parent commit id")

    @classmethod
    def load(cls, path: Path) -> RunResult:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except RecursionError:
            raise ValueError("malformed result: nested too deeply") from None
        return cls.from_dict(data)
