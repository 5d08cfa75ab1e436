"""Benchmark configuration: the kinds of scenario, their parameters, and the matrix.

Each kind declares the measurement parameters it uses. Only those name its scenarios and
key its series; `[defaults]` and command-line overrides touch only the kinds that use
them, so `--compile-mode default` renames the compiled scenarios and leaves `load` and
`eager` alone. A config file (TOML or JSON) has run-level keys, a `[defaults]` table and
`[[scenarios]]` entries; a parameter given as a list is a matrix axis:

    model = "tiny-llama"
    [defaults]
    new_tokens = 32
    [[scenarios]]
    kind = "compiled_decode"
    compile_mode = ["reduce-overhead", "default"]

`auto` values are resolved (`BenchConfig.resolve`) before anything is named or stored.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """Invalid configuration; the message is one line meant for the user."""


@dataclass(frozen=True)
class Kind:
    name: str
    params: tuple[str, ...]  # the measurement parameters it uses: they name it and key its series
    selftest: bool = False  # fails on purpose, to show the isolation works
    extra: bool = False  # runs only where a config or --scenarios names it: not in the seed's suite
    gates: bool = True  # has a figure that gates by default (`load`'s load time does not): an A/B measures it

    def takes(self, param: str) -> bool:
        return param in RUN_CONTROL or param in self.params

    def own(self, table: dict[str, Any]) -> dict[str, Any]:
        """The entries of `table` (the file's [defaults], the command line's overrides) this kind takes."""
        return {k: v for k, v in table.items() if self.takes(k)}

    def entry(self, defaults: dict[str, Any], entry: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        """One `[[scenarios]]` entry of this kind, checked (it names only parameters the kind
        takes), over the defaults and under the overrides that apply to it."""
        if stray := next((k for k in entry if k != "kind" and not self.takes(k)), None):
            raise ConfigError(_not_a_parameter(stray, self.name))
        return {**self.own(defaults), **entry, **self.own(overrides)}


MODEL_PARAMS = ("dtype", "attn_implementation")
SHAPE_PARAMS = ("batch_size", "prompt_length", "new_tokens", "cache_implementation")
COMPILE_PARAMS = ("compile_mode", "fullgraph")
# How long and how often to measure does not change what is measured: every kind takes
# these, and they never name a scenario or key a series.
RUN_CONTROL = ("warmup", "repetitions", "timeout_s")
# Axes added after identity v1 go at the end of a kind's list (see PARAMS' `late`).
DECODE_PARAMS = MODEL_PARAMS + SHAPE_PARAMS + ("sdpa_kernel",)

KINDS: dict[str, Kind] = {k.name: k for k in (
    # quantization: not the compiled kinds (docs/configuration.md, Quantization: a 4-bit model does not compile on CPU)
    Kind("load", MODEL_PARAMS + ("quantization",), gates=False),
    Kind("eager", DECODE_PARAMS + ("quantization",)),
    Kind("compiled_decode", DECODE_PARAMS + COMPILE_PARAMS),
    Kind("compiled_generate", DECODE_PARAMS + COMPILE_PARAMS),
    # a decoding axis as its own kind, so it renames nothing; batch 1 and a dynamic cache,
    # what transformers' candidate-verifying generate supports
    Kind("prompt_lookup", ("dtype", "attn_implementation", "prompt_length", "new_tokens",
                           "prompt_lookup_num_tokens"), extra=True),
    Kind("assisted", ("dtype", "attn_implementation", "prompt_length", "new_tokens", "draft_layers"), extra=True),
    # the ONNX Runtime backend: its past grows by concatenation (no static cache), nothing compiles
    Kind("onnxruntime", ("dtype", "attn_implementation", "batch_size", "prompt_length", "new_tokens"), extra=True),
    Kind("selftest_crash", (), selftest=True),
    Kind("selftest_hang", (), selftest=True),
    Kind("selftest_error", (), selftest=True),
)}
SUITE = tuple(k for k, v in KINDS.items() if not (v.selftest or v.extra))  # the seed's suite, the default

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
ATTN_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2", "flex_attention")
ORT_ATTENTION = ("sdpa", "eager")  # what torch.onnx exports
SDPA_KERNELS = ("auto", "flash", "efficient", "math", "cudnn")  # auto: torch chooses (nothing forced)
CACHE_IMPLEMENTATIONS = ("static", "dynamic")
DTYPES = ("auto", "float32", "float16", "bfloat16")
QUANTIZATIONS = ("none", "bnb-8bit", "bnb-4bit-nf4", "bnb-4bit-fp4")  # bitsandbytes; 4-bit computes in dtype
MAX_SCENARIOS = 256  # a matrix larger than this is a typo, not a plan
MAX_TIMEOUT_S = 7 * 24 * 3600.0
MAX_SEED = 2**32 - 1  # what every seeded library (torch, numpy, random) accepts
MAX_PROCESSES = 16  # worker processes per scenario: more is a typo, not a plan (each loads the model anew)
SCENARIO_NAME_CHARS = 255  # scenario_runs.name


def resolve_dtype(dtype: str, device: str) -> str:
    if dtype != "auto":
        return dtype
    return "float16" if device.startswith("cuda") else "float32"


@dataclass(frozen=True)
class ScenarioParams:
    """Parameters of one scenario. A kind uses some of the measurement parameters (see
    KINDS); the others stay at their defaults. Every field can be a matrix axis, and each
    has one validator in PARAMS."""

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
    # added after identity v1 (late in PARAMS)
    sdpa_kernel: str = "auto"  # forces one SDPA kernel: with attn_implementation = sdpa only
    prompt_lookup_num_tokens: int = 10  # candidate tokens per lookup (transformers' documented example)
    draft_layers: int = 1  # assisted decoding's draft: the main model's first layers
    quantization: str = "none"  # bitsandbytes weights (worker/quantization.py)

    def validate(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ConfigError(f"unknown scenario kind {self.kind!r} (one of {', '.join(KINDS)})")
        for param in PARAMS.values():
            param.check(param.name, getattr(self, param.name))
        unused = [f for f in measurement_fields() if f not in KINDS[self.kind].params
                  and getattr(self, f) != DEFAULTS[f]]
        if unused:
            raise ConfigError(_not_a_parameter(unused[0], self.kind))
        if self.sdpa_kernel != "auto" and self.attn_implementation != "sdpa":
            raise ConfigError(f"sdpa_kernel = {self.sdpa_kernel} forces a kernel of attn_implementation = sdpa, "
                              f"not of attn_implementation = {self.attn_implementation}")
        if self.kind == "onnxruntime" and self.attn_implementation not in ORT_ATTENTION:
            raise ConfigError(f"attn_implementation = {self.attn_implementation} does not export to ONNX: kind "
                              f"onnxruntime takes attn_implementation {' or '.join(ORT_ATTENTION)}")

    def used(self) -> dict[str, Any]:
        """The measurement parameters this kind uses, with their values."""
        return {p: getattr(self, p) for p in KINDS[self.kind].params}

    def name(self, device: str) -> str:
        """Kind plus the used parameters that differ from the defaults on `device`: stable
        across runs, and the same whether a value was spelled `auto` or explicitly."""
        diffs = [f"{p}={v}" for p, v in self.resolved(device).used().items() if v != _default(p, device)]
        return f"{self.kind}[{','.join(diffs)}]" if diffs else self.kind

    def resolved(self, device: str) -> ScenarioParams:
        return replace(self, dtype=resolve_dtype(self.dtype, device))

    def to_dict(self) -> dict[str, Any]:
        """Every field, less late parameters at their defaults: a config that does not use a
        new axis hashes and stores as it did before the axis existed."""
        return {k: v for k, v in asdict(self).items() if not (k in LATE and v == DEFAULTS[k])}


SCENARIO_FIELDS = tuple(f.name for f in fields(ScenarioParams))
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(ScenarioParams) if f.name != "kind"}


# -- each parameter's validator, in one place ----------------------------------------------

def _one_of(allowed: tuple[str, ...]) -> Callable[[str, Any], None]:
    return lambda name, value: _choice(name, value, allowed)


def _integer(low: int) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 10**6:
            raise ConfigError(f"{name} must be an integer from {low} to 1000000, got {value!r}")
    return check


def _boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def _seconds(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
            or not 0 < value <= MAX_TIMEOUT_S:
        raise ConfigError(f"{name} must be a number of seconds in (0, {MAX_TIMEOUT_S:g}], got {value!r}")


def _attention(name: str, value: Any) -> None:
    if value == "better_transformer":
        raise ConfigError(f"{name} = better_transformer: BetterTransformer was folded into PyTorch's native "
                          "SDPA and removed from Optimum 2.x; use attn_implementation = sdpa (and sdpa_kernel "
                          "to force a kernel)")
    _choice(name, value, ATTN_IMPLEMENTATIONS)


@dataclass(frozen=True)
class Param:
    name: str
    check: Callable[[str, Any], None]  # raises ConfigError naming the parameter and what is allowed
    # Added after identity v1: a series key includes it only where it is not at its
    # default, so adding it renamed no stored series (contracts/identity.py).
    late: bool = False


PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("dtype", _one_of(DTYPES)),
    Param("batch_size", _integer(1)),
    Param("prompt_length", _integer(1)),
    Param("new_tokens", _integer(3)),
    Param("attn_implementation", _attention),
    Param("cache_implementation", _one_of(CACHE_IMPLEMENTATIONS)),
    Param("compile_mode", _one_of(COMPILE_MODES)),
    Param("fullgraph", _boolean),
    Param("warmup", _integer(0)),
    Param("repetitions", _integer(1)),
    Param("timeout_s", _seconds),
    Param("sdpa_kernel", _one_of(SDPA_KERNELS), late=True),
    Param("prompt_lookup_num_tokens", _integer(1), late=True),
    Param("draft_layers", _integer(1), late=True),
    Param("quantization", _one_of(QUANTIZATIONS), late=True),
)}
LATE = frozenset(p.name for p in PARAMS.values() if p.late)


def measurement_fields() -> tuple[str, ...]:
    return tuple(f for f in SCENARIO_FIELDS if f not in ("kind", *RUN_CONTROL))


def parse_name(name: str) -> tuple[str, dict[str, str]]:
    """`compiled_decode[compile_mode=default]` -> ("compiled_decode", {"compile_mode": "default"})."""
    kind, _, rest = name.partition("[")
    pairs = [p.split("=", 1) for p in rest.rstrip("]").split(",") if "=" in p]
    return kind, {k: v for k, v in pairs}


def _default(param: str, device: str) -> Any:
    return resolve_dtype("auto", device) if param == "dtype" else DEFAULTS[param]


def _not_a_parameter(param: str, kind: str) -> str:
    own = ", ".join(KINDS[kind].params + RUN_CONTROL)
    return f"{param} is not a parameter of {kind} (its parameters: {own})"


@dataclass
class BenchConfig:
    model: str = "auto"  # auto / preset name / local checkpoint dir / hub id
    device: str = "auto"  # auto / cpu / cuda / cuda:N
    seed: int = 0
    sample_interval_ms: float = 100.0  # 0 turns the device sampler off
    # worker processes per scenario, one after another, stored as one run (run/processes.py):
    # the run's own process-to-process spread. Not a scenario parameter: it names no series.
    processes: int = 1
    inductor_cache: str = "fresh"  # fresh: each scenario compiles cold, so compile time is comparable
    # the kinds `commitbench ab` measures (`run` ignores it); None: the run's kinds that gate
    ab_kinds: list[str] | None = None
    # one profiled repetition per timing scenario, after the measured ones (worker/profile.py):
    # it changes no figure, so it is stored only when on and is no part of the hash
    profile: bool = False
    scenarios: list[ScenarioParams] = field(default_factory=list)

    def validate(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("model must be a non-empty string")
        if not (self.device in ("auto", "cpu", "cuda") or _is_cuda_index(self.device)):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be an integer from 0 to {MAX_SEED}, got {self.seed!r}")
        ms = self.sample_interval_ms
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not (ms == 0 or 1 <= ms <= 60000):
            raise ConfigError(f"sample_interval_ms must be 0 (off) or 1..60000, got {ms!r}")
        k = self.processes
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_PROCESSES:
            raise ConfigError(f"processes must be an integer from 1 to {MAX_PROCESSES}, got {k!r:.60}")
        _choice("inductor_cache", self.inductor_cache, ("fresh", "shared"))
        _boolean("profile", self.profile)
        if self.ab_kinds is not None:
            if not isinstance(self.ab_kinds, list) or not self.ab_kinds or \
                    any(not isinstance(k, str) or k not in KINDS for k in self.ab_kinds):
                raise ConfigError(f"ab_kinds must be a non-empty list of scenario kinds (of {', '.join(KINDS)}), "
                                  f"got {self.ab_kinds!r}")
        if not self.scenarios:
            raise ConfigError("no scenarios to run")
        for s in self.scenarios:
            s.validate()
        # With the device still "auto", two scenarios are surely one if they are one on
        # either kind of device; resolve() checks again once the device is known.
        try:
            self.names()
        except ConfigError:
            if self.device != "auto":
                raise
            self.names("cuda")

    def kinds_for_ab(self) -> list[str]:
        """The kinds an A/B runs: `ab_kinds` where the file names them, else the run's kinds
        with a gating figure (a load time that gates nothing is not worth a round's minutes)."""
        kinds = list(dict.fromkeys(s.kind for s in self.scenarios))
        if self.ab_kinds is not None:
            return [k for k in kinds if k in self.ab_kinds]
        return [k for k in kinds if KINDS[k].gates]

    def names(self, device: str | None = None) -> list[str]:
        """Scenario names on this config's device; ConfigError if two are the same scenario."""
        names = [s.name(device or self.device) for s in self.scenarios]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ConfigError(f"scenario {dup!r} appears twice in the matrix (after resolving auto values)")
        if too_long := next((n for n in names if len(n) > SCENARIO_NAME_CHARS), None):
            raise ConfigError(f"scenario name {too_long[:60]!r}... is longer than {SCENARIO_NAME_CHARS} characters")
        return names

    def resolve(self, device: str) -> BenchConfig:
        """The same config on a concrete device, with every `auto` value resolved."""
        cfg = replace(self, device=device, scenarios=[s.resolved(device) for s in self.scenarios])
        cfg.names()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """Every key, less `processes` at 1, `ab_kinds` unset and `profile` off: a config that
        does not use them hashes and stores as it did before the keys existed."""
        d = asdict(self)
        d["scenarios"] = [s.to_dict() for s in self.scenarios]
        if d["processes"] == 1:
            del d["processes"]
        if d["ab_kinds"] is None:
            del d["ab_kinds"]
        if not d["profile"]:
            del d["profile"]
        return d

    @classmethod
    def from_dict(cls, data: Any) -> BenchConfig:
        """A stored resolved config (`to_dict`) back, validated: what `commitbench replay`
        runs again. Every scenario field is explicit there, so it is not read as a config
        file (where a parameter a kind does not use is an error): each scenario is rebuilt
        from its own kind's parameters, since `resolve` stored even an unused `auto` dtype
        resolved (a `selftest_error` with dtype = float32)."""
        if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
            raise ConfigError("stored config: not a commitbench configuration (no scenarios)")
        run_keys = {f.name for f in fields(cls)} - {"scenarios"}
        if unknown := set(data) - run_keys - {"scenarios"}:
            raise ConfigError(f"stored config: unknown key(s) {', '.join(sorted(unknown))}")
        scenarios = []
        for i, s in enumerate(data["scenarios"]):
            if not isinstance(s, dict) or (bad := set(s) - set(SCENARIO_FIELDS)):
                raise ConfigError(f"stored config: scenario {i} has unknown field(s) "
                                  f"{', '.join(sorted(bad)) if isinstance(s, dict) else type(s).__name__}")
            kind = KINDS.get(s["kind"]) if isinstance(s.get("kind"), str) else None  # validate() refuses
            try:
                scenarios.append(ScenarioParams(**{k: v for k, v in s.items()
                                                   if kind is None or k == "kind" or kind.takes(k)}))
            except TypeError as e:  # no kind
                raise ConfigError(f"stored config: scenario {i}: {e}") from None
        cfg = cls(**{k: v for k, v in data.items() if k in run_keys}, scenarios=scenarios)
        cfg.validate()
        return cfg

    def hash(self) -> str:
        """Stable over key order: two runs with the same hash measured the same matrix."""
        measured = {k: v for k, v in self.to_dict().items() if k != "profile"}  # profiling measures nothing
        return hashlib.sha256(json.dumps(measured, sort_keys=True).encode()).hexdigest()


def build_config(data: dict[str, Any], overrides: dict[str, Any] | None = None) -> BenchConfig:
    """Config-file data + command-line overrides -> a validated (unresolved) BenchConfig.

    `overrides` holds run-level keys, `kinds` (a filter) and scenario parameters; a
    scenario parameter overrides the file for every scenario whose kind uses it.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    run_keys = {f.name for f in fields(BenchConfig)} - {"scenarios"}
    if unknown := set(data) - run_keys - {"defaults", "scenarios"}:
        raise ConfigError(f"unknown config key(s): {', '.join(sorted(unknown))}")
    defaults = _defaults(data)
    entries = _entries(data, overrides.pop("kinds", None))
    scenario_over = _scenario_overrides(overrides, entries)
    merged = [KINDS[e["kind"]].entry(defaults, e, scenario_over) for e in entries]
    _check_size(merged)
    cfg = BenchConfig(**_run_settings(data, overrides, run_keys), scenarios=[s for m in merged for s in expand(m)])
    cfg.validate()
    return cfg


def _run_settings(data: dict[str, Any], overrides: dict[str, Any], run_keys: set[str]) -> dict[str, Any]:
    """The run-level keys: the file's, under the command line's (which, once `kinds` and the
    scenario parameters are taken out, holds nothing else)."""
    if extra := set(overrides) - run_keys:
        raise ConfigError(f"unknown option(s): {', '.join(sorted(extra))}")
    return {k: v for k, v in data.items() if k in run_keys} | overrides


def _defaults(data: dict[str, Any]) -> dict[str, Any]:
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError("defaults must be a table")
    _check_keys(defaults, "[defaults]")
    return defaults


def _scenario_overrides(overrides: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario parameters among the overrides, taken out of them: each must apply to a
    scenario of this run (an override that changes nothing is a mistake, not a no-op)."""
    over = {k: overrides.pop(k) for k in list(overrides) if k in SCENARIO_FIELDS}
    if "kind" in over:
        raise ConfigError("kind cannot be overridden (use --scenarios)")
    for param in over:
        if not any(KINDS[e["kind"]].takes(param) for e in entries):
            users = [k.name for k in KINDS.values() if param in k.params]
            raise ConfigError(f"{param} applies to no scenario of this run (it is a parameter of "
                              f"{', '.join(users)})")
    return over


def _check_size(merged: list[dict[str, Any]]) -> None:
    size = sum(math.prod(len(v) if isinstance(v, list) else 1 for v in m.values()) for m in merged)
    if size > MAX_SCENARIOS:
        raise ConfigError(f"the matrix expands to {size} scenarios, more than {MAX_SCENARIOS}")


def _entries(data: dict[str, Any], kinds: list[str] | None) -> list[dict[str, Any]]:
    """The `[[scenarios]]` entries (the seed's suite when the file has none), kind-filtered."""
    if kinds is not None:
        for k in kinds:
            if k not in KINDS:
                raise ConfigError(f"unknown scenario kind {k!r} (one of {', '.join(KINDS)})")
    if "scenarios" not in data:
        return [{"kind": k} for k in (kinds or SUITE)]
    entries = data["scenarios"]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError("scenarios must be a list of tables")
    if not entries:
        raise ConfigError("scenarios is an empty list: leave the key out to run the default suite")
    for e in entries:
        if "kind" not in e:
            raise ConfigError("every scenario needs a kind")
        if not isinstance(e["kind"], str) or e["kind"] not in KINDS:
            raise ConfigError(f"unknown scenario kind {e['kind']!r} (one of {', '.join(KINDS)})")
        _check_keys(e, f"scenario {e['kind']}")
    if kinds is not None:
        entries = [e for e in entries if e["kind"] in kinds]
        if not entries:
            raise ConfigError(f"none of the configured scenarios is of kind {', '.join(kinds)}")
    return entries


def _check_keys(table: dict[str, Any], where: str) -> None:
    allowed = set(SCENARIO_FIELDS) - ({"kind"} if where == "[defaults]" else set())
    if unknown := set(table) - allowed:
        raise ConfigError(f"unknown scenario parameter(s) in {where}: {', '.join(sorted(unknown))}")
    # every value in the file, whether or not a kind of this run uses it: a typo must not
    # wait for the day a kind does (a list is a matrix axis: each of its values)
    for param, value in table.items():
        if param != "kind":
            for one in value if isinstance(value, list) else [value]:
                PARAMS[param].check(param, one)


def expand(entry: dict[str, Any]) -> list[ScenarioParams]:
    """One merged scenario entry -> scenarios; list values are matrix axes."""
    axes = {k: (v if isinstance(v, list) else [v]) for k, v in entry.items()}
    empty = [k for k, v in axes.items() if not v]
    if empty:
        raise ConfigError(f"empty list for {empty[0]}")
    keys = list(axes)
    return [ScenarioParams(**dict(zip(keys, combo))) for combo in itertools.product(*axes.values())]


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config {path} is not UTF-8 text (byte {e.start})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot parse config {path}: {str(e).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"cannot parse config {path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a table/object at the top level")
    return data


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r:.60}")


def _is_cuda_index(device: Any) -> bool:
    return isinstance(device, str) and device.startswith("cuda:") and device[5:].isdigit()
