"""Benchmark configuration: dataclasses that only validate, and the scenario matrix.

A config file (TOML or JSON) has run-level keys, a `[defaults]` table of scenario
parameters, and `[[scenarios]]` entries. Any scenario parameter given as a list expands
into the cartesian product, so the matrix is data, not code:

    model = "tiny-llama"
    [defaults]
    new_tokens = 32
    [[scenarios]]
    kind = "compiled_decode"
    compile_mode = ["reduce-overhead", "default"]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """Invalid configuration; the message is one line meant for the user."""


KINDS = ("load", "eager", "compiled_decode", "compiled_generate")
# Scenarios that exist so tests (and users checking their setup) can see isolation work.
SELFTEST_KINDS = ("selftest_crash", "selftest_hang", "selftest_error")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
ATTN_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2", "flex_attention")
CACHE_IMPLEMENTATIONS = ("static", "dynamic")
DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class ScenarioParams:
    """Parameters of one scenario; every field can be a matrix axis."""

    kind: str
    dtype: str = "auto"  # auto: float16 on CUDA, float32 on CPU
    batch_size: int = 1
    prompt_length: int = 8  # the seed's prompt is 8 tokens with Llama-2's tokenizer
    new_tokens: int = 20
    attn_implementation: str = "sdpa"
    cache_implementation: str = "static"
    compile_mode: str = "reduce-overhead"  # the seed's choice
    fullgraph: bool = True
    warmup: int = 1
    repetitions: int = 5
    timeout_s: float = 1800.0

    def validate(self) -> None:
        if self.kind not in KINDS + SELFTEST_KINDS:
            raise ConfigError(f"unknown scenario kind {self.kind!r} (one of {', '.join(KINDS)})")
        _choice("dtype", self.dtype, DTYPES)
        _choice("attn_implementation", self.attn_implementation, ATTN_IMPLEMENTATIONS)
        _choice("cache_implementation", self.cache_implementation, CACHE_IMPLEMENTATIONS)
        _choice("compile_mode", self.compile_mode, COMPILE_MODES)
        for name, low in (("batch_size", 1), ("prompt_length", 1), ("new_tokens", 3),
                          ("warmup", 0), ("repetitions", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.fullgraph, bool):
            raise ConfigError(f"fullgraph must be true or false, got {self.fullgraph!r}")
        t = self.timeout_s
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t) or t <= 0:
            raise ConfigError(f"timeout_s must be a positive number, got {self.timeout_s!r}")

    def name(self) -> str:
        """Kind plus the parameters that differ from the defaults: stable across runs."""
        base = ScenarioParams(kind=self.kind)
        diffs = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name not in NOT_IN_NAME and getattr(self, f.name) != getattr(base, f.name)
        ]
        return f"{self.kind}[{','.join(diffs)}]" if diffs else self.kind

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SCENARIO_FIELDS = {f.name for f in fields(ScenarioParams)}
# How long and how often to measure does not change what is measured: not part of the name.
NOT_IN_NAME = ("kind", "warmup", "repetitions", "timeout_s")


@dataclass
class BenchConfig:
    model: str = "auto"  # auto / preset name / local checkpoint dir / hub id
    device: str = "auto"  # auto / cpu / cuda / cuda:N
    seed: int = 0
    sample_interval_ms: float = 100.0  # 0 turns the device sampler off
    inductor_cache: str = "fresh"  # fresh: each scenario compiles cold, so compile time is comparable
    scenarios: list[ScenarioParams] = field(default_factory=list)

    def validate(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("model must be a non-empty string")
        if not (self.device in ("auto", "cpu", "cuda") or _is_cuda_index(self.device)):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        ms = self.sample_interval_ms
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not (ms == 0 or 1 <= ms <= 60000):
            raise ConfigError(f"sample_interval_ms must be 0 (off) or 1..60000, got {ms!r}")
        _choice("inductor_cache", self.inductor_cache, ("fresh", "shared"))
        if not self.scenarios:
            raise ConfigError("no scenarios to run")
        names = [s.name() for s in self.scenarios]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ConfigError(f"scenario {dup!r} appears twice in the matrix")
        for s in self.scenarios:
            s.validate()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scenarios"] = [s.to_dict() for s in self.scenarios]
        return d

    def hash(self) -> str:
        """Stable over key order: two runs with the same hash measured the same matrix."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def default_scenarios(defaults: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The seed's suite: load, eager, compiled decode step, compiled generate."""
    return [{"kind": k, **(defaults or {})} for k in KINDS]


def expand(entry: dict[str, Any]) -> list[ScenarioParams]:
    """One `[[scenarios]]` entry -> scenarios; list values are matrix axes."""
    unknown = set(entry) - SCENARIO_FIELDS
    if unknown:
        raise ConfigError(f"unknown scenario parameter(s): {', '.join(sorted(unknown))}")
    if "kind" not in entry:
        raise ConfigError("every scenario needs a kind")
    axes = {k: (v if isinstance(v, list) else [v]) for k, v in entry.items()}
    empty = [k for k, v in axes.items() if not v]
    if empty:
        raise ConfigError(f"empty list for {empty[0]}")
    keys = list(axes)
    return [ScenarioParams(**dict(zip(keys, combo))) for combo in itertools.product(*axes.values())]


def build_config(data: dict[str, Any], overrides: dict[str, Any] | None = None) -> BenchConfig:
    """Config-file data + command-line overrides -> a validated BenchConfig.

    `overrides` holds run-level keys and scenario parameters; scenario parameters
    override the file's defaults and every scenario entry.
    """
    data = dict(data)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    run_keys = {f.name for f in fields(BenchConfig)} - {"scenarios"}
    unknown = set(data) - run_keys - {"defaults", "scenarios"}
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(sorted(unknown))}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError("defaults must be a table")
    kinds = overrides.pop("kinds", None)
    scenario_over = {k: overrides.pop(k) for k in list(overrides) if k in SCENARIO_FIELDS}
    entries = data.get("scenarios") or default_scenarios()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError("scenarios must be a list of tables")
    if kinds is not None:
        entries = [{"kind": k} for k in kinds] if not data.get("scenarios") else [
            e for e in entries if e.get("kind") in kinds]
        if not entries:
            raise ConfigError(f"none of the configured scenarios is of kind {', '.join(kinds)}")
    scenarios = [s for e in entries for s in expand({**defaults, **e, **scenario_over})]
    run = {k: v for k, v in data.items() if k in run_keys}
    run.update({k: v for k, v in overrides.items() if k in run_keys})
    extra = set(overrides) - run_keys
    if extra:
        raise ConfigError(f"unknown option(s): {', '.join(sorted(extra))}")
    try:
        cfg = BenchConfig(**run, scenarios=scenarios)
    except TypeError as e:  # a wrong key slipped through: report it as config, not a crash
        raise ConfigError(str(e)) from None
    cfg.validate()
    return cfg


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot parse config {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a table/object at the top level")
    return data


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _is_cuda_index(device: Any) -> bool:
    return isinstance(device, str) and device.startswith("cuda:") and device[5:].isdigit()
