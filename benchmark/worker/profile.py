"""One profiled decode repetition, after the measured ones (`profile = true`, `run --profile`).

The repetition goes through the very path the measured ones take (`decode.timed_generate`,
with the scenario's own step, prefill and step markers); only its timer is `ProfiledSteps`,
which starts torch.profiler at the mark that ends the prefill and stops it with the region.
So the profile holds exactly the decode steps, and nothing it costs reaches a figure: it runs
after every measured repetition, and after the peak-memory figures are taken.
"""

from __future__ import annotations

import bisect
import gzip
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity

from ..contracts.profile import INFO_KEY, MAX_KERNELS, MAX_OPERATORS, OUTSIDE, KernelCost, OperatorCost, ProfileSummary

TRACE_NAME = "trace.json.gz"
STEP_EVENT = "ProfilerStep"  # the profiler's label of each step


class ProfiledSteps:
    """A stand-in for trackers.timing.Timer in timed_generate: profiles instead of timing.
    The profiler warms up over the prefill; the first mark (the prefill's end) starts its
    recording, and `stop` ends it."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        # the prefill is the profiler's warm-up step: its first events cost far more than the
        # rest (measured on micro-llama: a decode step's profile 3x heavier without it)
        self.profiler = torch.profiler.profile(activities=activities,
                                               schedule=torch.profiler.schedule(wait=0, warmup=1, active=10**6))
        self._marks = 0

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def start(self) -> None:
        self._sync()
        self._marks = 0
        self.profiler.start()  # warming up: nothing is recorded

    def mark(self) -> None:
        self._marks += 1
        if self._marks == 1:  # the prefill has ended: record from here
            self._sync()
        self.profiler.step()  # each decode step its own "ProfilerStep#N"

    def stop(self) -> list[float]:
        self._sync()
        self.profiler.stop()
        return []


def record(ctx, run_once: Callable[[ProfiledSteps], Any]) -> None:
    """Run `run_once(timer)` (one decode repetition) profiled, when the job asks for a profile:
    its summary into ctx.info["profile"], its Chrome trace into the job's profile directory."""
    if ctx.profile_dir is None:
        return
    p = ctx.params
    ctx.record_memory()  # the peaks as measured, before the profiler allocates its own
    ctx.phase("profile")
    ctx.progress("one profiled repetition (no figure comes from it)")
    steps = ProfiledSteps(ctx.device)
    run_once(steps)
    summary = summarize(steps.profiler.events(), p.new_tokens - 1, p.batch_size, ctx.device.type)
    summary.trace = str(write_trace(steps.profiler, Path(ctx.profile_dir)))
    ctx.info[INFO_KEY] = summary.to_info()


def summarize(events, tokens: int, batch_size: int, device: str) -> ProfileSummary:
    """torch.profiler's events (one "ProfilerStep*" per decode step, the operators inside them)
    -> the compact per-token summary. An operator's time per token is the median over the steps
    of its time in each step, not the mean: a step in which the scheduler took the core away
    (a shared CI machine) then moves no operator. Its calls per token are exact (all calls over
    the steps). The steps' own time outside every operator is the row OUTSIDE."""
    steps = sorted((e for e in events if e.name.startswith(STEP_EVENT)), key=lambda e: e.time_range.start)[:tokens]
    starts = [s.time_range.start for s in steps]
    per_step: dict[str, list[list[float]]] = {}  # name -> [self per step, total per step]
    calls: dict[str, int] = {}
    kernels: dict[str, list[float]] = {}  # name -> [calls, device us]
    device_self: dict[str, float] = {}
    for e in events:
        if _is_kernel(e):
            k = kernels.setdefault(e.name, [0, 0.0])
            k[0] += 1
            k[1] += _us(e, "device_time_total", "cuda_time_total")
            continue
        name = OUTSIDE if e.name.startswith(STEP_EVENT) else e.name
        i = bisect.bisect_right(starts, e.time_range.start) - 1
        if i < 0 or e.time_range.start > steps[i].time_range.end:
            continue  # after the last decode step (the profiler's stop)
        row = per_step.setdefault(name, [[0.0] * len(steps), [0.0] * len(steps)])
        row[0][i] += e.self_cpu_time_total
        row[1][i] += e.cpu_time_total if name != OUTSIDE else e.self_cpu_time_total
        calls[name] = calls.get(name, 0) + (name != OUTSIDE)
        if device == "cuda":
            device_self[name] = device_self.get(name, 0.0) + _us(e, "self_device_time_total", "self_cuda_time_total")
    ops = [OperatorCost(name, calls[name] / tokens, statistics.median(own), statistics.median(total),
                        device_self[name] / tokens if device == "cuda" else None)
           for name, (own, total) in per_step.items()]
    ops.sort(key=lambda o: (-o.self_us_per_token, o.name))
    ks = sorted((KernelCost(name, n / tokens, us / tokens) for name, (n, us) in kernels.items()),
                key=lambda k: (-k.us_per_token, k.name))
    wall = statistics.median(s.cpu_time_total for s in steps) if steps else 0.0
    return ProfileSummary(tokens=tokens, batch_size=batch_size, device=device, wall_us_per_token=wall,
                          operators=ops[:MAX_OPERATORS], kernels=ks[:MAX_KERNELS])


def write_trace(profiler, directory: Path) -> Path:
    """The full Chrome trace, gzipped (Perfetto and chrome://tracing open it as it is)."""
    directory.mkdir(parents=True, exist_ok=True)
    plain = directory / "trace.json"
    profiler.export_chrome_trace(str(plain))
    out = directory / TRACE_NAME
    with open(plain, "rb") as src, gzip.open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    return out


def _is_kernel(event) -> bool:
    kind = getattr(event, "device_type", None)
    return kind is not None and kind != torch.autograd.DeviceType.CPU


def _us(event, name: str, older: str) -> float:
    """A device time in microseconds (torch renamed cuda_* to device_* in 2.4)."""
    value = getattr(event, name, None)
    return float(value if value is not None else getattr(event, older, 0.0) or 0.0)
