"""benchmark/analysis/validity.py on literal samples: each rule fires, names itself, and
stays quiet on a healthy run; unmeasured phases and idle samples are not judged; the
[validity] table is validated with one-line errors."""

from __future__ import annotations

import pytest

from benchmark.analysis.validity import (BIT, RULES, Rules, evaluate, reason_names, rules_from)
from benchmark.contracts.config import ConfigError
from benchmark.contracts.result import DeviceSample


def s(phase="decode", scenario="eager", **kw) -> DeviceSample:
    base = dict(time=0.0, scenario=scenario, phase=phase, cpu_util=100.0, mem_megabytes=10.0)
    return DeviceSample(**(base | kw))


def gpu(clock=1980.0, temp=60.0, reasons=0, others=0, phase="decode", **kw) -> DeviceSample:
    return s(phase=phase, sm_clock_mhz=clock, temperature_c=temp, throttle_reasons=reasons,
             gpu_other_processes=others, **kw)


def rules_of(verdict) -> list[str]:
    return [v.rule for v in verdict.violations]


def test_healthy_gpu_run_is_valid():
    v = evaluate([gpu(clock=c) for c in (1980, 1965, 1950, 1980)], Rules(), cpu_count=16)
    assert v.valid and v.violations == [] and v.samples == 4


def test_throttle_reason_fires_and_names_the_bits():
    samples = [gpu(), gpu(reasons=BIT["sw_power_cap"] | BIT["hw_slowdown"]), gpu(reasons=BIT["gpu_idle"])]
    v = evaluate(samples, Rules(), cpu_count=16)
    assert rules_of(v) == ["throttle"]
    assert v.violations[0].detail == "sw_power_cap, hw_slowdown in 1 of 3 samples"
    assert (v.violations[0].scenario, v.violations[0].phase) == ("eager", "decode")


def test_ignored_throttle_reasons_are_not_violations():
    samples = [gpu(reasons=BIT["gpu_idle"] | BIT["applications_clocks_setting"])] * 3
    assert evaluate(samples, Rules(), cpu_count=16).valid
    assert rules_of(evaluate(samples, Rules(ignore_throttle_reasons=()), 16)) == ["throttle"]
    assert evaluate([gpu(reasons=BIT["hw_slowdown"])], Rules(throttle=False), 16).valid


def test_unknown_bit_is_shown_in_hex():
    assert reason_names(0x4 | 0x800) == ["sw_power_cap", "bit 0x800"]


def test_sm_clock_below_share_of_run_max_fires_per_phase():
    samples = [gpu(clock=1980, phase="eager_forward")] * 3 + [gpu(clock=1500, phase="eager_decode")] * 3
    v = evaluate(samples, Rules(), cpu_count=16)
    assert rules_of(v) == ["sm_clock"]
    assert v.violations[0].phase == "eager_decode"
    assert "1500 MHz is 0.76 of the run's highest 1980 MHz" in v.violations[0].detail
    assert evaluate(samples, Rules(sm_clock_min_share=0.7), 16).valid
    assert evaluate(samples, Rules(sm_clock_min_share=None), 16).valid


def test_idle_samples_do_not_count_for_clocks():
    # an idle GPU clocks down by design: those samples are neither the max nor a low median
    samples = [gpu(clock=1980)] * 3 + [gpu(clock=300, reasons=BIT["gpu_idle"], phase="compile")] * 5
    assert evaluate(samples, Rules(), cpu_count=16).valid


def test_temperature_limit():
    v = evaluate([gpu(temp=70), gpu(temp=88), gpu(temp=91)], Rules(), cpu_count=16)
    assert rules_of(v) == ["temperature"]
    assert v.violations[0].detail == "91 C reached the limit 87 C in 2 of 3 samples"
    assert evaluate([gpu(temp=91)], Rules(temperature_limit_c=95), 16).valid


def test_other_gpu_process():
    v = evaluate([gpu(), gpu(others=2), gpu(others=1)], Rules(), cpu_count=16)
    assert rules_of(v) == ["gpu_processes"]
    assert v.violations[0].detail.startswith("up to 2 other process(es) on the GPU (allowed 0) in 2 of 3")
    assert evaluate([gpu(others=2)], Rules(max_other_gpu_processes=2), 16).valid


def test_cpu_load_from_other_processes_median_over_a_phase():
    busy = [s(cpu_other_util=v) for v in (150.0, 160.0, 20.0)]  # median 1.5 cores of 2
    v = evaluate(busy, Rules(), cpu_count=2)
    assert rules_of(v) == ["cpu_load"]
    assert v.violations[0].detail.startswith("other processes used 1.50 of 2 cores")
    quiet = [s(cpu_other_util=v) for v in (5.0, 180.0, 10.0)]  # one spike: median 0.1 cores
    assert evaluate(quiet, Rules(), cpu_count=2).valid
    assert evaluate(busy, Rules(max_other_cpu_share=0.8), cpu_count=2).valid
    assert evaluate(busy, Rules(), cpu_count=None).valid  # nothing to compare with


def test_unmeasured_phases_are_not_judged():
    samples = [gpu(reasons=BIT["hw_slowdown"], phase=p, cpu_other_util=400.0)
               for p in ("startup", "prepare", "eager_reference")]
    v = evaluate(samples, Rules(), cpu_count=2)
    assert v.valid and v.samples == 0
    assert rules_of(evaluate(samples, Rules(unmeasured_phases=()), cpu_count=2)) == ["throttle", "cpu_load"] * 3


def test_cpu_only_samples_leave_gpu_rules_silent():
    assert evaluate([s(cpu_other_util=0.0)] * 4, Rules(), cpu_count=2).valid


def test_violation_serialises_and_prints():
    v = evaluate([gpu(others=1)], Rules(), 16).violations[0]
    assert v.to_dict() == {"rule": "gpu_processes", "detail": v.detail, "scenario": "eager", "phase": "decode"}
    assert v.line().endswith("(eager/decode)") and v.line().startswith("gpu_processes: ")


def test_rules_from_table():
    r = rules_from({"sm_clock_min_share": 0.8, "temperature_limit_c": False, "max_other_cpu_share": 0.25,
                    "ignore_throttle_reasons": ["gpu_idle"], "unmeasured_phases": ["startup"]})
    assert r == Rules(sm_clock_min_share=0.8, temperature_limit_c=None, max_other_cpu_share=0.25,
                      ignore_throttle_reasons=("gpu_idle",), unmeasured_phases=("startup",))
    assert rules_from(None) == Rules() == rules_from({})
    assert set(RULES) == {"throttle", "sm_clock", "temperature", "gpu_processes", "cpu_load"}
    assert rules_from(Rules().to_dict()) == Rules()  # what a run stores reads back
    off = Rules(max_other_cpu_share=None, temperature_limit_c=None)
    assert rules_from(off.to_dict()) == off


@pytest.mark.parametrize("table, message", [
    ({"sm_clock": 0.9}, "unknown key(s) in [validity]: sm_clock (allowed: "),
    ({"sm_clock_min_share": 1.5}, "[validity] sm_clock_min_share must be a number from 0 to 1, or false (off)"),
    ({"max_other_gpu_processes": 0.5}, "[validity] max_other_gpu_processes must be an integer from 0 to 1000"),
    ({"temperature_limit_c": "hot"}, "[validity] temperature_limit_c must be a number"),
    ({"throttle": 1}, "[validity] throttle must be true or false, got 1"),
    ({"ignore_throttle_reasons": ["idle"]}, "[validity] ignore_throttle_reasons: unknown 'idle' (one of gpu_idle"),
    ({"unmeasured_phases": "startup"}, "[validity] unmeasured_phases must be a list of names"),
    ({"max_other_cpu_share": float("nan")}, "[validity] max_other_cpu_share must be a number"),
])
def test_bad_rules_are_one_line_errors(table, message):
    with pytest.raises(ConfigError) as e:
        rules_from(table)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_rules_table_must_be_a_table():
    with pytest.raises(ConfigError, match=r"^\[validity\] must be a table$"):
        rules_from(["x"])


# -- said once per run (contracts/violations.py) ------------------------------------------

def test_a_busy_machine_is_said_once_per_run_with_its_worst_phase():
    """A shared machine breaks cpu_load in every measured phase: one summary, not 11 lines."""
    from benchmark.contracts.violations import line, summary

    phases = [(sc, ph) for sc in ("eager", "compiled_decode", "load") for ph in ("forward", "decode", "prefill", "x")]
    samples = [s(phase=ph, scenario=sc, cpu_other_util=150.0 + 5 * i) for i, (sc, ph) in enumerate(phases[:11])]
    violations = evaluate(samples, Rules(), cpu_count=2).violations
    assert len(violations) == 11 and {v.rule for v in violations} == {"cpu_load"}
    said = summary(violations)
    assert said == ("cpu_load in 11 phases (eager/forward, eager/decode, eager/prefill and 8 more), worst: other "
                    "processes used 2.00 of 2 cores (median of 1 samples), above 0.5 of the machine (load/prefill)")
    whole = line([v.to_dict() for v in violations])  # as stored
    assert whole == f"INVALID (left out of compare and detect): {said}; " + (
        "to fix: a quieter runner, or turn the rule off in a [validity] rules file and judge again with "
        "`commitbench validate --rules FILE`")
    assert len(whole) < 400 and "\n" not in whole  # it was 1,374 characters: every phase's detail


def test_each_rule_once_its_worst_value_by_its_direction():
    from benchmark.contracts.violations import summary, value

    found = evaluate([gpu(clock=1980, phase="prefill"), gpu(clock=1500, phase="decode"),
                      gpu(clock=1200, phase="generate"), gpu(temp=95, phase="decode"), gpu(temp=99, phase="a")],
                     Rules(), cpu_count=16).violations
    said = summary(found)
    assert said.count("sm_clock") == 1 and said.count("temperature") == 1
    assert "worst: median SM clock 1200 MHz" in said  # lower is worse for a clock
    assert "worst: 99 C reached" in said  # higher is worse for a temperature
    assert all(value(v) is not None for v in found)
    assert summary([found[0]]) == found[0].line() and summary([]) == ""
