"""analysis/sequential.py: the sequential interleaved A/B rule, on literal rounds and on the
synthetic jobs of yardsticks/bench_ab.py (a fixed seed)."""

from __future__ import annotations

import math
import random
import re
import statistics

import pytest

from benchmark.analysis.compare import Run, compare
from benchmark.analysis.sequential import DONE, MORE, Round, SequentialOptions, decide, from_json, to_json
from yardsticks import bench_ab


def run(level: float, jitter: float = 0.002, reps: int = 5) -> Run:
    """A process at `level`: repetitions spread by +-jitter around it, 4 samples each."""
    steps = [(i - (reps - 1) / 2) / reps for i in range(reps)]
    return Run(reps=tuple(tuple(level * (1 + jitter * s) * (1 + 0.001 * k) for k in range(4)) for s in steps))


def rounds(base: list[float], head: list[float]) -> list[Round]:
    return [Round(run(b), run(h), "AB" if i % 2 == 0 else "BA") for i, (b, h) in enumerate(zip(base, head))]


# a quiet runner: main's earlier base processes within +-0.5 %
HISTORY = [run(1.0 + 0.005 * math.sin(3 * i)) for i in range(10)]
QUIET_BASE = [1.0, 1.004, 0.997, 1.002, 0.999, 1.003, 0.998, 1.001, 1.0, 0.996]


def test_a_large_regression_stops_after_two_rounds_with_the_prior():
    d = decide(rounds(QUIET_BASE[:2], [1.10 * b for b in QUIET_BASE[:2]]), "lower", SequentialOptions(), HISTORY)
    assert (d.decision, d.comparison.verdict, d.rounds) == (DONE, "regression", 2)
    assert d.comparison.ci[0] > 0.05 and math.isclose(d.comparison.change, 0.10, rel_tol=1e-9)
    assert "after 2 rounds" in d.comparison.reason and d.stopped == "decided: the change is beyond noise"


def test_higher_is_better_figures_regress_the_other_way():
    d = decide(rounds(QUIET_BASE[:3], [0.9 * b for b in QUIET_BASE[:3]]), "higher", SequentialOptions(), HISTORY)
    assert (d.decision, d.comparison.verdict) == (DONE, "regression")


def test_no_change_stops_early_by_equivalence_on_a_quiet_runner():
    head = [b * (1 + 0.002 * (-1) ** i) for i, b in enumerate(QUIET_BASE)]
    looks = [decide(rounds(QUIET_BASE[:n], head[:n]), "lower", SequentialOptions(), HISTORY) for n in range(2, 11)]
    first_done = next(d for d in looks if d.decision == DONE)
    assert first_done.comparison.verdict == "no_change" and first_done.rounds < 10
    assert "equivalence stop" in first_done.comparison.reason
    lo, hi = first_done.comparison.ci
    assert -0.02 < lo < 0 < hi < 0.02


def test_without_history_two_rounds_decide_nothing_and_the_last_round_says_noisy():
    head = [b * 1.01 for b in QUIET_BASE]
    d = decide(rounds(QUIET_BASE[:2], head[:2]), "lower", SequentialOptions())
    assert (d.decision, d.comparison.verdict) == (MORE, "noisy")
    wobbly = [b * (1 + 0.06 * (-1) ** i) for i, b in enumerate(head)]  # rounds disagreeing by +-6 %
    last = decide(rounds(QUIET_BASE, wobbly), "lower", SequentialOptions())
    assert (last.decision, last.comparison.verdict, last.rounds) == (DONE, "noisy", 10)
    assert last.stopped == "10 rounds, the most allowed" and last.comparison.ci is not None


def test_a_budget_that_ran_out_is_final_and_says_so():
    head = [b * (1 + 0.05 * (-1) ** i) for i, b in enumerate(QUIET_BASE)]
    d = decide(rounds(QUIET_BASE[:3], head[:3]), "lower", SequentialOptions(), final=True)
    assert d.decision == DONE and d.stopped == "the budget ran out after 3 rounds"


def test_a_drift_of_the_machine_cancels_in_the_pairs():
    # the machine slows 4 % a round; within a round head and base see the same machine
    drift = [1.0 * 1.04 ** i for i in range(8)]
    pairs = decide(rounds(drift, [x * 1.001 for x in drift]), "lower", SequentialOptions(max_rounds=8), HISTORY)
    assert pairs.comparison.verdict == "no_change" and abs(pairs.comparison.change) < 0.002
    # the same processes unpaired: the drift is noise to compare, which cannot rule out 2 %
    unpaired = compare([run(x) for x in drift], [run(x * 1.001) for x in drift], "lower", history=HISTORY)
    assert unpaired.verdict == "noisy"


def test_a_neighbour_starting_between_a_rounds_two_processes_is_left_out():
    base = QUIET_BASE[:6]
    head = [b * 1.001 for b in base]
    head[3] *= 1.12  # round 4: a neighbour started after its base process ran
    d = decide(rounds(base, head), "lower", SequentialOptions(), HISTORY)
    assert d.comparison.verdict == "no_change" and "1 broken round(s) left out" in d.comparison.reason


def test_rounds_disagreeing_more_than_history_are_flagged():
    base = QUIET_BASE[:8]
    head = [b * (1.05 if i % 2 == 0 else 1.0) for i, b in enumerate(base)]  # a 5 % slower clock state in half
    d = decide(rounds(base, head), "lower", SequentialOptions(), HISTORY)
    assert "disagree" in d.comparison.reason and "clocks" in d.comparison.reason


def test_an_invalid_process_makes_its_round_count_without_a_pair():
    rs = rounds(QUIET_BASE[:3], [1.1 * b for b in QUIET_BASE[:3]])
    rs[1] = Round(Run(reps=(), valid=False), rs[1].head, "BA")
    d = decide(rs, "lower", SequentialOptions(), HISTORY)
    assert d.rounds == 3 and d.comparison.base_runs == 2 and d.comparison.verdict == "regression"
    none = decide([Round(Run(reps=(), valid=False), run(1.0))] * 2, "lower", SequentialOptions(), HISTORY)
    assert (none.decision, none.comparison.verdict) == (MORE, "insufficient")


def test_the_spending_function_is_cumulative_and_spends_the_total_at_the_last_look():
    o = SequentialOptions(min_rounds=2, max_rounds=10)
    cumulative = [o.spending(n, o.alpha) for n in range(2, 11)]
    assert math.isclose(cumulative[-1], o.alpha, rel_tol=1e-12) and cumulative == sorted(cumulative)
    steps = [b - a for a, b in zip(cumulative, cumulative[1:])]
    assert steps == sorted(steps) and all(s > 0 for s in steps)  # gamma < 0: later looks spend more
    assert math.isclose(SequentialOptions(gamma=0).spending(5, 0.01), 0.005, rel_tol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 0.0}, "alpha: must be a rate in (0, 0.5), got 0.0"),
    ({"beta": True}, "beta: must be a rate in (0, 0.5), got True"),
    ({"min_rounds": 0}, "min_rounds: must be an integer from 1 to 100, got 0"),
    ({"max_rounds": 2.5}, "max_rounds: must be an integer from 1 to 100, got 2.5"),
    ({"min_rounds": 5, "max_rounds": 4}, "min_rounds: must be at most max_rounds (4), got 5"),
    ({"threshold": 2}, "threshold: must be a fraction in (0, 1)"),
    ({"gamma": float("nan")}, "gamma: must be a number from -20 to 20, got nan"),
    ({"late_gamma": 30}, "late_gamma: must be a number from -20 to 20, got 30"),
    ({"futility": 0.5}, "futility: must be a rate in [0, 0.5) (0: never), got 0.5"),
])
def test_bad_options_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SequentialOptions(**kwargs)


def test_json_lines_round_trip_and_refuse_bad_fields():
    line = {"id": "x", "direction": "lower", "max_rounds": 4,
            "rounds": [{"order": "AB", "base": {"reps": [[1.0, 1.01], [1.0]]}, "head": {"reps": [[1.2], [1.21]]}}],
            "history": [{"reps": [[1.0]]}]}
    parsed, history, direction, options = from_json(line, SequentialOptions())
    assert len(parsed) == 1 and parsed[0].order == "AB" and len(history) == 1
    assert direction == "lower" and options.max_rounds == 4 and options.min_rounds == 2
    out = to_json("x", decide(parsed, direction, options, history))
    assert out["decision"] == MORE and out["rounds"] == 1 and set(out) >= {"id", "verdict", "change", "ci"}
    for bad, message in ((dict(line, direction="info"), "direction: must be lower or higher"),
                         (dict(line, max_rounds=0), "max_rounds: must be an integer from 1 to 100"),
                         (dict(line, rounds=line["rounds"] * 5), "rounds: 5 given, more than max_rounds 4"),
                         (dict(line, rounds=[{"order": "BB", "base": {"reps": [[1]]}, "head": {"reps": [[1]]}}]),
                          "rounds[0].order: must be AB or BA"),
                         (dict(line, rounds=[{"base": {"reps": [[1]]}}]), "rounds[0]: must be an object"),
                         (dict(line, rounds=[{"base": {"reps": [["a"]]}, "head": {"reps": [[1]]}}]),
                          "rounds[0].base.reps: samples must be finite numbers")):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            from_json(bad, SequentialOptions())


def test_on_synthetic_jobs_it_keeps_false_alarms_rare_and_catches_large_changes_fast():
    """A guard on the benchmark's behaviour (yardsticks/bench_ab.py, a fixed seed), not its report."""
    rng, options = random.Random(5), SequentialOptions()
    quiet = bench_ab.JOBS[0]
    null = [bench_ab.sequential(bench_ab.make_case(quiet, 0.0, rng, "0"), options) for _ in range(150)]
    # 0.4 % of 2000 such jobs alarm (seed 77); 3 of 150 is 2 %, twice the nominal rate
    assert sum(o.verdict in ("regression", "improvement") for o in null) <= 3
    assert sum(o.verdict == "no_change" for o in null) >= 145
    assert statistics.median(o.rounds for o in null) <= 6
    big = [bench_ab.sequential(bench_ab.make_case(quiet, 0.10, rng, "10"), options) for _ in range(50)]
    assert all(o.verdict == "regression" for o in big) and statistics.median(o.rounds for o in big) <= 3


def test_two_rounds_without_history_give_a_wide_but_finite_interval():
    d = decide(rounds([1.0, 1.0], [1.3, 1.0]), "lower", SequentialOptions())
    lo, hi = d.comparison.ci
    assert d.decision == MORE and math.isfinite(hi) and lo > -1 and hi <= 99.0 * 1.3


# a shared runner: main's earlier base processes spread by ~4 %, where 10 rounds cannot show no_change
NOISY_HISTORY = [run(1.0 + 0.04 * math.sin(2.1 * i + 0.3)) for i in range(10)]
NOISY = [0.04 * math.sin(1.7 * i + 1.0) for i in range(10)]  # each process's own offset, about as spread


def test_on_a_runner_too_noisy_for_no_change_an_unchanged_job_stops_early_as_futile():
    base = [1.0 + e for e in NOISY]
    head = [1.0 + NOISY[(i + 5) % 10] for i in range(10)]  # the same offsets, another order: no change
    looks = [decide(rounds(base[:n], head[:n]), "lower", SequentialOptions(), NOISY_HISTORY) for n in range(2, 11)]
    first_done = next(d for d in looks if d.decision == DONE)
    assert first_done.rounds < 10 and first_done.comparison.verdict == "noisy"
    assert "futility stop" in first_done.comparison.reason
    assert first_done.stopped == "stopped early: 10 rounds would not decide it at this noise"
    never = SequentialOptions(futility=0)
    assert decide(rounds(base[:first_done.rounds], head[:first_done.rounds]), "lower", never,
                  NOISY_HISTORY).decision == MORE


def test_futility_never_ends_a_job_whose_change_the_last_look_would_likely_catch():
    base = [1.0 + e for e in NOISY]
    head = [1.12 * (1.0 + NOISY[(i + 5) % 10]) for i in range(10)]
    for n in range(2, 11):
        d = decide(rounds(base[:n], head[:n]), "lower", SequentialOptions(), NOISY_HISTORY)
        assert "futility" not in d.comparison.reason
        if d.decision == DONE:
            break
    assert d.comparison.verdict == "regression"


def test_futility_never_fires_where_no_change_is_within_reach():
    head = [b * (1 + 0.012 * (-1) ** i) for i, b in enumerate(QUIET_BASE)]  # rounds disagreeing by +-1.2 %
    for n in range(2, 10):
        d = decide(rounds(QUIET_BASE[:n], head[:n]), "lower", SequentialOptions(), HISTORY)
        assert "futility" not in d.comparison.reason


def test_where_main_history_puts_no_change_out_of_reach_the_alarm_spends_late():
    base = [1.0 + e for e in NOISY]
    head = [1.06 * (1.0 + NOISY[(i + 5) % 10]) for i in range(10)]
    late = decide(rounds(base, head), "lower", SequentialOptions(), NOISY_HISTORY)
    early = decide(rounds(base, head), "lower", SequentialOptions(late_gamma=-3.0), NOISY_HISTORY)
    assert late.comparison.ci[1] - late.comparison.ci[0] < early.comparison.ci[1] - early.comparison.ci[0]
    # on a quiet runner the usual shape stays: the same rounds give the same interval either way
    q = rounds(QUIET_BASE, [1.01 * b for b in QUIET_BASE])
    assert decide(q, "lower", SequentialOptions(), HISTORY).comparison.ci == \
        decide(q, "lower", SequentialOptions(late_gamma=-3.0), HISTORY).comparison.ci
