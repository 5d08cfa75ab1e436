"""The comparator on literal runs whose answers are known exactly, and a small seeded synthetic check."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.analysis.compare import (CompareOptions, Comparison, Run, compare, from_json, history_noise,
                                        summarize, t_quantile, to_json)
from yardsticks.pairs import CONDITIONS, LAYOUTS, Scores, cases

QUIET, SHARED = CONDITIONS[0], CONDITIONS[1]
HIST_1_1, AB = LAYOUTS[0], LAYOUTS[1]


def runs(*levels: float) -> list[Run]:
    """One run per level, a single repetition of one sample: nothing within-run to estimate."""
    return [Run(reps=((v,),)) for v in levels]


def at(*logs: float) -> list[Run]:
    return runs(*(math.exp(x) for x in logs))


# --- runs and levels ---

def test_run_level_is_the_median_of_repetition_medians_and_lists_become_tuples():
    run = Run(reps=[[1, 2, 3], [10, 20, 30], [4, 5, 6]])
    assert run.reps == ((1.0, 2.0, 3.0), (10.0, 20.0, 30.0), (4.0, 5.0, 6.0))
    assert run.level() == 5.0


@pytest.mark.parametrize("reps", [[[1.0, math.nan]], [[1.0, math.inf]], [["1"]], [[True]], "abc"])
def test_run_refuses_samples_that_are_not_finite_numbers(reps):
    with pytest.raises(ValueError, match="^reps: "):
        Run(reps=reps)


# --- Student's t ---

@pytest.mark.parametrize("p, df, expected", [
    (0.975, 5, 2.570582), (0.995, 1, 63.656741), (0.995, 4, 4.604095), (0.995, 30, 2.749996),
    (0.995, math.inf, 2.575829)])
def test_t_quantile_matches_the_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=2e-6)


# --- verdicts on exact lists ---

def test_several_runs_per_side_give_a_t_interval_from_their_spread():
    # each side's logs spread by exactly 0.01 around their mean: pooled sigma 0.01, 4 degrees of freedom
    base, head = at(-0.01, 0.0, 0.01), at(0.09, 0.10, 0.11)
    c = compare(base, head, "lower")
    half = 4.604095 * 0.01 * math.sqrt(2 / 3)
    assert c.verdict == "regression"
    assert c.change == pytest.approx(math.expm1(0.10))
    assert c.ci == pytest.approx((math.expm1(0.10 - half), math.expm1(0.10 + half)), abs=1e-6)
    assert c.noise == pytest.approx(math.expm1(0.01))
    assert c.base_level == pytest.approx(1.0) and c.head_level == pytest.approx(math.exp(0.10))
    assert (c.base_runs, c.head_runs, c.history_runs) == (3, 3, 0)
    assert c.reason.startswith("+10.5 % [")


def test_direction_decides_which_way_is_worse_and_info_is_never_judged():
    base, head = at(-0.01, 0.0, 0.01), at(0.09, 0.10, 0.11)
    assert compare(base, head, "higher").verdict == "improvement"
    assert compare(head, base, "lower").verdict == "improvement"
    assert compare(head, base, "higher").verdict == "regression"
    info = compare(base, head, "info")
    assert info.verdict == "noisy" and "not judged" in info.reason


def test_no_change_when_the_interval_lies_within_the_threshold():
    c = compare(at(-0.001, 0.0, 0.001), at(0.004, 0.005, 0.006), "lower")  # significant, but +0.5 %
    assert c.verdict == "no_change" and "within the 2% threshold" in c.reason


def test_suspicious_when_significant_but_below_the_threshold():
    c = compare(at(-0.001, 0.0, 0.001), at(0.014, 0.015, 0.016), "lower")  # significant, +1.5 % < 2 %
    assert c.verdict == "suspicious" and "within the 2% threshold: a small real change" in c.reason
    assert c.ci[0] > 0 and c.ci[1] < 0.02
    # the mirror (a small improvement) and an info figure are never suspicious
    assert compare(at(0.014, 0.015, 0.016), at(-0.001, 0.0, 0.001), "lower").verdict == "no_change"
    assert compare(at(-0.001, 0.0, 0.001), at(0.014, 0.015, 0.016), "info").verdict == "no_change"


def test_suspicious_when_the_estimate_passes_the_threshold_but_the_interval_reaches_zero():
    c = compare(at(-0.01, 0.0, 0.01), at(0.015, 0.025, 0.035), "lower")  # +2.5 %, half-width 3.76 %
    assert c.verdict == "suspicious" and "the estimate is past the 2% threshold" in c.reason
    assert c.ci[0] < 0 < 0.02 < c.change
    assert compare(at(-0.01, 0.0, 0.01), at(0.015, 0.025, 0.035), "higher").verdict == "no_change"
    # as wide an interval, wider than noisy_width allows: noisy, not suspicious
    assert compare(at(-0.03, 0.0, 0.03), at(-0.005, 0.025, 0.055), "lower").verdict == "noisy"


def test_no_change_when_not_significant_and_the_interval_resolves_twice_the_threshold():
    c = compare(at(-0.01, 0.0, 0.01), at(-0.01, 0.0, 0.01), "lower")  # half-width 3.76 % <= 2.5 x 1.98 %
    assert c.verdict == "no_change" and c.change == pytest.approx(0.0, abs=1e-12)
    assert "not distinguishable from noise" in c.reason


def test_noisy_when_the_interval_is_wider_than_twice_the_threshold():
    c = compare(at(-0.03, 0.0, 0.03), at(-0.03, 0.0, 0.03), "lower")  # half-width 11.3 %
    assert c.verdict == "noisy"
    assert c.ci[0] < -0.10 and c.ci[1] > 0.10


def test_one_run_per_side_without_history_is_noisy_not_a_guess():
    c = compare(runs(1.0), runs(1.5), "lower")
    assert c.verdict == "noisy" and c.ci is None and c.noise is None
    assert c.change == pytest.approx(0.5)
    assert "run-to-run noise unknown" in c.reason


def test_prior_noise_stands_in_when_nothing_estimates_it():
    c = compare(runs(1.0), runs(1.5), "lower", CompareOptions(prior_noise=0.01))
    half = 2.575829 * math.log1p(0.01) * math.sqrt(2)
    assert c.verdict == "regression"
    assert c.ci == pytest.approx((1.5 * math.exp(-half) - 1, 1.5 * math.exp(half) - 1), abs=1e-6)


def test_history_supplies_the_noise_for_one_run_per_side():
    history = at(0.0, 0.01, 0.0, 0.01, 0.0)  # successive differences +-0.01: sigma sqrt(4e-4 / 8)
    c = compare(at(0.0), at(0.2), "lower", history=history)
    sigma, df = math.sqrt(5e-5), 2 * 16 / 11
    half = t_quantile(0.995, df) * sigma * math.sqrt(2)
    assert c.verdict == "regression" and c.history_runs == 5
    assert c.ci == pytest.approx((math.expm1(0.2 - half), math.expm1(0.2 + half)))


def test_history_noise_survives_a_step_and_a_broken_run():
    clean = history_noise([0, 0.001, 0, 0.001, 0, 0.001, 0])
    step = history_noise([0, 0.001, 0, 0.001, 0.05, 0.051, 0.05, 0.051])   # earlier commits 5 % apart
    broken = history_noise([0, 0.001, 0, 0.001, 0.3, 0.001, 0, 0.001, 0])  # one run 35 % slow
    for noise in (clean, step, broken):
        assert noise.sigma == pytest.approx(math.sqrt(0.5e-6))
    assert clean.df == pytest.approx(2 * 36 / 17)
    assert history_noise([0.0]) is None


def test_a_run_whose_repetitions_disagree_widens_the_interval():
    steady = [Run(reps=((1.00,), (1.00,), (1.00,))), Run(reps=((1.01,), (1.01,), (1.01,)))]
    head = [Run(reps=((1.10,), (1.10,), (1.10,))), Run(reps=((1.11,), (1.11,), (1.11,)))]
    odd = [Run(reps=((1.00,), (1.30,), (0.80,))), Run(reps=((1.01,), (1.01,), (1.01,)))]  # same level
    quiet, wide = compare(steady, head, "lower"), compare(odd, head, "lower")
    assert quiet.change == wide.change
    assert wide.ci[1] - wide.ci[0] > quiet.ci[1] - quiet.ci[0]


def test_insufficient_when_a_side_has_no_valid_run_with_samples():
    for base, head in ((runs(), runs(1.0)), ([Run(reps=((1.0,),), valid=False)], runs(1.0)),
                       (runs(1.0), [Run(reps=((),))])):
        c = compare(base, head, "lower")
        assert c.verdict == "insufficient" and c.change is None and c.ci is None
    assert compare(runs(0.0), runs(1.0), "lower").verdict == "insufficient"


def test_invalid_runs_are_not_counted():
    c = compare([*at(0.0, 0.01), Run(reps=((5.0,),), valid=False)], at(0.0, 0.01), "lower")
    assert c.base_runs == 2 and c.change == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("field, value", [
    ("threshold", 0.0), ("threshold", 1.0), ("threshold", True), ("threshold", math.nan), ("confidence", 1.0),
    ("confidence", 0.4), ("noisy_width", 0.5), ("prior_noise", 0.0), ("prior_noise", "0.01")])
def test_options_refuse_values_outside_their_range(field, value):
    with pytest.raises(ValueError, match=f"^{field}: must be "):
        CompareOptions(**{field: value})


def test_bad_direction_is_refused():
    with pytest.raises(ValueError, match="^direction: must be one of lower, higher, info"):
        compare(runs(1.0), runs(1.0), "faster")


def test_summarize_gives_the_worst_verdict_suspicious_after_regression():
    def c(verdict: str) -> Comparison:
        return Comparison(verdict, None, None, None, None, 1, 1, 0, None, "")
    assert summarize([c("no_change"), c("improvement")]) == "improvement"
    assert summarize([c("improvement"), c("insufficient")]) == "insufficient"
    assert summarize([c("insufficient"), c("noisy"), c("no_change")]) == "noisy"
    assert summarize(c(v) for v in ("noisy", "regression", "no_change")) == "regression"
    assert summarize(c(v) for v in ("noisy", "suspicious", "no_change")) == "suspicious"
    assert summarize(c(v) for v in ("suspicious", "regression")) == "regression"
    assert summarize([]) == "insufficient"


# --- JSON lines ---

def test_from_json_takes_one_run_or_several_per_side():
    base, head, history = from_json({"id": "x", "base": {"reps": [[1, 2], [3]]},
                                     "head": [{"reps": [[2]]}, {"reps": [[3]], "valid": False}],
                                     "history": [{"reps": [[1]]}]})
    assert base == [Run(reps=((1.0, 2.0), (3.0,)))]
    assert head == [Run(reps=((2.0,),)), Run(reps=((3.0,),), valid=False)]
    assert history == [Run(reps=((1.0,),))]
    assert from_json({"base": {"reps": [[1]]}, "head": {"reps": [[1]]}})[2] == []


@pytest.mark.parametrize("obj, message", [
    ([], "^line: must be a JSON object"),
    ({"base": {"reps": [[1]]}}, "^head: missing"),
    ({"base": 3, "head": {"reps": [[1]]}}, "^base: must be a run object or a list of run objects"),
    ({"base": {"reps": [[1]]}, "head": [{"x": 1}]}, "^head\\[0\\]: must be an object with \"reps\""),
    ({"base": {"reps": [1, 2]}, "head": {"reps": [[1]]}}, "^base.reps: must be a list of lists"),
    ({"base": {"reps": [["a"]]}, "head": {"reps": [[1]]}}, "^base.reps: samples must be finite numbers"),
    ({"base": {"reps": [[1]], "valid": "yes"}, "head": {"reps": [[1]]}}, "^base.valid: must be true or false"),
    ({"base": {"reps": [[1]]}, "head": {"reps": [[1]]}, "history": {"reps": [[1]]}},
     "^history: must be a list of run objects"),
])
def test_from_json_names_the_bad_field(obj, message):
    with pytest.raises(ValueError, match=message):
        from_json(obj)


def test_to_json():
    c = compare(at(-0.01, 0.0, 0.01), at(0.09, 0.10, 0.11), "lower")
    assert to_json("a", c) == {"id": "a", "verdict": "regression", "change": c.change, "ci": list(c.ci)}
    assert to_json(7, compare(runs(), runs(1.0), "lower"))["ci"] is None


# --- seeded synthetic check ---

def test_seeded_synthetic_pairs_alarm_rarely_and_catch_clear_changes():
    scores = Scores()
    for case in cases(seed=11, pairs=60, conditions=(QUIET, SHARED), layouts=(HIST_1_1, AB), changes=(0.0, 0.05)):
        c = compare(case.base, case.head, "lower", history=case.history)
        scores.add(case, "ours", c.verdict, c.ci)
    for layout in (HIST_1_1, AB):
        for cond in (QUIET, SHARED):
            zero = scores.get(layout.name, cond.name, "ours", 0.0)
            assert zero.pairs == 60 and zero.alarms <= 3  # a loose bound: 60 pairs cannot check 1 %
            assert sum(zero.verdicts.values()) == 60 and zero.verdicts["suspicious"] <= 3
            moved = scores.get(layout.name, cond.name, "ours", 0.05)
            assert moved.alarms == moved.caught  # an alarm is never in the wrong direction
            assert moved.covered >= 0.9 * moved.with_ci
    assert scores.get(AB.name, QUIET.name, "ours", 0.05).caught == 60
    assert scores.get(HIST_1_1.name, QUIET.name, "ours", 0.05).caught >= 50
    assert scores.get(AB.name, QUIET.name, "ours", 0.0).no_change >= 57


def test_imports_no_torch_database_or_cli():
    code = ("import sys, benchmark.analysis.compare, yardsticks.pairs, yardsticks.bench_compare; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'sqlalchemy', 'db', 'numpy') "
            "or m.startswith('benchmark.cli')]; print(bad); sys.exit(bool(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])  # yardsticks/ is not installed
    assert done.returncode == 0, done.stdout + done.stderr


def test_baselines_judge_pooled_samples():
    from yardsticks.bench_compare import asv_verdict, welch_verdict
    from yardsticks.pairs import Case

    def case(head_level: float) -> Case:
        base = (Run(reps=((1.00, 1.01) * 8,) * 5),)
        head = (Run(reps=((head_level, head_level * 1.01) * 8,) * 5),)
        return Case("x", "literal", "literal", head_level - 1, base, head, ())
    assert welch_verdict(case(1.05)) == "regression" and asv_verdict(case(1.05)) == "no_change"
    assert welch_verdict(case(1.01)) == "no_change"  # significant, but within the 2 % threshold
    assert welch_verdict(case(0.8)) == "improvement" and asv_verdict(case(0.8)) == "improvement"
    assert asv_verdict(case(1.2)) == "regression"


def test_synthetic_cases_are_reproducible_and_carry_their_true_change():
    first = list(cases(seed=3, pairs=2, conditions=(SHARED,), layouts=(HIST_1_1,), changes=(0.0, 0.05)))
    again = list(cases(seed=3, pairs=2, conditions=(SHARED,), layouts=(HIST_1_1,), changes=(0.0, 0.05)))
    assert first == again
    assert [c.true_change for c in first] == [0.0, 0.0, 0.05, 0.05]
    assert all(len(c.base) == len(c.head) == 1 and len(c.history) == 10 for c in first)
    assert all(len(r.reps) == 5 and all(len(rep) == 16 for rep in r.reps) for r in first[0].history)


def test_class_tables_give_every_verdict_share_of_each_cell():
    from yardsticks.bench_compare import CLASSES, class_tables

    scores = Scores()
    for case in cases(seed=4, pairs=20, conditions=(QUIET,), layouts=(AB,), changes=(0.0, 0.01)):
        c = compare(case.base, case.head, "lower", history=case.history)
        scores.add(case, "ours", c.verdict, c.ci)
    text = class_tables(scores)
    section = text[text.index(f"### {AB.name}: verdict classes"):]
    row = next(ln for ln in section.splitlines() if ln.startswith("| quiet | +0 % |"))
    shares = [float(x) for x in row.strip("|").split("|")[2:]]
    assert len(shares) == len(CLASSES) and sum(shares) == pytest.approx(100.0)
    assert "| shared | +0 % | - |" in text  # a cell with no pairs says so, not 0
