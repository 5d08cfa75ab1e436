"""benchmark/analysis/staleness.py on literal values: ages, failures in a row, the verdict."""

from __future__ import annotations

import pytest

from benchmark.analysis.staleness import age_text, consecutive_failures, judge, parse_age

DAY = 86400.0


@pytest.mark.parametrize("text, seconds", [("2d", 2 * DAY), ("12h", 43200), ("90m", 5400), ("30s", 30),
                                           ("1w", 7 * DAY), (" 1.5d ", 1.5 * DAY)])
def test_parse_age(text, seconds):
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "d", "0d", "-1d", "2 days", "3x", "1e3s"])
def test_parse_age_refuses(text):
    with pytest.raises(ValueError, match="is not an age: a positive number and a unit, s, m, h, d or w"):
        parse_age(text)


def test_age_text():
    assert [age_text(s) for s in (40, 12 * 60 + 5, 5 * 3600 + 600, 3 * DAY + 4 * 3600)] == ["40s", "12m", "5h 10m",
                                                                                           "3d 4h"]


def test_consecutive_failures_skip_cancelled_and_stop_at_a_success():
    assert consecutive_failures([]) == 0
    assert consecutive_failures(["failed", "cancelled", "failed", "succeeded", "failed"]) == 2
    assert consecutive_failures(["succeeded", "failed", "failed"]) == 0


def test_judge():
    now = 100 * DAY
    ok = judge(now - DAY, ["succeeded"], now, 7 * DAY, 3)
    assert ok.healthy and ok.state == "ok" and ok.reasons == () and ok.age_s == DAY
    old = judge(now - 8 * DAY, ["succeeded"], now, 7 * DAY, 3)
    assert old.stale and not old.failing and old.reasons == ("newest finished run 8d 0h ago (allowed 7d 0h)",)
    never = judge(None, [], now, 7 * DAY, 3)
    assert never.stale and never.age_s is None and never.reasons == ("no finished run",)
    failing = judge(now - 60, ["failed"] * 3 + ["succeeded"], now, 7 * DAY, 3)
    assert failing.failing and not failing.stale and failing.state == "failing"
    assert failing.reasons == ("3 failed runs in a row (allowed 2)",)
    assert judge(now - 60, ["failed"] * 2 + ["succeeded"], now, 7 * DAY, 3).healthy
    both = judge(now - 9 * DAY, ["failed"] * 5, now, 7 * DAY, 3)
    assert both.state == "stale, failing" and len(both.reasons) == 2
