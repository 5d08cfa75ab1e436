"""The decode roofline: how close a decode step comes to reading every weight once at the
device's memory bandwidth.

At batch 1 a decode step is memory-bound: it must read every weight byte, so
`weight_bytes / bandwidth` is a lower bound on its time. Bandwidth is what a timed
device-to-device copy achieves, counting bytes read + written (trackers/bandwidth.py),
the convention of shared/reference/h100-measurements.md (3.01 TB/s on an H100 -> 4.47
ms/token for Llama-2-7B fp16). A step reads weights only, so the fraction is
conservative (a kernel could beat a copy's read half); what matters is its trend.

Informational, never a gate: the copy's bandwidth on a shared machine varies with what else
reads memory at that moment (3.5x between runs, #19), so the copy is the best of several
(trackers/bandwidth.py) and a bound above the fastest measured step, which a step cannot
beat, bounds nothing: the fraction is then stored as NULL with that reason (`unbounded`).
"""

from __future__ import annotations

# kind -> its per-repetition decode throughput figure (tokens/s = batch / mean step)
THROUGHPUT_FIGURE = {"compiled_decode": "decode_tokens_per_sec", "eager": "eager_decode_tokens_per_sec"}
FIGURE = "decode_roofline_fraction"


def step_bound_s(weight_bytes: int, bandwidth_bytes_per_s: float) -> float:
    """Seconds a decode step needs at least: every weight byte read once."""
    return weight_bytes / bandwidth_bytes_per_s


def fractions(weight_bytes: int, bandwidth_bytes_per_s: float, tokens_per_sec: list[float],
              batch_size: int) -> list[float]:
    """Per repetition: lower bound / measured mean step (step = batch / tokens per second)."""
    bound = step_bound_s(weight_bytes, bandwidth_bytes_per_s)
    return [bound * tps / batch_size for tps in tokens_per_sec]


def unbounded(weight_bytes: int, bandwidth_bytes_per_s: float, tokens_per_sec: list[float],
              batch_size: int) -> str | None:
    """Why the bound is no lower bound (it is above the fastest measured step: the copy was
    slowed), else None. A step is a repetition's mean step, batch / tokens per second."""
    bound = step_bound_s(weight_bytes, bandwidth_bytes_per_s)
    fastest = batch_size / max(tokens_per_sec)
    if bound <= fastest:
        return None
    return (f"the bound {bound * 1e3:.3g} ms/step ({weight_bytes} weight bytes at the copy's "
            f"{bandwidth_bytes_per_s / 1e9:.3g} GB/s) is above the fastest measured step "
            f"{fastest * 1e3:.3g} ms: the copy was slowed, so it bounds nothing")
