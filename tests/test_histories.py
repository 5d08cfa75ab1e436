"""yardsticks/histories.py (the generator) and scoring.py (the scorer)."""

from __future__ import annotations

import math
import statistics

import pytest

from yardsticks import anchors
from yardsticks.histories import Drift, History, HistoryOptions, Step, generate, median_variance_factor
from yardsticks.scoring import OfflineTally


def test_same_seed_same_history_and_different_seed_differs():
    a = generate(HistoryOptions(length=100), 3)
    assert a == generate(HistoryOptions(length=100), 3)
    assert a.values != generate(HistoryOptions(length=100), 4).values


def test_steps_are_apart_from_each_other_and_the_ends_and_move_the_level():
    opts = HistoryOptions(length=300, cv=0.002, steps=4, gap=25)
    h = generate(opts, 11)
    idx = [s.index for s in h.steps]
    assert len(idx) == 4 and idx == sorted(idx)
    assert all(b - a >= 25 for a, b in zip(idx, idx[1:])) and idx[0] >= 25 and idx[-1] <= 275
    for s in h.steps:
        assert round(abs(s.magnitude), 4) in opts.step_sizes
        before = statistics.median(h.values[s.index - 10:s.index])
        after = statistics.median(h.values[s.index:s.index + 10])
        assert after / before - 1 == pytest.approx(s.magnitude, abs=0.004)


def test_cv_definitions():
    rep = [generate(HistoryOptions(length=300, cv=0.02, steps=0), k).scalar_cv for k in range(4)]
    scalar = [generate(HistoryOptions(length=300, cv=0.02, cv_of="scalar", steps=0), k).scalar_cv for k in range(4)]
    # median of 5 with half the variance shared: sqrt(0.5 + 0.5 * 0.287) = 0.80 of the nominal CV
    assert statistics.mean(rep) == pytest.approx(0.02 * math.sqrt(0.5 + 0.5 * median_variance_factor(5)), rel=0.08)
    assert statistics.mean(scalar) == pytest.approx(0.02, rel=0.08)
    assert median_variance_factor(5) == pytest.approx(0.287, abs=0.01)


def test_failed_and_invalid_runs():
    h = generate(HistoryOptions(length=400, failed=0.1, invalid=0.1), 5)
    failed = [i for i, v in enumerate(h.values) if v is None]
    assert failed and all(h.reps[i] is None and h.p99[i] is None and not h.valid[i] for i in failed)
    invalid = [i for i, v in enumerate(h.values) if v is not None and not h.valid[i]]
    assert 10 <= len(invalid) <= 70
    assert all(len(r) == 5 for r in h.reps if r is not None)


def test_bad_generator_options_name_the_field():
    with pytest.raises(ValueError, match="cv_of"):
        HistoryOptions(cv_of="per-commit")
    with pytest.raises(ValueError, match="run_share"):
        HistoryOptions(run_share=2.0)


def _history(steps: list[Step], drifts: tuple[Drift, ...] = (), n: int = 200) -> History:
    return History(values=[1.0] * n, reps=[None] * n, valid=[True] * n, p99=[None] * n,
                   steps=tuple(steps), drifts=drifts)


def test_offline_scoring_counts_found_false_alarms_and_location_errors():
    t = OfflineTally()
    t.add(_history([Step(50, 0.03), Step(120, -0.05)]), [51, 90, 124])
    assert t.recall(0.03) == 1.0 and t.recall(0.05) == 0.0
    assert t.false_alarms == 2 and t.false_alarms_per_100() == pytest.approx(1.0)
    assert t.errors[1] == 1 and t.errors[4] == 1


def test_one_report_per_drift_is_not_a_false_alarm_the_second_is():
    t = OfflineTally()
    t.add(_history([], drifts=(Drift(50, 110, 0.05),)), [70, 100])
    assert t.drift_reports == 1 and t.false_alarms == 1


def test_each_report_matches_one_step_only():
    t = OfflineTally()
    t.add(_history([Step(50, 0.03), Step(52, 0.03)]), [51])
    assert t.found[0.03] == 1 and t.steps[0.03] == 2 and t.false_alarms == 0


def test_anchors_report_which_are_missing():
    have, missing = anchors.available()
    assert len(have) + len(missing) == len(anchors.ANCHORS)
    assert all("not installed" in line for line in missing)
