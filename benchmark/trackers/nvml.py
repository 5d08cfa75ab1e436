"""GPU readings straight from NVML (nvidia-ml-py), on a cached handle: ~0.01 ms a read.

gpustat, which the seed used, costs ~100 ms a query. Fields that a GPU or driver does
not support read as None rather than failing the sample. The runner opens one reader per
run and closes it at the end.

NVML numbers GPUs in PCI order and ignores CUDA_VISIBLE_DEVICES, while `cuda:N` counts
only the visible GPUs (in CUDA's order). So the GPU is found by the UUID a probe worker
read from CUDA itself; without one, by mapping N through CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

from typing import Any

Target = tuple[str, "str | int"]  # ("uuid", "GPU-...") or ("index", NVML index)


def nvml_target(cuda_index: int, visible: str | None, uuid: str | None = None) -> Target | None:
    """Which physical GPU `cuda:cuda_index` is, in NVML's terms; None if it cannot be told.
    The index mapping assumes CUDA_DEVICE_ORDER=PCI_BUS_ID: prefer the probe's UUID."""
    if uuid:
        return ("uuid", uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}")
    if visible is None:
        return ("index", cuda_index)
    entries = [e.strip() for e in visible.split(",")]
    if cuda_index >= len(entries):
        return None
    entry = entries[cuda_index]
    if entry.isdigit():
        return ("index", int(entry))
    if entry.startswith(("GPU-", "MIG-")):
        return ("uuid", entry)
    return None


class NvmlReader:
    def __init__(self, pynvml: Any, handle: Any) -> None:
        self._nv = pynvml
        self._h = handle

    @classmethod
    def open(cls, target: Target | None) -> NvmlReader | None:
        """A reader for the target GPU, or None where there is no NVML or no such GPU."""
        if target is None:
            return None
        try:
            import pynvml
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError:
            return None
        try:
            how, which = target
            if how == "uuid":
                handle = pynvml.nvmlDeviceGetHandleByUUID(str(which).encode())
            else:
                handle = pynvml.nvmlDeviceGetHandleByIndex(int(which))
            return cls(pynvml, handle)
        except pynvml.NVMLError:
            pynvml.nvmlShutdown()
            return None

    def _opt(self, fn, *args):
        try:
            return fn(self._h, *args)
        except self._nv.NVMLError:
            return None

    def read(self, own_pids: set[int] | None = None) -> dict[str, float | int | None]:
        """One reading; `own_pids`: the scenario's process tree, not counted as other processes."""
        nv = self._nv
        util = self._opt(nv.nvmlDeviceGetUtilizationRates)
        mem = self._opt(nv.nvmlDeviceGetMemoryInfo)
        power = self._opt(nv.nvmlDeviceGetPowerUsage)  # milliwatts
        throttle_fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
            nv.nvmlDeviceGetCurrentClocksThrottleReasons
        return {
            "gpu_util": float(util.gpu) if util is not None else None,
            "gpu_mem_megabytes": mem.used / 2**20 if mem is not None else None,
            "sm_clock_mhz": _float(self._opt(nv.nvmlDeviceGetClockInfo, nv.NVML_CLOCK_SM)),
            "power_watts": power / 1000.0 if power is not None else None,
            "temperature_c": _float(self._opt(nv.nvmlDeviceGetTemperature, nv.NVML_TEMPERATURE_GPU)),
            "throttle_reasons": self._opt(throttle_fn),
            "gpu_other_processes": self._other_processes(own_pids or set()),
        }

    def _other_processes(self, own_pids: set[int]) -> int | None:
        procs = self._opt(self._nv.nvmlDeviceGetComputeRunningProcesses)
        return None if procs is None else other_processes({p.pid for p in procs}, own_pids)

    def energy_mj(self) -> int | None:
        """Millijoules since the driver loaded (Volta and newer); None where unsupported."""
        return self._opt(self._nv.nvmlDeviceGetTotalEnergyConsumption)

    def info(self) -> dict[str, Any]:
        nv = self._nv
        return {
            "gpu_name": _text(self._opt(nv.nvmlDeviceGetName)),
            "gpu_uuid": _text(self._opt(nv.nvmlDeviceGetUUID)),
            "gpu_count": nv.nvmlDeviceGetCount(),
            "driver_version": _text(nv.nvmlSystemGetDriverVersion()),
            "cuda_driver_version": nv.nvmlSystemGetCudaDriverVersion(),
        }

    def close(self) -> None:
        self._nv.nvmlShutdown()


def other_processes(gpu_pids: set[int], own_pids: set[int]) -> int:
    """Compute processes on the GPU that are not the scenario's. NVML reports PIDs of the
    host's namespace, so inside a container none of them matches ours: then the worker is
    taken to be one of them (a measured phase runs on the GPU, so it holds a context)."""
    if gpu_pids & own_pids:
        return len(gpu_pids - own_pids)
    return max(0, len(gpu_pids) - 1)


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _text(v: Any) -> str | None:
    return v.decode() if isinstance(v, bytes) else v
