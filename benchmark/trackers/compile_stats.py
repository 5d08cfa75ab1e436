"""torch.compile bookkeeping: graphs compiled, graph breaks, CUDA-graph skips.

Read from dynamo's counters as deltas from construction, so what an earlier compile in
the same process did is not charged to this one.
"""

from __future__ import annotations

import torch


def _read() -> dict[str, int]:
    from torch._dynamo.utils import counters

    return {
        "unique_graphs": counters["stats"]["unique_graphs"],
        "graph_breaks": sum(counters["graph_break"].values()),
        "cudagraph_skips": counters["inductor"]["cudagraph_skips"],
    }


class CompileCounters:
    def __init__(self) -> None:
        self._base = _read()

    def snapshot(self) -> dict[str, int]:
        now = _read()
        return {k: now[k] - self._base[k] for k in now}


def cudagraphs_applied(mode: str, device: torch.device, counts: dict[str, int]) -> bool:
    """Whether CUDA graphs really ran: asked for, on CUDA, and not skipped by inductor.

    On CPU `reduce-overhead` silently behaves as `default`; record what applied.
    """
    asked = mode in ("reduce-overhead", "max-autotune")
    return asked and device.type == "cuda" and counts["cudagraph_skips"] == 0
