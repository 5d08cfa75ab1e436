"""Exact group-sequential boundaries for cumulative statistics looked at several times.

After ``n_k`` rounds the statistic is ``Z_k = S_k / sqrt(n_k)``, ``S_k`` a sum of ``n_k``
independent N(0, 1) terms, so successive looks are strongly correlated (``corr(Z_j, Z_k) =
sqrt(n_j / n_k)``). ``critical(looks, spent)`` gives the z critical values ``c_k`` with

    P(first crossing at look k) = spent[k] - spent[k - 1]        (spent cumulative, spent[-1] = 0)

under the null, for a two-sided test (cross: ``|Z_k| >= c_k``) or a one-sided one
(``Z_k >= c_k``). This is Armitage, McPherson and Rowe's recursion (J. R. Stat. Soc. A 132,
1969; Jennison & Turnbull, *Group Sequential Methods*, 2000, ch. 19): the sub-density of
``S_k`` on the paths that have not crossed yet is carried from look to look by convolving with
the increment's normal density, Simpson's rule on a grid over the continuation region; each
``c_k`` is found by bisection on the crossing probability. A union bound (testing look k at
its share alone) spends far less than its share, since most paths that cross at look k have
crossed at k - 1 already; the exact values give each look its whole share.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

_POINTS = 161      # Simpson grid points per look (odd); 1e-6 relative accuracy on the rates is plenty
_TAIL = 8.0        # a one-sided continuation region is cut at 8 standard deviations of S_k
_C_MAX = 40.0      # a look that may spend nothing gets this critical value (never crossed)
_BISECTIONS = 60


def critical(looks: Sequence[int], spent: Sequence[float], two_sided: bool = True) -> tuple[float, ...]:
    """z critical values at `looks` (rounds, strictly increasing, >= 1) for the cumulative
    error `spent` (non-decreasing, < 1) at each look. Cached: the same design is asked for at
    every look of every job."""
    looks, spent = tuple(looks), tuple(float(s) for s in spent)
    if not looks or len(looks) != len(spent):
        raise ValueError("looks and spent: must be non-empty and of the same length")
    if looks[0] < 1 or any(b <= a for a, b in zip(looks, looks[1:])):
        raise ValueError(f"looks: must be strictly increasing positive round counts, got {looks}")
    if any(not 0 <= s < 1 for s in spent) or any(b < a for a, b in zip(spent, spent[1:])):
        raise ValueError(f"spent: must be non-decreasing rates in [0, 1), got {spent}")
    return _critical(looks, spent, two_sided)


def nominal(c: float, two_sided: bool = True) -> float:
    """The fixed-sample tail rate of the critical value `c` (its nominal significance level)."""
    return (2 if two_sided else 1) * _upper(c)


@functools.lru_cache(maxsize=512)
def _critical(looks: tuple[int, ...], spent: tuple[float, ...], two_sided: bool) -> tuple[float, ...]:
    sides = 2 if two_sided else 1
    first = spent[0]
    c = _inv_upper(first / sides) if first > 0 else _C_MAX
    out = [c]
    # the first look's sub-density of S on its continuation region
    grid, weights = _grid(_region(c, looks[0], two_sided))
    sd = math.sqrt(looks[0])
    dens = [_phi(s / sd) / sd for s in grid]
    for k in range(1, len(looks)):
        step = math.sqrt(looks[k] - looks[k - 1])
        root_n = math.sqrt(looks[k])
        mass = [w * f for w, f in zip(weights, dens)]

        def crossing(c_k: float) -> float:
            b = c_k * root_n
            up = sum(m * _upper((b - s) / step) for m, s in zip(mass, grid))
            return up + (sum(m * _upper((b + s) / step) for m, s in zip(mass, grid)) if two_sided else 0.0)

        target = spent[k] - spent[k - 1]
        if target <= 0 or crossing(_C_MAX) >= target:
            c = _C_MAX
        else:
            lo, hi = 0.0, _C_MAX
            for _ in range(_BISECTIONS):
                mid = (lo + hi) / 2
                if crossing(mid) > target:
                    lo = mid
                else:
                    hi = mid
            c = (lo + hi) / 2
        out.append(c)
        if k + 1 < len(looks):  # carry the density of the paths still going to the next look
            new_grid, weights = _grid(_region(c, looks[k], two_sided))
            dens = [sum(m * _phi((t - s) / step) for m, s in zip(mass, grid)) / step for t in new_grid]
            grid = new_grid
    return tuple(out)


def _region(c: float, n: int, two_sided: bool) -> tuple[float, float]:
    """The continuation region of S after n rounds: (-b, b) two-sided, (-8 sd, b) one-sided."""
    sd = math.sqrt(n)
    b = min(c, _TAIL) * sd  # beyond 8 sd the density is nil
    return (-b if two_sided else -_TAIL * sd), b


def _grid(region: tuple[float, float]) -> tuple[list[float], list[float]]:
    lo, hi = region
    h = (hi - lo) / (_POINTS - 1)
    grid = [lo + i * h for i in range(_POINTS)]
    weights = [h / 3 * (1 if i in (0, _POINTS - 1) else 4 if i % 2 else 2) for i in range(_POINTS)]
    return grid, weights


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _upper(x: float) -> float:
    """P(N(0, 1) >= x)."""
    return 0.5 * math.erfc(x / math.sqrt(2))


def _inv_upper(p: float) -> float:
    """x with P(N(0, 1) >= x) = p, for small p too (bisection on erfc: inv_cdf loses digits near 1)."""
    lo, hi = -_C_MAX, _C_MAX
    for _ in range(200):
        mid = (lo + hi) / 2
        if _upper(mid) > p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
