"""One profiled repetition, after the measured ones (`profile = true`, `run --profile`).

`record(ctx, run_once, recorder)` is the one entry every profiling scenario calls, after its
last measured repetition and its last counter or energy reading: it takes the peak-memory
figures first, runs the repetition under a recorder, and stores the summary
(contracts/profile.py) and the Chrome trace. Nothing it costs reaches a figure. The recorders:

- `ProfiledSteps` (eager, compiled_decode): the decode loop itself (`decode.timed_generate`,
  with the scenario's own step, prefill and step markers), with this recorder as its timer;
  torch.profiler starts at the mark that ends the prefill, so it holds exactly the decode steps.
- `ProfiledCall` (compiled_generate, prompt_lookup, assisted; `record_generate`): one whole
  `generate` call, whose figure is its wall time / new tokens; the call runs twice, the first
  the profiler's warm-up.
- `ort.ProfiledSession` (onnxruntime): ONNX Runtime's own profiler, whose node events
  `ort_summary` reads in the same shape (worker/ort.py).
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
CALL_NOTE = ("one whole generate call, prefill included: per token is the call / its new tokens, as the figure "
             "is (the call ran once before, as the profiler's warm-up)")


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

    def profile(self, run_once: Callable[[ProfiledSteps], Any]) -> None:
        run_once(self)

    def summary(self, params, device: str) -> ProfileSummary:
        return summarize(self.profiler.events(), params.new_tokens - 1, params.batch_size, device)

    def write_trace(self, directory: Path) -> Path:
        """The full Chrome trace, gzipped (Perfetto and chrome://tracing open it as it is)."""
        directory.mkdir(parents=True, exist_ok=True)
        plain = directory / "trace.json"
        self.profiler.export_chrome_trace(str(plain))
        return gzip_trace(plain, directory)


class ProfiledCall(ProfiledSteps):
    """One call (a whole `generate`) as one profiled step of `new_tokens` tokens: the figures
    of these scenarios are a call's wall time / its new tokens, never per forward (an assisted
    or prompt-lookup forward can yield several tokens). The call runs once as the profiler's
    warm-up, then once recorded."""

    def profile(self, run_once: Callable[[], Any]) -> None:
        self._sync()
        self.profiler.start()
        run_once()  # the warm-up: nothing recorded
        self._sync()
        self.profiler.step()  # "ProfilerStep#1": the recorded call
        run_once()
        self.stop()

    def summary(self, params, device: str) -> ProfileSummary:
        return summarize(self.profiler.events(), 1, params.batch_size, device, tokens_per_step=params.new_tokens,
                         note=CALL_NOTE)


def record(ctx, run_once: Callable, recorder: Callable[[], Any] | None = None) -> None:
    """Run `run_once` (one repetition) profiled, when the job asks for a profile: its summary
    into ctx.info["profile"], its Chrome trace into the job's profile directory. `recorder`
    makes the recorder, after the peak-memory figures are taken (default ProfiledSteps: then
    `run_once(timer)` is one decode repetition timed by it)."""
    if ctx.profile_dir is None:
        return
    ctx.record_memory()  # the peaks as measured, before the profiler allocates its own
    ctx.phase("profile")
    ctx.progress("one profiled repetition (no figure comes from it)")
    r = recorder() if recorder is not None else ProfiledSteps(ctx.device)
    r.profile(run_once)
    summary = r.summary(ctx.params, ctx.device.type)
    summary.trace = str(r.write_trace(Path(ctx.profile_dir)))
    ctx.info[INFO_KEY] = summary.to_info()


def record_generate(ctx, model, **generate_kwargs: Any) -> None:
    """`record` of one `model.generate(**generate_kwargs)` call (ProfiledCall)."""
    def call() -> None:
        with torch.inference_mode():
            model.generate(**generate_kwargs)

    record(ctx, call, lambda: ProfiledCall(ctx.device))


class StepCosts:
    """Each operator's host time in each profiled step, and its calls over all of them: the
    per-token rows of a summary. An operator's time per token is the median over the steps of
    its time in each step, not the mean: a step in which the scheduler took the core away (a
    shared CI machine) then moves no operator. Its calls per token are exact."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.times: dict[str, list[list[float]]] = {}  # name -> [self per step, total per step]
        self.calls: dict[str, int] = {}
        self.device_self: dict[str, float] = {}

    def add(self, name: str, step: int, self_us: float, total_us: float, calls: int = 1,
            device_self_us: float | None = None) -> None:
        row = self.times.setdefault(name, [[0.0] * self.steps, [0.0] * self.steps])
        row[0][step] += self_us
        row[1][step] += total_us
        self.calls[name] = self.calls.get(name, 0) + calls
        if device_self_us is not None:
            self.device_self[name] = self.device_self.get(name, 0.0) + device_self_us

    def operators(self, tokens_per_step: int = 1) -> list[OperatorCost]:
        tokens = self.steps * tokens_per_step
        ops = [OperatorCost(name, self.calls[name] / tokens, statistics.median(own) / tokens_per_step,
                            statistics.median(total) / tokens_per_step,
                            self.device_self[name] / tokens if name in self.device_self else None)
               for name, (own, total) in self.times.items()]
        ops.sort(key=lambda o: (-o.self_us_per_token, o.name))
        return ops[:MAX_OPERATORS]


def summarize(events, steps: int, batch_size: int, device: str, tokens_per_step: int = 1,
              note: str | None = None) -> ProfileSummary:
    """torch.profiler's events (one "ProfilerStep*" per profiled step, the operators inside them)
    -> the compact per-token summary (StepCosts). The steps' own time outside every operator is
    the row OUTSIDE."""
    marked = sorted((e for e in events if e.name.startswith(STEP_EVENT)), key=lambda e: e.time_range.start)[:steps]
    starts = [s.time_range.start for s in marked]
    costs = StepCosts(len(marked))
    kernels: dict[str, list[float]] = {}  # name -> [calls, device us]
    for e in events:
        if _is_kernel(e):
            k = kernels.setdefault(e.name, [0, 0.0])
            k[0] += 1
            k[1] += _us(e, "device_time_total", "cuda_time_total")
            continue
        name = OUTSIDE if e.name.startswith(STEP_EVENT) else e.name
        i = bisect.bisect_right(starts, e.time_range.start) - 1
        if i < 0 or e.time_range.start > marked[i].time_range.end:
            continue  # after the last profiled step (the profiler's stop)
        costs.add(name, i, e.self_cpu_time_total, e.cpu_time_total if name != OUTSIDE else e.self_cpu_time_total,
                  calls=int(name != OUTSIDE),
                  device_self_us=_us(e, "self_device_time_total", "self_cuda_time_total") if device == "cuda" else None)
    tokens = len(marked) * tokens_per_step
    ks = sorted((KernelCost(name, n / tokens, us / tokens) for name, (n, us) in kernels.items()),
                key=lambda k: (-k.us_per_token, k.name))
    wall = statistics.median(s.cpu_time_total for s in marked) / tokens_per_step if marked else 0.0
    return ProfileSummary(tokens=tokens, batch_size=batch_size, device=device, wall_us_per_token=wall,
                          operators=costs.operators(tokens_per_step), kernels=ks[:MAX_KERNELS], note=note)


def gzip_trace(plain: Path, directory: Path) -> Path:
    """A Chrome trace file (JSON) gzipped into `directory` as TRACE_NAME; the plain one removed."""
    directory.mkdir(parents=True, exist_ok=True)
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
