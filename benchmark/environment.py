"""Software and hardware metadata stored with every run."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib import metadata
from typing import Any

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


def collect(device: str, gpu_index: int | None) -> dict[str, Any]:
    """What ran, where. `gpu_name` is "cpu" on machines without a GPU so dashboards can filter."""
    import torch

    env: dict[str, Any] = {
        "hostname": socket.gethostname(),
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
    reader = NvmlReader.open(gpu_index) if gpu_index is not None else None
    if reader is not None:
        env.update(reader.info())
        reader.close()
    elif device.startswith("cuda"):  # CUDA without NVML: take what torch knows
        env.update(gpu_name=torch.cuda.get_device_name(gpu_index or 0), gpu_count=torch.cuda.device_count())
    return env
