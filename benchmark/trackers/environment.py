"""Software and hardware metadata stored with every run."""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..contracts.jobs import ProbeOutput
from .nvml import NvmlReader


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect(device: str, gpu: NvmlReader | None = None, probe: ProbeOutput | None = None) -> dict[str, Any]:
    """What ran, where. `gpu_name` is "cpu" on machines without a GPU so dashboards can filter.

    GPU facts come from NVML, else from the probe worker: asking torch.cuda here would
    create a CUDA context (and take GPU memory) in the runner's own process.
    """
    import torch

    env: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "runner_pid": os.getpid(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "transformers": _version("transformers"),
        "commitbench": _version("commitbench"),
        "device": device,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu_name": "cpu",
        "gpu_count": 0,
    }
    if probe is not None and probe.gpu_name is not None:  # a CPU probe measures bandwidth only
        env.update(gpu_name=probe.gpu_name, gpu_count=probe.gpu_count, gpu_uuid=probe.uuid)
    if gpu is not None:
        env.update({k: v for k, v in gpu.info().items() if v is not None})
    return env


def code_under_test(checkout: Path) -> list[str]:
    """The installed distributions built from `checkout` (the git work tree being benchmarked):
    those whose PEP 610 direct_url.json points into it (`pip install -e .` or `pip install .`).
    Their versions are the code under test, not the environment: benchmarking transformers'
    own repository, its version moves with every commit (analysis/provenance.py)."""
    root = checkout.resolve()
    found = set()
    for dist in metadata.distributions():
        try:
            url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
        except (ValueError, AttributeError, OSError):
            continue  # an unreadable record names nothing
        if not isinstance(url, str) or not url.startswith("file://"):
            continue
        path = Path(unquote(urlparse(url).path)).resolve()
        if path == root or root in path.parents:
            found.add(_normalized(dist.metadata["Name"] or ""))
    return sorted(n for n in found if n)


def _normalized(name: str) -> str:
    """PEP 503's normal form, as the environment's keys (`transformers`, `torch`) are spelled."""
    return re.sub(r"[-_.]+", "-", name).lower()
