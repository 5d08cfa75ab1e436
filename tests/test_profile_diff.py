"""analysis/profile_diff on literal summaries: what is named, in which order, with which share."""

from __future__ import annotations

import pytest

from benchmark.analysis.profile_diff import CALLS, FASTER, GONE, NEW, SLOWER, Floor, combine, diff
from benchmark.contracts.profile import OUTSIDE, KernelCost, OperatorCost, ProfileSummary


def summary(*ops: tuple, kernels: tuple = ()) -> ProfileSummary:
    """ops: (name, calls/token, self us/token[, total us/token])."""
    return ProfileSummary(tokens=31, batch_size=1, device="cpu", wall_us_per_token=1500.0,
                          operators=[OperatorCost(o[0], o[1], o[2], o[3] if len(o) > 3 else o[2]) for o in ops],
                          kernels=[KernelCost(*k) for k in kernels])


BASE = summary((OUTSIDE, 0, 900.0), ("aten::mm", 15, 300.0, 310.0), ("aten::matmul", 15, 20.0, 330.0),
               ("aten::mul", 23, 35.0), ("aten::add", 17, 25.0), ("aten::t", 15, 18.0))  # step 1298 us


def test_a_new_matrix_multiply_is_named_first_with_its_share():
    head = summary((OUTSIDE, 0, 910.0), ("aten::mm", 16, 420.0, 430.0), ("aten::matmul", 16, 22.0, 452.0),
                   ("aten::mul", 23, 36.0), ("aten::add", 17, 24.0), ("aten::t", 16, 19.5))
    e = diff(BASE, head, figure_delta_us=130.0)
    assert [m.name for m in e.movers][0] == "aten::mm"
    mm = e.movers[0]
    assert mm.change == SLOWER and mm.delta_calls == 1 and mm.delta_self_us == pytest.approx(120.0)
    assert mm.share == pytest.approx(120.0 / 130.0)
    # matmul and t gained a call per token (exact counts): named, but within the time floor
    assert {m.name: m.change for m in e.movers[1:]} == {"aten::matmul": CALLS, "aten::t": CALLS}
    assert [m.name for m in e.calls_changed] == ["aten::mm", "aten::matmul", "aten::t"]
    assert "aten::mul" not in [m.name for m in e.movers] and OUTSIDE not in [m.name for m in e.movers]


def test_a_new_local_scalar_dense_is_named_as_a_host_sync():
    head = summary(*[(o.name, o.calls_per_token, o.self_us_per_token * 1.01, o.total_us_per_token)
                     for o in BASE.operators],
                   ("aten::item", 1, 2.0, 6.0), ("aten::_local_scalar_dense", 1, 4.0))
    e = diff(BASE, head, figure_delta_us=8.0)
    assert [m.name for m in e.movers] == ["aten::_local_scalar_dense", "aten::item"]
    sync = e.movers[0]
    assert sync.change == NEW and sync.head_calls == 1 and "host sync" in sync.note
    assert sync.share == pytest.approx(0.5)
    assert e.appeared == e.movers and not e.slower


def test_nothing_changed_names_no_mover():
    jitter = summary((OUTSIDE, 0, 1100.0), ("aten::mm", 15, 316.0, 326.0), ("aten::matmul", 15, 17.0, 330.0),
                     ("aten::mul", 23, 31.0), ("aten::add", 17, 29.0), ("aten::t", 15, 21.0))
    e = diff(BASE, jitter, figure_delta_us=3.0)
    assert e.movers == [] and e.explained_share is None
    # the same jitter with no floor at all would name every operator: the floor is what holds
    assert len(diff(BASE, jitter, None, Floor(abs_us=0, rel_step=0, rel_outside=0, rel_own=0)).movers) == 6


def test_the_dominant_operator_must_move_beyond_its_own_floor_too():
    def mm_at(us: float) -> ProfileSummary:
        return summary(*[(o.name, o.calls_per_token, us if o.name == "aten::mm" else o.self_us_per_token)
                         for o in BASE.operators])

    # +21 us is 1.6 % of the step: within the step's floor whatever its own share
    assert diff(BASE, mm_at(321.0)).movers == []
    # +42 us is past 3 % of the step but only 12 % of mm's own time: the jitter of the step's largest operator
    assert diff(BASE, mm_at(342.0)).movers == []
    assert [m.name for m in diff(BASE, mm_at(342.0), floor=Floor(rel_own=0)).movers] == ["aten::mm"]
    assert [m.name for m in diff(BASE, mm_at(360.0)).movers] == ["aten::mm"]  # 17 % of its own: named


def test_the_floor_needs_both_the_absolute_and_the_relative_part():
    tiny = summary(("aten::a", 1, 10.0), ("aten::b", 1, 10.0))  # a 20 us step: 3 % is 0.6 us
    assert diff(tiny, summary(("aten::a", 1, 14.0), ("aten::b", 1, 10.0))).movers == []  # 4 us < 5 us
    assert [m.name for m in diff(tiny, summary(("aten::a", 1, 16.0), ("aten::b", 1, 10.0))).movers] == ["aten::a"]
    # on a 1298 us step 3 % is 38.9 us: a 30 us move is within it, a 40 us one is not
    assert diff(BASE, summary(*[(o.name, o.calls_per_token, o.self_us_per_token + (30 if o.name == "aten::mul" else 0))
                                for o in BASE.operators])).movers == []
    moved = diff(BASE, summary(*[(o.name, o.calls_per_token, o.self_us_per_token + (40 if o.name == "aten::mul" else 0))
                                 for o in BASE.operators]))
    assert [(m.name, m.change) for m in moved.movers] == [("aten::mul", SLOWER)]


def test_vanished_and_faster_come_last_and_a_rare_call_is_not_named():
    head = summary((OUTSIDE, 0, 900.0), ("aten::mm", 15, 200.0), ("aten::matmul", 15, 20.0), ("aten::mul", 23, 35.0),
                   ("aten::add", 17, 25.0), ("aten::clone", 1 / 31, 3.0))  # aten::t gone; a clone once per run
    e = diff(BASE, head, figure_delta_us=-120.0)
    assert [(m.name, m.change) for m in e.movers] == [("aten::t", GONE), ("aten::mm", FASTER)]
    assert e.movers[1].share == pytest.approx(100 / 120)


def test_the_outside_row_has_its_own_floor():
    more_python = summary((OUTSIDE, 0, 900 + 0.2 * 1298), *[(o.name, o.calls_per_token, o.self_us_per_token)
                                                           for o in BASE.operators[1:]])
    assert diff(BASE, more_python).movers == []  # 20 % of the step: the load alone moves it this much
    busy = summary((OUTSIDE, 0, 900 + 0.3 * 1298), *[(o.name, o.calls_per_token, o.self_us_per_token)
                                                    for o in BASE.operators[1:]])
    assert [m.name for m in diff(BASE, busy).movers] == [OUTSIDE]


def test_kernels_that_appear_are_named():
    base = summary(("aten::mm", 15, 30.0), kernels=(("gemv_kernel", 15, 300.0),))
    head = summary(("aten::mm", 15, 30.0), kernels=(("gemv_kernel", 15, 300.0), ("copy_kernel", 48, 96.0)))
    e = diff(base, head)
    assert [(k.name, k.change, k.head_calls) for k in e.kernels] == [("copy_kernel", NEW, 48)]


def test_combine_takes_each_operators_median_over_the_profiles():
    a = summary(("aten::mm", 15, 300.0), ("aten::x", 1, 5.0))
    b = summary(("aten::mm", 15, 900.0))  # one disturbed profile
    c = summary(("aten::mm", 15, 310.0), ("aten::x", 1, 7.0))
    both = {o.name: o for o in combine([a, b, c]).operators}
    assert both["aten::mm"].self_us_per_token == 310.0
    assert both["aten::x"].self_us_per_token == 5.0 and both["aten::x"].calls_per_token == 1


def test_a_floor_that_makes_no_sense_is_refused():
    with pytest.raises(ValueError, match="floor"):
        Floor(calls=0)


def test_a_time_move_against_the_measured_figure_is_the_profiles_own_disturbance():
    """The figure (every measured step) says how much the step changed; one profiled repetition
    whose mm ran 80 % slower while the figure fell, or 10x the figure's rise, names nothing by time."""
    slow_mm = summary(*[(o.name, o.calls_per_token, o.self_us_per_token * (1.8 if o.name == "aten::mm" else 1))
                        for o in BASE.operators], ("aten::item", 1, 4.0), ("aten::_local_scalar_dense", 1, 2.0))
    against = diff(BASE, slow_mm, figure_delta_us=-50.0)
    assert [m.name for m in against.movers] == ["aten::item", "aten::_local_scalar_dense"]
    assert [m.name for m in diff(BASE, slow_mm, figure_delta_us=24.0).movers][0] == "aten::item"  # 240 / 24 = 10x
    assert [m.name for m in diff(BASE, slow_mm, figure_delta_us=200.0).movers][0] == "aten::mm"  # 1.2x: named
    assert [m.name for m in diff(BASE, slow_mm).movers][0] == "aten::mm"  # no figure: the floors alone
    # an operator whose calls changed is named whatever its time did
    more_mm = summary(*[(o.name, o.calls_per_token + (1 if o.name == "aten::mm" else 0), o.self_us_per_token * 1.8)
                        for o in BASE.operators])
    assert [(m.name, m.change) for m in diff(BASE, more_mm, figure_delta_us=-50.0).movers] == [("aten::mm", CALLS)]
