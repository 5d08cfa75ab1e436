"""analysis/boundaries.py: exact group-sequential critical values (Armitage-McPherson-Rowe),
checked against the fixed test, against a Monte Carlo of the cumulative statistic, and against
the union-bound shares they replace."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from benchmark.analysis.boundaries import critical, nominal
from benchmark.analysis.sequential import SequentialOptions

LOOKS = tuple(range(2, 11))  # the A/B's default: a look after every round from 2 to 10


def _first_crossings(c: tuple[float, ...], draws: int, two_sided: bool, seed: int) -> list[int]:
    """How many of `draws` random walks (N(0, 1) steps) first cross at each look of LOOKS."""
    rng, hits = random.Random(seed), [0] * len(LOOKS)
    for _ in range(draws):
        s, n = 0.0, 0
        for k, look in enumerate(LOOKS):
            while n < look:
                s, n = s + rng.gauss(0.0, 1.0), n + 1
            z = s / math.sqrt(n)
            if (abs(z) if two_sided else z) >= c[k]:
                hits[k] += 1
                break
    return hits


def test_one_look_is_the_fixed_tests_quantile():
    assert math.isclose(critical((4,), (0.01,))[0], statistics.NormalDist().inv_cdf(0.995), rel_tol=1e-9)
    assert math.isclose(critical((4,), (0.05,), two_sided=False)[0], statistics.NormalDist().inv_cdf(0.95),
                        rel_tol=1e-9)
    one = SequentialOptions(min_rounds=4, max_rounds=4)
    assert math.isclose(one.nominal(4, 0.01, two_sided=True), 0.01, rel_tol=1e-9)


def test_known_variance_false_alarm_rate_over_all_looks_is_nominal():
    o = SequentialOptions(alpha=0.01)  # HSD gamma as shipped
    c = critical(LOOKS, [o.spending(n, o.alpha) for n in LOOKS])
    hits = _first_crossings(c, 20_000, two_sided=True, seed=7)
    assert 0.006 <= sum(hits) / 20_000 <= 0.012


def test_one_sided_boundaries_spend_beta_over_all_looks():
    o = SequentialOptions()
    c = critical(LOOKS, [o.spending(n, o.beta) for n in LOOKS], two_sided=False)
    hits = _first_crossings(c, 20_000, two_sided=False, seed=8)
    assert 0.04 <= sum(hits) / 20_000 <= 0.06


def test_two_looks_match_the_bivariate_normal_by_numerical_integration():
    # P(|Z1| >= c1) + P(|Z1| < c1, |Z2| >= c2), Z2 = (Z1 + W) / sqrt(2): a 1-D integral over Z1
    c1, c2 = critical((1, 2), (0.004, 0.01))
    assert math.isclose(nominal(c1), 0.004, rel_tol=1e-9)
    nd, steps = statistics.NormalDist(), 20_000
    h = 2 * c1 / steps
    second = sum(nd.pdf(z) * (nd.cdf(-c2 * math.sqrt(2) - z) + 1 - nd.cdf(c2 * math.sqrt(2) - z))
                 for z in (-c1 + (i + 0.5) * h for i in range(steps))) * h
    assert math.isclose(second, 0.006, rel_tol=1e-4)


def test_exact_looks_test_at_wider_levels_than_their_union_bound_shares():
    o = SequentialOptions()
    shares = [o.spending(n, o.alpha) - (o.spending(n - 1, o.alpha) if n > 2 else 0.0) for n in LOOKS]
    levels = [o.nominal(n, o.alpha, two_sided=True) for n in LOOKS]
    assert math.isclose(levels[0], shares[0], rel_tol=1e-9)  # the first look has nothing before it
    assert all(level > share for level, share in zip(levels[1:], shares[1:]))
    assert levels[-1] > 2 * shares[-1] and levels[-1] < o.alpha  # the last look: near a fixed test's 1 %


def test_a_budget_that_ran_out_spends_what_is_left():
    o = SequentialOptions()
    assert o.nominal(5, o.alpha, two_sided=True, final=True) > 3 * o.nominal(5, o.alpha, two_sided=True)
    c = critical((2, 3, 4, 5), [o.spending(n, o.alpha) for n in (2, 3, 4)] + [o.alpha])
    hits = _first_crossings(c + (math.inf,) * 5, 20_000, two_sided=True, seed=9)
    assert 0.006 <= sum(hits) / 20_000 <= 0.012


@pytest.mark.parametrize("looks, spent, message", [
    ((), (), "looks and spent: must be non-empty and of the same length"),
    ((2, 2), (0.001, 0.01), "looks: must be strictly increasing positive round counts"),
    ((0, 2), (0.001, 0.01), "looks: must be strictly increasing positive round counts"),
    ((1, 2), (0.01, 0.001), "spent: must be non-decreasing rates in"),
    ((1,), (1.5,), "spent: must be non-decreasing rates in"),
])
def test_bad_designs_are_refused(looks, spent, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        critical(looks, spent)
