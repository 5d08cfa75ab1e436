"""Derived series from literal read models: which eager and compiled scenarios pair, and the
values (speedups, break-even tokens) one run gives."""

from __future__ import annotations

import pytest

from benchmark.verdicts import derived
from db.figures_read import Point, ScenarioPoints


def sp(kind: str, figures: dict[str, list[list[float]]], benchmark_id: int = 1, **params) -> ScenarioPoints:
    points = {n: Point(n, None, None, None, None, [v for r in reps for v in r], len(reps))
              for n, reps in figures.items()}
    return ScenarioPoints(benchmark_id, None, "main", None, None, None, None, None, None, "m", "succeeded", kind, kind,
                          f"key-{kind}-{sorted(params.items())}", "succeeded", None, [], points, params)


EAGER = {"eager_time_to_first_token_secs": [[0.030], [0.031], [0.029]],
         "eager_time_to_next_token_secs": [[0.020, 0.021], [0.020, 0.019], [0.020, 0.020]]}
COMPILED = {"time_to_first_token_secs": [[0.010], [0.010], [0.011]],
            "time_to_next_token_secs": [[0.010, 0.010], [0.010, 0.010], [0.010, 0.011]],
            "compile_prefill_time_secs": [[3.0]], "compile_decode_step_time_secs": [[2.0]]}


def test_values_of_one_run():
    v = derived.values(sp("eager", EAGER), sp("compiled_decode", COMPILED))
    assert v["compile_speedup_ttft"] == pytest.approx(3.0)
    assert v["compile_speedup_ttnt"] == pytest.approx(2.0)
    assert v[derived.BREAK_EVEN] == pytest.approx(5.0 / 0.010)


def test_no_break_even_when_compiling_saves_nothing():
    slow = COMPILED | {"time_to_next_token_secs": [[0.025]]}
    v = derived.values(sp("eager", EAGER), sp("compiled_decode", slow))
    assert derived.BREAK_EVEN not in v and v["compile_speedup_ttnt"] == pytest.approx(0.8)


def test_pairs_need_the_same_run_and_the_same_measurement():
    eager, compiled = sp("eager", EAGER, batch_size=1), sp("compiled_decode", COMPILED, batch_size=1)
    assert derived.pairs([eager, compiled]) == [(eager, compiled)]
    assert derived.pairs([eager, sp("compiled_decode", COMPILED, batch_size=4)]) == []
    assert derived.pairs([eager, sp("compiled_decode", COMPILED, benchmark_id=2, batch_size=1)]) == []
    quantized = sp("eager", EAGER, batch_size=1, quantization="bnb-8bit")
    assert derived.pairs([quantized, compiled]) == []  # compiled_decode is never quantized
    runs = derived.runs([eager, compiled])
    [(key, figures)] = runs.items()
    assert key == derived.key(eager, compiled) and figures["compile_speedup_ttnt"][0].reps == ((2.0,),)
