"""What got slower: two profile summaries (contracts/profile.py) -> the operators that explain
a figure's change (`commitbench explain`; flows/explain.py reads the summaries).

Every cost is per decode step ("per token"). An operator is named when
- it appeared or vanished, or its calls per token changed by at least `Floor.calls`: call
  counts are exact (one profiled repetition counts every call), so any such change is real;
- or its self time per token moved by more than the time floor: `Floor.abs_us`, and
  `Floor.rel_step` of the base side's step (the sum of every operator's self time per token;
  `Floor.rel_outside` for the time outside every operator, contracts/profile.OUTSIDE), and
  `Floor.rel_own` of its own time (the larger side's); and, where the figure's change is known,
  in the figure's direction and by at most `Floor.max_share` times it (`_with_the_figure`).
  One profiled repetition per side is one sample of each operator's time: between two profiles
  of the same code the small operators jitter by microseconds (the profiler's own per-event
  cost), the large ones by a few per cent of the step, and the step's dominant operator (a
  model's matrix multiplies) by several per cent of itself. Every floor must be passed so no
  kind of jitter is named (docs/explain.md shows the calibration).
The named operators come out largest growth first; each with the share of the figure's change
per token it explains (its self-time change over the figure's change), where that is known.
Self time, not total, is diffed and shared: the self times add up to the step, so the shares
of different operators never count the same microsecond twice.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..contracts.profile import OUTSIDE, KernelCost, OperatorCost, ProfileSummary

# What an operator means, where its name alone says more than its time: a host sync stalls
# the GPU's queue (its cost is the device's idle time, far more than its own).
NOTES = {
    "aten::_local_scalar_dense": "host sync (.item(), int(), bool() of a tensor)",
    "aten::item": "host sync (.item())",
    "aten::nonzero": "host sync on a GPU (its output's size depends on the data)",
    "cudaStreamSynchronize": "host sync",
    "cudaDeviceSynchronize": "host sync",
    "cudaMemcpy": "synchronous copy (a host sync)",
    "aten::copy_": "a copy (a dtype or device change, or an in-place write)",
    "aten::to": "a dtype or device change",
    "aten::_to_copy": "a dtype or device change",
    "aten::contiguous": "a layout copy",
    "aten::clone": "a copy",
}

NEW, GONE, SLOWER, FASTER, CALLS = "new", "gone", "slower", "faster", "calls"


@dataclass(frozen=True)
class Floor:
    """Below these nothing is named (module docstring; docs/explain.md for the calibration)."""

    abs_us: float = 5.0  # microseconds per token
    rel_step: float = 0.03  # of the base side's step time (the operators' self times, summed)
    # of the operator's own time (the larger side's): the step's dominant operator moves most
    rel_own: float = 0.15
    calls: float = 0.5  # calls per token: a call on at least every other token
    # the time outside every operator (Python, the profiler's bookkeeping) swings with the
    # machine's load far more than any operator's: its own floor, of the base side's step
    rel_outside: float = 0.25
    # a time move is named only with the figure's sign and at most this multiple of its change
    max_share: float = 2.0

    def __post_init__(self) -> None:
        if not (self.abs_us >= 0 and 0 <= self.rel_step < 1 and 0 <= self.rel_outside < 1
                and 0 <= self.rel_own < 1 and self.calls > 0 and self.max_share > 0):
            raise ValueError(f"floor: abs_us >= 0, 0 <= rel_step, rel_outside, rel_own < 1, calls > 0; got {self}")

    def time_us(self, base_step_us: float, name: str = "") -> float:
        return max(self.abs_us, (self.rel_outside if name == OUTSIDE else self.rel_step) * base_step_us)


@dataclass(frozen=True)
class Mover:
    """One named operator, per token on each side (0 where it is absent)."""

    name: str
    change: str  # NEW, GONE, SLOWER, FASTER or CALLS (calls changed, time within the floor)
    base_calls: float
    head_calls: float
    base_self_us: float
    head_self_us: float
    base_total_us: float
    head_total_us: float
    share: float | None  # of the figure's change per token; None where no figure change is known
    note: str | None = None  # NOTES

    @property
    def delta_self_us(self) -> float:
        return self.head_self_us - self.base_self_us

    @property
    def delta_calls(self) -> float:
        return self.head_calls - self.base_calls


@dataclass(frozen=True)
class KernelMover:
    """A GPU kernel (CUDA profiles) that appeared, vanished or moved past the time floor."""

    name: str
    change: str
    base_calls: float
    head_calls: float
    base_us: float
    head_us: float


@dataclass(frozen=True)
class Explanation:
    movers: list[Mover]  # largest self-time growth first
    kernels: list[KernelMover] = field(default_factory=list)
    base_step_us: float = 0.0  # the operators' self times per token, summed
    head_step_us: float = 0.0
    figure_delta_us: float | None = None  # head - base of the figure, per token
    floor_us: float = 0.0  # the time floor applied to operators (the step's share or abs_us)
    floor: Floor = Floor()

    @property
    def slower(self) -> list[Mover]:
        return [m for m in self.movers if m.change == SLOWER]

    @property
    def appeared(self) -> list[Mover]:
        return [m for m in self.movers if m.change == NEW]

    @property
    def vanished(self) -> list[Mover]:
        return [m for m in self.movers if m.change == GONE]

    @property
    def calls_changed(self) -> list[Mover]:
        """Operators on both sides whose calls per token changed (whatever their time did)."""
        return [m for m in self.movers if m.change not in (NEW, GONE) and abs(m.delta_calls) >= _EPS_CALLS]

    @property
    def explained_share(self) -> float | None:
        """The share of the figure's change the named operators explain together."""
        shares = [m.share for m in self.movers if m.share is not None]
        return sum(shares) if shares else None


_EPS_CALLS = 1e-9


def combine(summaries: list[ProfileSummary]) -> ProfileSummary:
    """One side's profiles (an A/B's rounds profile each run) as one: each operator's and
    kernel's per-token figures the median over the profiles (0 where one lacks it), so one
    disturbed profile moves nothing."""
    if len(summaries) == 1:
        return summaries[0]
    first = summaries[0]

    def median_of(rows: list[dict], name: str, field_: str) -> float:
        return statistics.median(getattr(r[name], field_) if name in r else 0.0 for r in rows)

    ops = [{o.name: o for o in s.operators} for s in summaries]
    names = list(dict.fromkeys(n for r in ops for n in r))
    operators = []
    for n in names:
        device = [r[n].device_self_us_per_token for r in ops if n in r and r[n].device_self_us_per_token is not None]
        operators.append(OperatorCost(n, median_of(ops, n, "calls_per_token"), median_of(ops, n, "self_us_per_token"),
                                      median_of(ops, n, "total_us_per_token"),
                                      statistics.median(device) if device else None))
    ks = [{k.name: k for k in s.kernels} for s in summaries]
    kernels = [KernelCost(n, median_of(ks, n, "calls_per_token"), median_of(ks, n, "us_per_token"))
               for n in dict.fromkeys(n for r in ks for n in r)]
    operators.sort(key=lambda o: (-o.self_us_per_token, o.name))
    kernels.sort(key=lambda k: (-k.us_per_token, k.name))
    return ProfileSummary(tokens=sum(s.tokens for s in summaries), batch_size=first.batch_size, device=first.device,
                          wall_us_per_token=statistics.median(s.wall_us_per_token for s in summaries),
                          operators=operators, kernels=kernels, note=first.note)


def step_us(summary: ProfileSummary) -> float:
    return sum(o.self_us_per_token for o in summary.operators)


def diff(base: ProfileSummary, head: ProfileSummary, figure_delta_us: float | None = None,
         floor: Floor = Floor()) -> Explanation:
    """The operators that explain head against base (module docstring)."""
    base_step = step_us(base)
    limit = floor.time_us(base_step)
    b = {o.name: o for o in base.operators}
    h = {o.name: o for o in head.operators}
    none = OperatorCost("", 0.0, 0.0, 0.0)
    movers = []
    for name in list(dict.fromkeys([*b, *h])):
        bo, ho = b.get(name, none), h.get(name, none)
        change = _change(bo, ho, floor.time_us(base_step, name), floor, figure_delta_us)
        if change is None:
            continue
        share = None
        if figure_delta_us:
            share = (ho.self_us_per_token - bo.self_us_per_token) / figure_delta_us
        movers.append(Mover(name, change, bo.calls_per_token, ho.calls_per_token, bo.self_us_per_token,
                            ho.self_us_per_token, bo.total_us_per_token, ho.total_us_per_token, share,
                            NOTES.get(name)))
    movers.sort(key=lambda m: (-m.delta_self_us, m.name))
    return Explanation(movers, _kernels(base, head, limit, floor), base_step, step_us(head), figure_delta_us, limit,
                       floor)


def _change(bo: OperatorCost, ho: OperatorCost, limit: float, floor: Floor, figure_delta_us: float | None) -> str | None:
    if bo.calls_per_token == 0 and ho.calls_per_token >= floor.calls:
        return NEW
    if ho.calls_per_token == 0 and bo.calls_per_token >= floor.calls:
        return GONE
    delta = ho.self_us_per_token - bo.self_us_per_token
    if abs(delta) > limit and abs(delta) > floor.rel_own * max(ho.self_us_per_token, bo.self_us_per_token) \
            and _with_the_figure(delta, figure_delta_us, floor):
        return SLOWER if delta > 0 else FASTER
    if abs(ho.calls_per_token - bo.calls_per_token) >= floor.calls:
        return CALLS
    return None


def _with_the_figure(delta_us: float, figure_delta_us: float | None, floor: Floor) -> bool:
    """Whether a time move agrees with the measured figure: the figure (the median of every
    measured step, over all repetitions) says how much the step changed far better than one
    profiled repetition does. An operator that moved against it, or by more than `max_share`
    times it, moved with its own repetition's disturbance. No figure: the floors alone."""
    if figure_delta_us is None:
        return True
    return figure_delta_us != 0 and 0 < delta_us / figure_delta_us <= floor.max_share


def _kernels(base: ProfileSummary, head: ProfileSummary, limit: float, floor: Floor) -> list[KernelMover]:
    b = {k.name: k for k in base.kernels}
    h = {k.name: k for k in head.kernels}
    out = []
    for name in list(dict.fromkeys([*b, *h])):
        bk, hk = b.get(name), h.get(name)
        bc, hc = (bk.calls_per_token if bk else 0.0), (hk.calls_per_token if hk else 0.0)
        bu, hu = (bk.us_per_token if bk else 0.0), (hk.us_per_token if hk else 0.0)
        if bk is None and hc >= floor.calls:
            change = NEW
        elif hk is None and bc >= floor.calls:
            change = GONE
        elif abs(hu - bu) > limit:
            change = SLOWER if hu > bu else FASTER
        elif abs(hc - bc) >= floor.calls:
            change = CALLS
        else:
            continue
        out.append(KernelMover(name, change, bc, hc, bu, hu))
    out.sort(key=lambda k: (-(k.head_us - k.base_us), k.name))
    return out
