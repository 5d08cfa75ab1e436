"""benchmark/analysis/replay.py on literal repetitions: within, outside, no spread, missing."""

from __future__ import annotations

import pytest

from benchmark.analysis.replay import MISSING, NO_SPREAD, OUTSIDE, WITHIN, level, side_by_side, summary
from benchmark.contracts.stats import repetitions


def test_level_is_the_median_of_repetition_medians():
    assert level([[1.0, 9.0, 2.0], [3.0, 3.0, 3.0], [10.0, 10.0, 0.0]]) == 3.0
    assert level([]) is None


def test_side_by_side_verdicts():
    original = {
        ("eager", "ttnt"): ("s", [[1.0, 1.2], [1.4, 1.6], [1.1, 1.3]]),  # rep medians 1.1, 1.5, 1.2
        ("eager", "tps"): ("tokens/s", [[100.0], [110.0]]),
        ("load", "model_load_time"): ("s", [[2.0]]),
        ("eager", "gone"): ("s", [[1.0], [2.0]]),
    }
    replay = {("eager", "ttnt"): [[1.45], [1.5]], ("eager", "tps"): [[120.0], [121.0]],
              ("load", "model_load_time"): [[2.5]]}
    rows = side_by_side(original, replay)
    got = {(r.scenario, r.figure): r for r in rows}
    assert [(r.scenario, r.figure) for r in rows] == list(original)
    ttnt = got[("eager", "ttnt")]
    assert (ttnt.original, ttnt.low, ttnt.high, ttnt.verdict) == (pytest.approx(1.2), pytest.approx(1.1), 1.5, WITHIN)
    assert ttnt.replay == pytest.approx(1.475)
    assert got[("eager", "tps")].verdict == OUTSIDE
    assert got[("load", "model_load_time")].verdict == NO_SPREAD
    assert got[("eager", "gone")].verdict == MISSING and got[("eager", "gone")].replay is None
    assert summary(rows) == "1 of 2 figures within the original's repetition spread (1 no spread, 1 missing)"


def test_repetitions_split_flat_samples():
    assert repetitions([1.0, 2.0, 3.0, 4.0], 2) == [[1.0, 2.0], [3.0, 4.0]]  # pooled: chunks
    assert repetitions([1.0, 2.0], 2) == [[1.0], [2.0]]  # one per repetition
    assert repetitions([5.0], 5) == [[5.0]]  # one call
    assert repetitions([1.0, 2.0, 3.0], 2) == [[1.0], [2.0], [3.0]]  # uneven: each on its own
