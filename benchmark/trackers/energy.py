"""Energy over a stretch of work, from NVML's total-energy counter of this process's GPU.

Read in the scenario worker, around the decode phase, so the interval is exactly the
phase (the sampler's power readings at 10-100 ms would blur its edges). The counter is
millijoules since the driver loaded; GPUs before Volta, CPUs, and drivers that refuse it
give None with the reason, never a failure.
"""

from __future__ import annotations

import torch

from .nvml import NvmlReader, nvml_target


class EnergyMeter:
    def __init__(self, reader: NvmlReader) -> None:
        self._reader = reader

    @classmethod
    def open(cls, device: torch.device) -> tuple[EnergyMeter | None, str | None]:
        """A meter for `device`, or None and why not."""
        if device.type != "cuda":
            return None, f"no GPU energy counter on {device.type}"
        uuid = getattr(torch.cuda.get_device_properties(device.index or 0), "uuid", None)
        reader = NvmlReader.open(nvml_target(device.index or 0, None, str(uuid) if uuid else None))
        if reader is None:
            return None, "NVML unavailable"
        if reader.energy_mj() is None:
            reader.close()
            return None, "NVML total-energy counter not supported on this GPU"
        return cls(reader), None

    def joules(self) -> float | None:
        mj = self._reader.energy_mj()
        return None if mj is None else mj / 1000.0

    def close(self) -> None:
        self._reader.close()
