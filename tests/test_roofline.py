"""contracts/roofline.py on literal values; trackers/bandwidth.py on the CPU (what it does
without a GPU). trackers/energy.py: test_energy.py."""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.contracts import roofline
from benchmark.contracts.result import Metric
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


def test_a_bound_above_the_fastest_measured_step_bounds_nothing():
    # #19 item 17: a copy slowed on a shared machine put the "lower bound" (11.75 ms) above a
    # measured step (6.89 ms); bound 10 ms here, steps of 1/145 s = 6.9 ms and 1/100 s = 10 ms
    why = roofline.unbounded(10**9, 1e11, [100.0, 145.0], 1)
    assert why == ("the bound 10 ms/step (1000000000 weight bytes at the copy's 100 GB/s) is above the fastest "
                   "measured step 6.9 ms: the copy was slowed, so it bounds nothing")
    assert roofline.unbounded(10**9, 1e11, [100.0, 99.0], 1) is None  # the bound is a step's own time: still a bound
    assert roofline.unbounded(10**9, 1e11, [145.0], 2) is None  # at batch 2 a step is 13.8 ms


def test_the_runner_stores_an_unbounded_fraction_as_null_with_its_reason():
    from types import SimpleNamespace

    from benchmark.run.runner import Runner
    from results import make_result

    said = []
    result = make_result()
    eager = next(s for s in result.scenarios if s.kind == "eager")
    eager.info["weight_bytes"] = 10**9
    eager.metrics.append(Metric.of("eager_decode_tokens_per_sec", [100.0, 145.0]))
    Runner._add_roofline(SimpleNamespace(bandwidth=1e11, say=said.append), eager, result)
    stored = eager.metric(roofline.FIGURE)
    assert stored is not None and stored.samples == [] and stored.stats is None  # NULL
    assert eager.info[f"{roofline.FIGURE}_unmeasured"].startswith("the bound 10 ms/step")
    assert said == [f"    decode roofline: not stored: {eager.info[f'{roofline.FIGURE}_unmeasured']}"]

    eager.metrics.remove(stored)  # a copy that was not slowed: the fractions, as before
    Runner._add_roofline(SimpleNamespace(bandwidth=1e12, say=said.append), eager, result)
    assert eager.metric(roofline.FIGURE).samples == pytest.approx([0.1, 0.145])


def test_copy_bandwidth_copies_in_rounds_apart():
    # rounds separated by a pause, so one busy moment on a shared machine cannot slow every
    # copy: 3 rounds take at least the 2 pauses between them (a sleep is never shorter)
    import time

    start = time.monotonic()
    bw = copy_bandwidth(torch.device("cpu"), 2**20, copies=1, rounds=3, pause_s=0.25)
    assert time.monotonic() - start >= 0.5 and math.isfinite(bw) and bw > 0
