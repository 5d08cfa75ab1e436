"""analysis/bisection.py on literal lists: a commit's level and noise, and the judge between
the good and the bad endpoint."""

from __future__ import annotations

import statistics

import pytest

from benchmark.analysis.bisection import BAD, GOOD, MARGIN, SEPARATION, Judge, Level
from benchmark.analysis.compare import robust_sigma


def test_levels_and_verdicts():
    level = Level.of([[1.0, 2.0, 3.0, 4.0, 100.0]])
    assert level.median == 3.0 and level.n == 5
    assert level.noise == pytest.approx(1.4826)  # the median absolute deviation is 1: the outlier does not count
    # two runs, each tight, 10 apart: the samples' spread hides the process offset, the runs show it
    runs = Level.of([[10.0, 10.1, 9.9, 10.0, 10.0], [10.0, 10.1, 9.9, 10.0, 10.0], [11.0, 11.1, 10.9, 11.0, 11.0]])
    assert runs.median == pytest.approx(10.0) and runs.noise == pytest.approx(statistics.stdev([10, 10, 11]))
    judge = Judge(good=Level(1.0, 0.1, 6), bad=Level(2.0, 0.05, 6))
    assert judge.separated() and judge.noise == 0.1
    assert judge.verdict(Level(1.1, 0.1, 6)) == "good" and judge.verdict(Level(1.9, 0.1, 6)) == "bad"
    assert judge.verdict(Level(2.5, 0.1, 6)) == "bad"  # beyond the bad level is bad too
    assert judge.verdict(Level(1.55, 0.1, 6)) is None  # within 1 noise of the midpoint: cannot tell
    improved = Judge(good=Level(2.0, 0.1, 6), bad=Level(1.0, 0.1, 6))  # a figure that went down
    assert improved.verdict(Level(1.1, 0.1, 6)) == "bad" and improved.verdict(Level(1.9, 0.1, 6)) == "good"
    assert not Judge(good=Level(1.0, 0.3, 6), bad=Level(2.0, 0.1, 6)).separated()  # 1.0 apart, 4 x 0.3 needed
    assert not Judge(good=Level(1.0, 0.0, 6), bad=Level(1.0, 0.0, 6)).separated()


def test_the_noise_is_compares_robust_spread():
    samples = [2.0, 2.2, 1.9, 2.1, 2.0, 9.0]
    level = Level.of([samples])
    assert level.noise == robust_sigma(samples, center=level.median)  # one definition, shared
    assert robust_sigma([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(1.4826)
    assert robust_sigma([-1.0, 1.0, 3.0], center=0.0) == pytest.approx(1.4826)  # |x - 0|: 1, 1, 3


def test_the_bars_are_the_documented_ones():
    assert (SEPARATION, MARGIN) == (4.0, 1.0)
    judge = Judge(good=Level(10.0, 1.0, 4), bad=Level(14.0, 0.5, 4))
    assert not judge.separated()  # exactly 4 noise apart is not more than 4
    judge = Judge(good=Level(10.0, 1.0, 4), bad=Level(14.5, 0.5, 4))
    assert judge.separated() and judge.midpoint == 12.25
    assert judge.verdict(Level(13.25, 0.0, 4)) is None  # exactly 1 noise from the midpoint: cannot tell
    assert judge.verdict(Level(13.26, 0.0, 4)) == BAD and judge.verdict(Level(11.24, 0.0, 4)) == GOOD


def test_one_run_has_no_spread_between_runs():
    assert Level.of([[5.0, 5.0, 5.0]]) == Level(median=5.0, noise=0.0, n=3)
    # the samples' MAD is 0 (six of nine sit at the median): only the runs' medians show the spread
    three = Level.of([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [3.0, 3.0, 3.0]])
    assert three.median == 1.0 and three.noise == pytest.approx(statistics.stdev([1.0, 1.0, 3.0]))
