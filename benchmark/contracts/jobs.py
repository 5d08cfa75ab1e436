"""What the runner asks of a worker subprocess, and what the worker answers.

A job goes to the worker as JSON ({"job": name, ...fields}) and its output comes back as
JSON, both through `codec`: the same dataclasses on both sides of the process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import codec
from .config import ScenarioParams
from .result import Metric

RUNNER_PID_ENV = "COMMITBENCH_RUNNER_PID"  # the worker dies with this process


@dataclass
class ScenarioJob:
    """Measure one scenario."""

    params: ScenarioParams  # resolved: dtype is never "auto"
    model_path: str  # checkpoint directory or hub id
    device: str  # "cpu" or "cuda[:N]"
    seed: int
    # where one profiled repetition's trace goes (worker/profile.py); None: no profile
    profile_dir: str | None = None


@dataclass
class ScenarioOutput:
    metrics: list[Metric]
    info: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    skipped: str | None = None  # why this device or these libraries cannot run the scenario


@dataclass
class PrepareJob:
    """Put the model's weights on disk: build a preset with seeded random weights, or
    download a hub model into the hub cache."""

    source: str  # preset name or hub id
    source_kind: str  # "preset" or "hub"
    dtype: str = "float32"
    seed: int = 0
    device: str = "cpu"
    path: str | None = None  # where a preset's checkpoint goes


@dataclass
class PrepareOutput:
    path: str


# The probe's memory-bandwidth copy (1 GiB): here, not beside the copy in trackers/bandwidth.py,
# because the runner names it and must not import torch to do so.
BANDWIDTH_BYTES = 2**30


@dataclass
class ProbeJob:
    """What the runner must not find out itself, because asking CUDA would create a
    context in the runner's process: the GPU's name and identity; and the device's memory
    bandwidth, measured in a process of its own (a copy of `bandwidth_bytes`; 0: none)."""

    device: str
    bandwidth_bytes: int = 0


@dataclass
class ProbeOutput:
    gpu_name: str | None = None
    gpu_count: int = 0
    uuid: str | None = None  # NVML's form, "GPU-..."; how the sampler finds the same GPU
    memory_bandwidth_bytes_per_s: float | None = None


JOBS: dict[str, tuple[type, type]] = {
    "scenario": (ScenarioJob, ScenarioOutput),
    "prepare": (PrepareJob, PrepareOutput),
    "probe": (ProbeJob, ProbeOutput),
}


def job_name(job: Any) -> str:
    return next(name for name, (cls, _) in JOBS.items() if isinstance(job, cls))


def encode_job(job: Any) -> dict[str, Any]:
    return {"job": job_name(job), **codec.encode(job)}


def decode_job(data: Any) -> Any:
    name = data.get("job") if isinstance(data, dict) else None
    if name not in JOBS:
        raise codec.DecodeError(f"unknown job {name!r}")
    return codec.decode(JOBS[name][0], {k: v for k, v in data.items() if k != "job"}, f"{name} job")


def output_type(job: Any) -> type:
    return JOBS[job_name(job)][1]
