"""benchmark/trackers/timing.py on CPU."""

from __future__ import annotations

import torch

from benchmark.trackers.timing import Timer


def test_time_returns_result_and_seconds():
    timer = Timer(torch.device("cpu"))
    x = torch.ones(64, 64)
    out, seconds = timer.time(torch.matmul, x, x)
    assert torch.equal(out, torch.full((64, 64), 64.0))
    assert isinstance(seconds, float) and seconds >= 0


def test_time_passes_kwargs():
    timer = Timer(torch.device("cpu"))
    out, seconds = timer.time(torch.full, (2,), fill_value=3.0)
    assert out.tolist() == [3.0, 3.0] and seconds >= 0


def test_marks_give_one_interval_each():
    timer = Timer(torch.device("cpu"))
    timer.start()
    for _ in range(3):
        torch.randn(32, 32).sum()
        timer.mark()
    intervals = timer.stop()
    assert len(intervals) == 3
    assert all(isinstance(i, float) and i >= 0 for i in intervals)


def test_start_resets_the_marks():
    timer = Timer(torch.device("cpu"))
    timer.start()
    timer.mark()
    timer.mark()
    timer.start()
    timer.mark()
    assert len(timer.stop()) == 1
    assert Timer(torch.device("cpu")).cuda is False
