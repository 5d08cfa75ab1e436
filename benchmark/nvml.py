"""GPU readings straight from NVML (nvidia-ml-py), on a cached handle: ~0.01 ms a read.

gpustat, which the seed used, costs ~100 ms a query. Fields that a GPU or driver does
not support read as None rather than failing the sample.
"""

from __future__ import annotations

from typing import Any


class NvmlReader:
    def __init__(self, pynvml: Any, index: int) -> None:
        self._nv = pynvml
        self.index = index
        self._h = pynvml.nvmlDeviceGetHandleByIndex(index)

    @classmethod
    def open(cls, index: int = 0) -> NvmlReader | None:
        """A reader for GPU `index`, or None where there is no NVML or no such GPU."""
        try:
            import pynvml
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
            if index >= pynvml.nvmlDeviceGetCount():
                pynvml.nvmlShutdown()
                return None
            return cls(pynvml, index)
        except pynvml.NVMLError:
            return None

    def _opt(self, fn, *args):
        try:
            return fn(self._h, *args)
        except self._nv.NVMLError:
            return None

    def read(self) -> dict[str, float | int | None]:
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
        }

    def info(self) -> dict[str, Any]:
        nv = self._nv
        return {
            "gpu_name": _text(self._opt(nv.nvmlDeviceGetName)),
            "gpu_count": nv.nvmlDeviceGetCount(),
            "driver_version": _text(nv.nvmlSystemGetDriverVersion()),
            "cuda_driver_version": nv.nvmlSystemGetCudaDriverVersion(),
        }

    def close(self) -> None:
        self._nv.nvmlShutdown()


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _text(v: Any) -> str | None:
    return v.decode() if isinstance(v, bytes) else v
