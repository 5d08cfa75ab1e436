"""The device's memory bandwidth, measured once per run by a timed copy.

A device-to-device copy of a 1 GiB buffer on CUDA (a memcpy of the same size on CPU),
timed by the one timer, best of a few after a warm-up copy; bandwidth counts bytes read
+ written (2 x size / seconds), as shared/reference/h100-measurements.md does. The best
copy, not the mean: what the memory can do, for the roofline's lower bound.
"""

from __future__ import annotations

import torch

from ..contracts.jobs import BANDWIDTH_BYTES as DEFAULT_BYTES
from .timing import Timer

COPIES = 5


def copy_bandwidth(device: torch.device, nbytes: int = DEFAULT_BYTES, copies: int = COPIES) -> float:
    """Bytes read + written per second of the fastest of `copies` copies of `nbytes`."""
    src = torch.empty(nbytes, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    dst.copy_(src)  # warm-up: first touch of the pages (CPU), allocator and kernel (CUDA)
    timer = Timer(device)
    timer.start()
    for _ in range(copies):
        dst.copy_(src)
        timer.mark()
    seconds = min(timer.stop())
    del src, dst
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return 2 * nbytes / seconds
