"""benchmark/trackers/nvml.py without a GPU: which physical GPU `cuda:N` is, and no reader
where there is none."""

from __future__ import annotations

import pytest

from benchmark.trackers.nvml import NvmlReader, nvml_target


@pytest.mark.parametrize("index, visible, uuid, expected", [
    (0, None, None, ("index", 0)),
    (1, None, None, ("index", 1)),
    # NVML ignores CUDA_VISIBLE_DEVICES: cuda:0 of "2,3" is NVML's GPU 2
    (0, "2,3", None, ("index", 2)),
    (1, "2, 3", None, ("index", 3)),
    (0, "GPU-8c1a3b2e-0000-1111-2222-333344445555", None, ("uuid", "GPU-8c1a3b2e-0000-1111-2222-333344445555")),
    (0, "MIG-abc", None, ("uuid", "MIG-abc")),
    (2, "0,1", None, None),  # no such visible device
    (0, "", None, None),  # nothing visible
    (0, "nonsense", None, None),
    # the probe's UUID, read from CUDA itself, wins whatever the environment says
    (0, "2,3", "8c1a3b2e-0000-1111-2222-333344445555", ("uuid", "GPU-8c1a3b2e-0000-1111-2222-333344445555")),
    (0, None, "GPU-x", ("uuid", "GPU-x")),
])
def test_nvml_target(index, visible, uuid, expected):
    assert nvml_target(index, visible, uuid) == expected


def test_no_reader_without_a_gpu():
    assert NvmlReader.open(None) is None
    assert NvmlReader.open(("index", 0)) is None  # pynvml is installed; there is no driver here
    assert NvmlReader.open(("uuid", "GPU-none")) is None


@pytest.mark.parametrize("gpu_pids, own, expected", [
    (set(), {10}, 0),
    ({10}, {10, 11}, 0),  # the worker alone
    ({10, 99}, {10, 11}, 1),  # and someone else
    ({10, 11, 98, 99}, {10, 11}, 2),
    ({5000}, {10}, 0),  # in a container: host PIDs, none ours; the one there is the worker
    ({5000, 5001}, {10}, 1),
])
def test_other_processes(gpu_pids, own, expected):
    from benchmark.trackers.nvml import other_processes

    assert other_processes(gpu_pids, own) == expected
