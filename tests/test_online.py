"""benchmark/analysis/online.py: the newest-commit mode on literal lists and a small seeded check."""

from __future__ import annotations

import math

import pytest

from yardsticks.histories import HistoryOptions, generate
from benchmark.analysis.online import OnlineOptions, Suspect, newest


def wiggle(level: float, n: int, start: int = 0, amp: float = 0.002) -> list[float]:
    return [level * (1 + amp * math.sin(1.7 * (start + i))) for i in range(n)]


def test_flat_history_has_no_suspect():
    assert newest(wiggle(10.0, 60)) is None


def test_a_jump_in_the_newest_commit_is_suspected_then_confirmed():
    history = wiggle(10.0, 60)
    first = newest(history + [10.5])
    assert isinstance(first, Suspect)
    assert (first.index, first.state, first.commits_since) == (60, "suspected", 0)
    assert first.magnitude == pytest.approx(0.05, abs=3e-3)
    later = newest(history + wiggle(10.5, 3, start=60))
    assert (later.index, later.state, later.commits_since) == (60, "confirmed", 2)


def test_a_lone_outlier_is_withdrawn_once_the_next_commits_return():
    history = wiggle(10.0, 60) + [11.0] + wiggle(10.0, 2, start=61)
    s = newest(history)
    assert s is not None and s.state == "withdrawn" and s.index == 60


def test_an_invalid_newest_run_is_never_named():
    values = wiggle(10.0, 60) + [12.0]
    valid = [True] * 60 + [False]
    assert newest(values, valid=valid) is None


def test_an_older_step_does_not_make_the_newest_commits_suspect():
    values = wiggle(10.0, 60) + wiggle(11.0, 30, start=60)
    assert newest(values) is None


def test_bad_options_name_the_field():
    with pytest.raises(ValueError, match="lookback"):
        OnlineOptions(lookback=0)
    with pytest.raises(ValueError, match="threshold"):
        OnlineOptions(threshold=0)
    with pytest.raises(ValueError, match="valid"):
        newest([1.0, 2.0], valid=[True])


def test_seeded_steps_flagged_and_no_alarm_without_steps():
    opts = HistoryOptions(length=160, cv=0.01, steps=2, step_sizes=(0.05,))
    flagged = 0
    total = 0
    for seed in range(5):
        h = generate(opts, 700 + seed)
        for st in h.steps:
            total += 1
            for e in range(st.index, st.index + 4):
                r = newest(h.values[:e + 1], h.reps[:e + 1], h.valid[:e + 1])
                if r is not None and r.state != "withdrawn":
                    flagged += r.index == st.index
                    break
    assert flagged >= 0.9 * total
    null = generate(HistoryOptions(length=160, cv=0.01, steps=0), 799)
    alarms = sum(1 for e in range(40, 160)
                 if (r := newest(null.values[:e + 1], null.reps[:e + 1])) is not None and r.state != "withdrawn")
    assert alarms <= 1
