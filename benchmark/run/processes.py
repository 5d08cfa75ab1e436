"""One scenario measured in K worker processes, one after another, as one ScenarioResult
(`commitbench run --processes K`, config key `processes`).

Each process is a fresh worker (its own interpreter, allocator, placement): K of them give
the run its own process-to-process spread, which compare otherwise has to take from history.
The K processes' figures become one metric each, its samples the processes' samples
concatenated process by process in equal shares, and `Metric.processes` says how many shares
(stats.by_process splits them again; the store keeps it in metrics.processes). So:

- a figure some process did not measure (no samples) is made of the processes that did;
- a cold compile (figures.Figure.compiles) is the first process's alone: the later ones share the
  scenario's inductor cache and may compile warm;
- a figure whose processes gave different numbers of samples cannot be split again: the first
  process's is kept, and the figure is named in info["processes_uneven"].

The processes run in order and stop at the first one that does not succeed: the scenario then
has that process's status and error ("process 2/3: ..."), and the figures of the processes
before it are kept. With K = 1 the result is exactly a one-process scenario's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..contracts.figures import FIGURES
from ..contracts.result import SKIPPED, SUCCEEDED, DeviceSample, Metric, ScenarioResult
from .launcher import Outcome


@dataclass
class ProcessRun:
    """One worker process of a scenario: how it ended and what the sampler saw of it."""

    outcome: Outcome
    samples: list[DeviceSample]
    sampler: dict[str, Any] | None  # Sampler.stats(); None with the sampler off


def goes_on(outcome: Outcome) -> bool:
    """Whether the scenario's next process should run: this one measured."""
    return outcome.status == SUCCEEDED and outcome.output is not None and outcome.output.skipped is None


def apply(scenario: ScenarioResult, runs: list[ProcessRun], planned: int) -> None:
    """The scenario's result from its processes (in order; the last may have ended it)."""
    first, last = runs[0], runs[-1]
    if first.sampler is not None:
        scenario.samples = [d for r in runs for d in r.samples]
        scenario.info["sampler"] = first.sampler
    out = last.outcome
    scenario.status, scenario.error = out.status, out.error
    scenario.exit_code, scenario.signal = out.exit_code, out.signal
    scenario.started_at, scenario.finished_at = first.outcome.started_at, out.finished_at
    scenario.phases = [p for r in runs for p in r.outcome.phases]
    if out.status != SUCCEEDED:
        scenario.stderr_tail = out.stderr_tail
    measured = [r.outcome.output for r in runs if goes_on(r.outcome)]
    if measured:
        scenario.metrics, uneven = merge_metrics([o.metrics for o in measured])
        scenario.info.update(measured[0].info)
        scenario.flags = list(measured[0].flags)
        for o in measured[1:]:
            scenario.flags += [f for f in o.flags if f not in scenario.flags]
        if uneven:
            scenario.info["processes_uneven"] = uneven
    elif out.output is not None:  # the first process found the device cannot run it
        scenario.metrics = out.output.metrics
        scenario.info.update(out.output.info)
        scenario.flags = list(out.output.flags)
    if out.output is not None and out.output.skipped is not None:
        scenario.status, scenario.error = SKIPPED, out.output.skipped
    if planned > 1:
        if scenario.status != SUCCEEDED and scenario.error:
            scenario.error = f"process {len(runs)}/{planned}: {scenario.error}"
        scenario.info["processes"] = [
            {"process": i, "status": r.outcome.status, "error": r.outcome.error, "started_at": r.outcome.started_at,
             "finished_at": r.outcome.finished_at, "sampler": r.sampler} for i, r in enumerate(runs, 1)]


def merge_metrics(per_process: list[list[Metric]]) -> tuple[list[Metric], list[str]]:
    """Each figure's metrics of the processes (in process order) as one; and the figures
    whose processes' sample counts differ (kept from the first process alone)."""
    if len(per_process) == 1:
        return per_process[0], []
    names = list(dict.fromkeys(m.name for ms in per_process for m in ms))
    out: list[Metric] = []
    uneven: list[str] = []
    for name in names:
        found = [m for ms in per_process for m in ms if m.name == name]
        with_samples = [m for m in found if m.samples]
        fig = FIGURES.get(name)
        if not with_samples:
            out.append(found[0])  # unmeasured everywhere: its reason is in info
        elif len(with_samples) == 1 or (fig is not None and fig.compiles):
            out.append(with_samples[0])
        elif len({len(m.samples) for m in with_samples}) > 1:
            out.append(with_samples[0])
            uneven.append(name)
        else:
            samples = [v for m in with_samples for v in m.samples]
            out.append(Metric(name=name, unit=with_samples[0].unit, samples=samples, processes=len(with_samples)))
    return out, uneven
