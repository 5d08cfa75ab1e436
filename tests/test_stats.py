"""benchmark/contracts/stats.py on literal lists (numpy's linear percentiles)."""

from __future__ import annotations

import math

import pytest

from benchmark.contracts.stats import Stats, percentile


def test_percentile_interpolates_like_numpy():
    s = [1.0, 2.0, 3.0, 4.0]
    assert percentile(s, 0) == 1.0 and percentile(s, 100) == 4.0
    assert percentile(s, 50) == 2.5
    assert percentile(s, 90) == pytest.approx(3.7)
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_stats_of_literal_values():
    st = Stats.of([4.0, 1.0, 3.0, 2.0])  # order does not matter
    assert (st.n, st.mean, st.median, st.min, st.max) == (4, 2.5, 2.5, 1.0, 4.0)
    assert st.p90 == pytest.approx(3.7) and st.p99 == pytest.approx(3.97)
    assert st.stdev == pytest.approx(math.sqrt(5 / 3))  # sample standard deviation


def test_one_value_and_no_value():
    st = Stats.of([0.25])
    assert (st.n, st.median, st.stdev, st.p99) == (1, 0.25, 0.0, 0.25)
    with pytest.raises(ValueError):
        Stats.of([])


def test_the_mean_of_many_small_values_is_exact():
    st = Stats.of([0.1] * 10)
    assert st.mean == 0.1 and st.stdev == 0.0
