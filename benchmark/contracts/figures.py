"""The registry of figures: every metric a scenario may report, with its unit, which
direction is better, and the seed key it fills. The printed table, the stored rows, and
later compare and the dashboards all read it, so a figure means one thing everywhere.

A scenario can only report a registered figure (`figure()` refuses others): adding a
figure is one line here, with a description; docs/generate.py writes the docs' figure table
from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass

LOWER, HIGHER, INFO = "lower", "higher", "info"  # which way is better; INFO: neither
DIRECTIONS = (LOWER, HIGHER, INFO)
# "s" timings, "tokens/s" throughput, "bytes" memory; "bool" a per-repetition check (1 = true);
# "count" an integer tally. Booleans and counts are never timings: no percentile of them is shown.
# "ratio" a fraction (1 = 100 %); "J" joules; "nats" an information quantity (natural log).
UNITS = ("s", "tokens/s", "bytes", "bool", "count", "ratio", "J", "nats")
# What `commitbench compare` gates on by default: speed, checks and tallies. Memory, ratios and
# energy are informational (listed, never failing the check) unless a figure says otherwise
# or the thresholds file makes them gate.
GATING_UNITS = ("s", "tokens/s", "bool", "count")


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    direction: str
    description: str
    seed_kind: str | None = None  # the scenario kind whose figure fills the seed key of this name
    gates: bool | None = None  # compare's default: a regression fails the check; None: by unit (GATING_UNITS)
    compiles: bool = False  # a first call that includes compilation: cold only with a cold inductor cache

    @property
    def gating(self) -> bool:
        return self.gates if self.gates is not None else self.unit in GATING_UNITS


def _timing(name: str, description: str, seed_kind: str | None = None, gates: bool | None = None,
            compiles: bool = False) -> Figure:
    return Figure(name, "s", LOWER, description, seed_kind, gates, compiles)


_FIGURES = (
    # load
    # informational: disk and page cache decide it more than the code does
    _timing("model_load_time", "from_pretrained from the local checkpoint, then .to(device)", "load", gates=False),
    # eager
    _timing("first_eager_forward_pass_time_secs", "prompt forward (prefill), 1st call", "eager"),
    _timing("second_eager_forward_pass_time_secs", "prompt forward, 2nd call", "eager"),
    _timing("eager_forward_time_secs", "prompt forward, steady state"),
    _timing("first_eager_generate_time_secs", "generate, 1st call", "eager"),
    _timing("second_eager_generate_time_secs", "generate, 2nd call", "eager"),
    _timing("eager_generate_time_secs", "generate, steady state"),
    Figure("eager_generate_tokens_per_sec", "tokens/s", HIGHER, "generated tokens / generate time"),
    _timing("eager_time_to_first_token_secs", "hand-written decode loop: prefill"),
    _timing("eager_time_to_next_token_secs", "hand-written decode loop: every decode step"),
    Figure("eager_decode_tokens_per_sec", "tokens/s", HIGHER, "batch / mean decode step, eager"),
    Figure("decode_matches_generate", "bool", HIGHER, "the decode loop's tokens equal generate's"),
    # compiled_decode
    _timing("compile_prefill_time_secs", "first call of the compiled prefill (includes compilation)", compiles=True),
    _timing("compile_decode_step_time_secs", "first call of the compiled decode step (includes compilation)",
            compiles=True),
    _timing("time_to_first_token_secs", "compiled prefill, steady state", "compiled_decode"),
    _timing("time_to_second_token_secs", "1st compiled decode step of each repetition", "compiled_decode"),
    _timing("time_to_third_token_secs", "2nd compiled decode step of each repetition", "compiled_decode"),
    _timing("time_to_next_token_mean_secs", "per repetition, the mean compiled decode step", "compiled_decode"),
    _timing("time_to_next_token_secs", "every compiled decode step, pooled"),
    _timing("time_to_next_token_tight_loop_secs", "compiled decode steps timed as one interval, per step"),
    Figure("decode_tokens_per_sec", "tokens/s", HIGHER, "batch / mean compiled decode step"),
    Figure("tokens_match_eager", "bool", HIGHER, "greedy tokens of the variant (compiled, a forced SDPA kernel) "
           "equal plain eager ones"),
    Figure("graphs_compiled", "count", INFO, "graphs dynamo compiled"),
    Figure("recompiles_during_measurement", "count", LOWER, "graphs compiled after warmup"),
    Figure("graph_breaks", "count", LOWER, "dynamo graph breaks"),
    Figure("energy_per_token_joules", "J", LOWER, "GPU energy (NVML total-energy counter) over the decode "
           "phase / generated tokens; NULL where unreadable"),
    # compiled_generate
    _timing("first_compile_generate_time_secs", "compiled generate, 1st call (compiles)", "compiled_generate",
            compiles=True),
    _timing("second_compile_generate_time_secs", "compiled generate, 2nd call", "compiled_generate"),
    _timing("third_compile_generate_time_secs", "compiled generate, 3rd call", "compiled_generate"),
    _timing("fourth_compile_generate_time_secs", "compiled generate, 4th call", "compiled_generate"),
    _timing("compiled_generate_time_secs", "compiled generate, steady state"),
    Figure("compiled_generate_tokens_per_sec", "tokens/s", HIGHER, "generated tokens / compiled generate time"),
    # prompt_lookup: per-token latency is wall time of generate / generated tokens, everywhere
    _timing("prompt_lookup_time_per_token_secs", "generate with prompt_lookup_num_tokens: wall time / new tokens, "
            "steady state"),
    Figure("prompt_lookup_tokens_per_sec", "tokens/s", HIGHER, "new tokens / prompt-lookup generate time"),
    _timing("greedy_time_per_token_secs", "plain greedy generate of the same prompt: wall time / new tokens"),
    Figure("prompt_lookup_forwards", "count", INFO, "model forwards one prompt-lookup generate made "
           "(plain greedy's: info.greedy_forwards)"),
    # assisted (the same per-token definition; greedy_time_per_token_secs as above)
    _timing("assisted_time_per_token_secs", "generate with a layer-truncated draft (assistant_model): wall time / "
            "new tokens, steady state"),
    Figure("assisted_tokens_per_sec", "tokens/s", HIGHER, "new tokens / assisted generate time"),
    Figure("assisted_forwards", "count", INFO, "main-model forwards one assisted generate made"),
    Figure("assisted_acceptance_rate", "ratio", INFO, "draft tokens accepted / proposed, from forward counts: "
           "(new tokens - main forwards) / draft forwards"),
    # load and eager (the quantization axis)
    Figure("model_weight_bytes", "bytes", LOWER, "the loaded model's state_dict tensors (parameters, buffers, "
           "quantization state), each storage once"),
    Figure("first_divergence_position", "count", HIGHER, "quantized eager, onnxruntime: index of the first "
           "generated token that differs from the unquantized PyTorch model's (new_tokens when none does)"),
    Figure("top1_agreement", "ratio", HIGHER, "quantized eager, onnxruntime: share of positions where its greedy "
           "next token, teacher-forced on the unquantized PyTorch tokens, equals the unquantized one",
           gates=True),  # output quality, though a ratio
    # output drift of every axis that can change outputs; informational: a drift is a fact to watch, not a failure
    Figure("next_token_kl_divergence", "nats", LOWER, "quantized eager, onnxruntime, a forced SDPA kernel, another "
           "attention implementation, compiled_decode: mean KL(reference || variant) of the next-token distributions, "
           "teacher-forced on the reference's greedy tokens; the reference is eager PyTorch of the same dtype "
           "(unquantized, sdpa, unforced, uncompiled); computed after the timed repetitions", gates=False),
    # eager with an attention implementation other than sdpa
    Figure("tokens_match_sdpa", "bool", HIGHER, "eager with attn_implementation eager / flex_attention / "
           "flash_attention_2: its greedy tokens equal attn_implementation sdpa's"),
    # onnxruntime
    # one-shot and disk-bound, like model_load_time: informational
    _timing("ort_export_time_secs", "torch.onnx export of the model (NULL when an earlier run's export was reused)",
            gates=False),
    _timing("ort_session_load_time_secs", "ONNX Runtime InferenceSession creation from the exported model",
            gates=False),
    _timing("ort_time_to_first_token_secs", "ONNX Runtime decode loop: prefill"),
    _timing("ort_time_to_next_token_secs", "ONNX Runtime decode loop: every decode step"),
    Figure("ort_decode_tokens_per_sec", "tokens/s", HIGHER, "batch / mean decode step, ONNX Runtime"),
    # eager and compiled_decode, added by the runner (contracts/roofline.py)
    Figure("decode_roofline_fraction", "ratio", HIGHER, "decode lower bound (weight bytes / memory bandwidth) "
           "/ measured decode step, per repetition"),
    # every kind
    Figure("peak_memory_allocated_bytes", "bytes", LOWER, "CUDA allocator peak (allocated)"),
    Figure("peak_memory_reserved_bytes", "bytes", LOWER, "CUDA allocator peak (reserved)"),
    Figure("peak_rss_bytes", "bytes", LOWER, "the scenario process's peak resident memory"),
)

FIGURES: dict[str, Figure] = {f.name: f for f in _FIGURES}

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


def figure(name: str) -> Figure:
    try:
        return FIGURES[name]
    except KeyError:
        raise ValueError(f"unregistered figure {name!r}: add it to benchmark/contracts/figures.py") from None


def direction(name: str) -> str | None:
    """A stored figure's direction; None for a name this version does not know."""
    f = FIGURES.get(name)
    return f.direction if f else None
