"""benchmark/trackers/energy.py as a context manager: the counter is read on entering and on
leaving the block, and NVML is closed on leaving, a raise included. No machine the tests
run on has an NVML driver, so the reader is a plain counter with NvmlReader's two methods;
on the CPU the meter is the real one."""

from __future__ import annotations

import pytest
import torch

from benchmark.trackers.energy import READ_FAILED, EnergyMeter


class Counter:
    """NvmlReader's energy_mj and close: a counter that gains 1.5 J at every read."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.mj, self.reads, self.closed, self.fail_at = 5_000, 0, False, fail_at

    def energy_mj(self) -> int | None:
        self.reads += 1
        self.mj += 1_500
        return None if self.reads == self.fail_at else self.mj

    def close(self) -> None:
        self.closed = True


def test_joules_over_the_block():
    counter = Counter()
    with EnergyMeter(counter) as energy:
        assert counter.reads == 1 and not counter.closed
    assert counter.reads == 2 and counter.closed
    assert energy.joules == pytest.approx(1.5) and energy.why is None


def test_a_raise_inside_the_block_still_reads_and_closes():
    counter = Counter()
    with pytest.raises(RuntimeError, match="^the body failed$"):
        with EnergyMeter(counter) as energy:
            raise RuntimeError("the body failed")
    assert counter.reads == 2 and counter.closed
    assert energy.joules == pytest.approx(1.5)


@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_failed_read_says_why_and_still_closes(fail_at):
    counter = Counter(fail_at)
    with EnergyMeter(counter) as energy:
        pass
    assert counter.closed and energy.joules is None and energy.why == READ_FAILED


def test_no_energy_counter_on_cpu_says_why():
    with pytest.raises(RuntimeError):
        with EnergyMeter.of(torch.device("cpu")) as energy:
            raise RuntimeError("the body failed")
    assert energy.joules is None and energy.why == "no GPU energy counter on cpu"
