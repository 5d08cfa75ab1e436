"""The device's memory bandwidth, measured once per run by a timed copy.

A device-to-device copy of a 1 GiB buffer on CUDA (a memcpy of the same size on CPU),
timed by the one timer, best of several after a warm-up copy; bandwidth counts bytes read
+ written (2 x size / seconds), as shared/reference/h100-measurements.md does. The best
copy, not the mean: what the memory can do, for the roofline's lower bound.

On a shared machine one burst of copies can all land while another process reads memory
(the bandwidth varied 3.5x between runs, #19), so the copies come in ROUNDS separated by a
pause, and the best of all of them counts: a busy moment has to last the whole probe to
lower it. The roofline still checks the bound against the measured steps (contracts/roofline.py).
"""

from __future__ import annotations

import time

import torch

from ..contracts.jobs import BANDWIDTH_BYTES as DEFAULT_BYTES
from .timing import Timer

COPIES = 3  # per round
ROUNDS = 3
PAUSE_S = 0.2  # between rounds


def copy_bandwidth(device: torch.device, nbytes: int = DEFAULT_BYTES, copies: int = COPIES, rounds: int = ROUNDS,
                   pause_s: float = PAUSE_S) -> float:
    """Bytes read + written per second of the fastest of `rounds` x `copies` copies of `nbytes`."""
    src = torch.empty(nbytes, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    dst.copy_(src)  # warm-up: first touch of the pages (CPU), allocator and kernel (CUDA)
    timer = Timer(device)
    seconds = []
    for r in range(rounds):
        if r:
            time.sleep(pause_s)
        timer.start()
        for _ in range(copies):
            dst.copy_(src)
            timer.mark()
        seconds += timer.stop()
    seconds = min(seconds)
    del src, dst
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return 2 * nbytes / seconds
