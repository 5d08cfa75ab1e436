"""The decode roofline: how close a decode step comes to reading every weight once at the
device's memory bandwidth.

At batch 1 a decode step is memory-bound: it must read every weight byte, so
`weight_bytes / bandwidth` is a lower bound on its time. Bandwidth is what a timed
device-to-device copy achieves, counting bytes read + written (trackers/bandwidth.py),
the convention of shared/reference/h100-measurements.md (3.01 TB/s on an H100 -> 4.47
ms/token for Llama-2-7B fp16). A step reads weights only, so the fraction is
conservative (a kernel could beat a copy's read half); what matters is its trend.
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
