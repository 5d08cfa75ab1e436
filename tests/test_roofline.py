"""contracts/roofline.py on literal values; trackers/bandwidth.py on the CPU (what it does
without a GPU). trackers/energy.py: test_energy.py."""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.contracts import roofline
from benchmark.trackers.bandwidth import copy_bandwidth


def test_the_bound_is_weight_bytes_over_bandwidth():
    # shared/reference/h100-measurements.md: 13.48 GB at 3.01 TB/s -> 4.47 ms/token
    assert roofline.step_bound_s(13_480_000_000, 3.01e12) == pytest.approx(4.478e-3, rel=1e-3)


def test_fractions_per_repetition():
    # bound 1 ms; 500 tok/s at batch 1 is a 2 ms step (half the roofline); at batch 4, 8 ms
    assert roofline.fractions(10**9, 1e12, [500.0, 1000.0], 1) == pytest.approx([0.5, 1.0])
    assert roofline.fractions(10**9, 1e12, [500.0], 4) == pytest.approx([0.125])


def test_every_decoding_kind_names_a_registered_throughput_figure():
    from benchmark.contracts.config import KINDS
    from benchmark.contracts.figures import FIGURES

    for kind, figure in roofline.THROUGHPUT_FIGURE.items():
        assert kind in KINDS and FIGURES[figure].unit == "tokens/s"
    assert FIGURES[roofline.FIGURE].unit == "ratio"


def test_copy_bandwidth_on_cpu_is_a_rate():
    # a small copy: the real probe copies 1 GiB; this checks the arithmetic runs, not the speed
    bw = copy_bandwidth(torch.device("cpu"), 2**24, copies=2)
    assert math.isfinite(bw) and bw > 0
