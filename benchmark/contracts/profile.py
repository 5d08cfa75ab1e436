"""The compact summary of one profiled repetition: what `commitbench explain` diffs.

A scenario run with `profile = true` (`commitbench run --profile`; on by default in `ab` and
`bisect`) records ONE extra repetition under a profiler after its measured repetitions, so the
profiler's overhead touches no stored figure. Every cost here is per token as the scenario's
figure (TOKEN_TIME_FIGURE) is: per decode step, one new token for each sequence of the batch.
The decode-loop scenarios (eager, compiled_decode, onnxruntime) profile exactly the decode
steps, from the end of the prefill to the last token; the generate scenarios
(compiled_generate, prompt_lookup, assisted) profile one whole call, divided by its new tokens.

The summary lives in the scenario's `info["profile"]` (scenario_runs.info, JSON: no schema
change), written and read through `codec` like every other contract; the full Chrome trace
is a file beside the result, its path in `trace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import codec

PROFILE_FORMAT = "commitbench.profile/1"
INFO_KEY = "profile"  # ScenarioResult.info[INFO_KEY]
MAX_OPERATORS = 200  # by self time: a real model has far fewer distinct operators
MAX_KERNELS = 50
# the decode steps' time outside every operator (Python, the profiler's own bookkeeping): a row
# like an operator's, so a slowdown in plain Python is named too
OUTSIDE = "[outside operators]"
# the figure a profile explains, per kind: a decode step's time, or a generate call's / its new tokens
TOKEN_TIME_FIGURE = {"eager": "eager_time_to_next_token_secs", "compiled_decode": "time_to_next_token_mean_secs",
                     "onnxruntime": "ort_time_to_next_token_secs",
                     "compiled_generate": "compiled_generate_time_secs",
                     "prompt_lookup": "prompt_lookup_time_per_token_secs",
                     "assisted": "assisted_time_per_token_secs"}
# those that time a whole generate call: per token, as the profile is, they are / the scenario's new_tokens
WHOLE_CALL_FIGURES = frozenset({"compiled_generate_time_secs"})


def token_seconds(figure: str, seconds: float, params: dict[str, Any]) -> float:
    """A sample of a TOKEN_TIME_FIGURE as seconds per token (`params`: its scenario's)."""
    return seconds / params["new_tokens"] if figure in WHOLE_CALL_FIGURES else seconds


@dataclass
class OperatorCost:
    """One operator (aten::mm, a record_function label, ...) over the profiled steps, per step."""

    name: str
    calls_per_token: float
    self_us_per_token: float  # host (CPU) time in the operator itself, children excluded
    total_us_per_token: float  # host time with its children
    device_self_us_per_token: float | None = None  # the GPU time of its kernels (CUDA only)


@dataclass
class KernelCost:
    """One GPU kernel (CUDA only), per decode step."""

    name: str
    calls_per_token: float
    us_per_token: float


@dataclass
class ProfileSummary:
    tokens: int  # decode steps profiled: every "per token" divides by this
    batch_size: int
    device: str  # "cpu" or "cuda"
    wall_us_per_token: float  # a profiled step's wall time, the median (profiler overhead included: no figure)
    operators: list[OperatorCost] = field(default_factory=list)  # by self time, largest first
    kernels: list[KernelCost] = field(default_factory=list)  # by time, largest first (CUDA only)
    trace: str | None = None  # the Chrome trace file (gzip JSON; chrome://tracing, ui.perfetto.dev)
    note: str | None = None  # what was profiled, where it is not the decode steps under torch.profiler
    format: str = PROFILE_FORMAT

    def to_info(self) -> dict[str, Any]:
        return codec.encode(self)

    @classmethod
    def from_info(cls, info: dict[str, Any] | None) -> ProfileSummary | None:
        """A scenario's stored summary; None where the scenario was not profiled. A damaged
        one is a ValueError naming the field (codec.DecodeError)."""
        data = (info or {}).get(INFO_KEY)
        if data is None:
            return None
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise codec.DecodeError(f"info.{INFO_KEY}: not a commitbench profile (format {found!r})")
        return codec.decode(cls, data, f"info.{INFO_KEY}")
