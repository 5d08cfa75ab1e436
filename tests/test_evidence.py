"""The evidence beside a regressed figure, on literal readings: which deltas are notable,
phase alignment, throttle bits, tallies, and the hints."""

from __future__ import annotations

import subprocess
import sys

from benchmark.analysis.evidence import CLOCKS_DOWN, HOST_BOUND, evidence


def test_gpu_util_falling_in_decode_is_host_bound():
    base = {"decode": {"gpu_util": [91, 92, 93], "cpu_util": [100, 101, 99], "sm_clock_mhz": [1980, 1980]}}
    head = {"decode": {"gpu_util": [70, 71, 72], "cpu_util": [100, 100, 102], "sm_clock_mhz": [1975, 1980]}}
    ev = evidence(base, head)
    assert [d.text for d in ev.deltas] == ["GPU util 92 → 71 % in decode"]
    assert ev.hints == (HOST_BOUND,)
    assert ev.summary() == "GPU util 92 → 71 % in decode; host-bound"


def test_below_the_notable_bars_nothing_is_said():
    base = {"decode": {"gpu_util": [90], "cpu_util": [100], "sm_clock_mhz": [2000], "mem_megabytes": [1000],
                       "temperature_c": [60]}}
    head = {"decode": {"gpu_util": [81], "cpu_util": [109], "sm_clock_mhz": [1910], "mem_megabytes": [1090],
                       "temperature_c": [64]}}
    ev = evidence(base, head)
    assert ev.deltas == () and ev.hints == ()
    assert ev.summary() == "no notable device or compile delta"


def test_only_phases_both_sides_have_are_compared():
    base = {"prefill": {"gpu_util": [90]}, "decode": {"gpu_util": [90]}}
    head = {"decode": {"gpu_util": [90]}, "compile": {"gpu_util": [10]}}
    ev = evidence(base, head)
    assert ev.phases == ("decode",) and ev.deltas == ()
    assert evidence({"prefill": {}}, {"decode": {}}).summary() == "device readings missing on one side or both"


def test_clock_drop_and_new_throttle_reasons_mean_clocks_down():
    base = {"decode": {"sm_clock_mhz": [1980, 1980], "throttle_reasons": [0, 4]}}
    head = {"decode": {"sm_clock_mhz": [1700, 1710], "throttle_reasons": [4, 0x20]}}
    ev = evidence(base, head)
    assert [d.text for d in ev.deltas] == ["SM clock 1980 → 1705 MHz in decode",
                                           "new throttle reasons 0x20 in decode"]
    assert ev.hints == (CLOCKS_DOWN,)
    # the same reasons on both sides are not news
    same = evidence({"decode": {"throttle_reasons": [4]}}, {"decode": {"throttle_reasons": [4, 0]}})
    assert same.deltas == ()


def test_memory_is_relative_and_a_cpu_rise_with_gpu_fall_is_still_host_bound():
    base = {"decode": {"gpu_mem_megabytes": [1000.0], "gpu_util": [95], "cpu_util": [100]}}
    head = {"decode": {"gpu_mem_megabytes": [1200.0], "gpu_util": [60], "cpu_util": [180]}}
    ev = evidence(base, head)
    assert [d.quantity for d in ev.deltas] == ["gpu_util", "cpu_util", "gpu_mem_megabytes"]
    assert HOST_BOUND in ev.hints
    # GPU and CPU both idle: waiting on something else, not host-bound
    idle = evidence({"decode": {"gpu_util": [95], "cpu_util": [100]}}, {"decode": {"gpu_util": [60], "cpu_util": [50]}})
    assert HOST_BOUND not in idle.hints


def test_compile_tallies_any_change_and_hints_for_rises():
    ev = evidence({}, {}, tallies={"graph_breaks": ([0], [2]), "recompiles_during_measurement": ([1], [3]),
                                   "graphs_compiled": ([2], [2])})
    assert [d.text for d in ev.deltas] == ["graph breaks 0 → 2", "recompiles 1 → 3"]
    assert ev.hints == ("more graph breaks", "recompiling")


def test_imports_no_torch_database_or_cli():
    code = ("import sys, benchmark.analysis.evidence; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'sqlalchemy', 'db', 'numpy') "
            "or m.startswith('benchmark.cli')]; sys.exit(bool(bad))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
