"""The one timing primitive every measurement uses.

A `Timer` marks boundaries inside a timed region and turns them into intervals only
after the region ends, so nothing inside the region reads a clock that forces a host
sync. On CUDA each mark is a CUDA event; elsewhere it is `perf_counter` (CPU ops run
synchronously, and `torch.cpu.synchronize` is called for form's sake).
"""

from __future__ import annotations

import time

import torch


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self._marks: list = []

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        else:
            torch.cpu.synchronize()

    def start(self) -> None:
        """Begin a region: wait for queued work so it is not charged to the region."""
        self._sync()
        self._marks = []
        self.mark()

    def mark(self) -> None:
        """End of one interval, start of the next. No sync, no host read."""
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self._marks.append(ev)
        else:
            self._marks.append(time.perf_counter())

    def stop(self) -> list[float]:
        """End the region (after its last mark): synchronize, then return intervals in seconds."""
        self._sync()
        m = self._marks
        if self.cuda:
            return [a.elapsed_time(b) / 1000.0 for a, b in zip(m, m[1:])]
        return [b - a for a, b in zip(m, m[1:])]

    def time(self, fn, *args, **kwargs):
        """Time one call of `fn`; returns (its result, seconds)."""
        self.start()
        out = fn(*args, **kwargs)
        self.mark()
        (seconds,) = self.stop()
        return out, seconds
