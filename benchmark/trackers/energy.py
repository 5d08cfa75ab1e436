"""Energy over a stretch of work, from NVML's total-energy counter of this process's GPU.

Read in the scenario worker, around the decode phase, so the interval is exactly the
phase (the sampler's power readings at 10-100 ms would blur its edges). The counter is
millijoules since the driver loaded; GPUs before Volta, CPUs, and drivers that refuse it
give None with the reason, never a failure.

A context manager: `with EnergyMeter.of(device) as energy:` reads the counter on entry and
again on leaving, and always closes NVML, a raise included; then `energy.joules`, or None
with `energy.why`.
"""

from __future__ import annotations

import torch

from .nvml import NvmlReader, nvml_target

READ_FAILED = "NVML energy counter read failed"


class EnergyMeter:
    def __init__(self, reader: NvmlReader | None, why: str | None = None) -> None:
        self._reader = reader  # None: nothing to read, and `why` says why
        self._before: float | None = None
        self.joules: float | None = None
        self.why = why

    @classmethod
    def of(cls, device: torch.device) -> EnergyMeter:
        """A meter for `device`; one without a reader (and with the reason) where it has no counter."""
        if device.type != "cuda":
            return cls(None, f"no GPU energy counter on {device.type}")
        uuid = getattr(torch.cuda.get_device_properties(device.index or 0), "uuid", None)
        reader = NvmlReader.open(nvml_target(device.index or 0, None, str(uuid) if uuid else None))
        if reader is None:
            return cls(None, "NVML unavailable")
        if reader.energy_mj() is None:
            reader.close()
            return cls(None, "NVML total-energy counter not supported on this GPU")
        return cls(reader)

    def __enter__(self) -> EnergyMeter:
        if self._reader is not None:
            self._before = self._read()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._reader is None:
            return
        try:
            after = self._read()
        finally:
            self._reader.close()
            self._reader = None
        if self._before is None or after is None:
            self.why = READ_FAILED
        else:
            self.joules = after - self._before

    def _read(self) -> float | None:
        mj = self._reader.energy_mj()
        return None if mj is None else mj / 1000.0
