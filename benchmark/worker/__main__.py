"""Entry point of a worker subprocess: `python -m benchmark.worker JOB.json OUT.json`.

One job per process, so a segfault, a hang or an out-of-memory kills only this job.
Exceptions are not caught: the traceback goes to stderr and the non-zero exit code tells
the runner the job failed, with the last stderr lines as its reason. The worker dies with
its runner: if the runner is killed (SIGKILL, an OOM kill), the kernel kills the worker.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

from ..contracts import codec
from ..contracts.jobs import (RUNNER_PID_ENV, PrepareJob, PrepareOutput, ProbeJob, ProbeOutput, ScenarioJob,
                              ScenarioOutput, decode_job)
from ..trackers.events import Reporter

PR_SET_PDEATHSIG = 1


def die_with_runner() -> None:
    """Ask Linux for SIGKILL when the runner dies. Inductor's compile workers watch their
    own parent (this process), so they follow. If the runner died before this call, the
    signal would never come: then exit now."""
    runner = os.environ.get(RUNNER_PID_ENV)
    if runner is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != int(runner):
        os._exit(1)


def main(argv: list[str]) -> int:
    die_with_runner()
    job = decode_job(json.loads(Path(argv[0]).read_text()))
    events = Reporter.from_env()
    if isinstance(job, PrepareJob):
        output = _prepare(job, events)
    elif isinstance(job, ProbeJob):
        output = _probe(job)
    else:
        output = _scenario(job, events)
    out = Path(argv[1])
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(codec.dumps(output))
    tmp.replace(out)
    return 0


def _prepare(job: PrepareJob, events: Reporter) -> PrepareOutput:
    from ..models import build_synthetic, download

    events.phase("prepare")
    if job.source_kind == "hub":
        return PrepareOutput(path=str(download(job.source)))
    assert job.path is not None
    return PrepareOutput(path=str(build_synthetic(job.source, job.dtype, job.seed, job.device, Path(job.path))))


def _probe(job: ProbeJob) -> ProbeOutput:
    import torch

    from ..trackers.bandwidth import copy_bandwidth

    device = torch.device(job.device)
    out = ProbeOutput()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device.index or 0)
        uuid = getattr(props, "uuid", None)
        out = ProbeOutput(gpu_name=props.name, gpu_count=torch.cuda.device_count(),
                          uuid=str(uuid) if uuid is not None else None)
        torch.cuda.set_device(device)
    if job.bandwidth_bytes:
        out.memory_bandwidth_bytes_per_s = copy_bandwidth(device, job.bandwidth_bytes)
    return out


def _scenario(job: ScenarioJob, events: Reporter):
    import torch

    from .context import Context
    from .kernels import forced
    from .scenarios import SCENARIOS
    from .unsupported import Unsupported

    torch.manual_seed(job.seed)
    device = torch.device(job.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    ctx = Context(params=job.params, model_path=job.model_path, device=device, seed=job.seed, events=events,
                  profile_dir=job.profile_dir)
    try:
        with forced(ctx):
            SCENARIOS[job.params.kind](ctx)
    except Unsupported as e:
        return ScenarioOutput(metrics=[], info=ctx.info, skipped=str(e))
    return ctx.output()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
