"""benchmark/cli/table.py: what a person reads, from literal results."""

from __future__ import annotations

import io

from benchmark.cli.table import metric_row, print_outcome, print_result
from benchmark.contracts.result import Metric
from benchmark.contracts.units import fmt
from benchmark.run.keep import Kept
from benchmark.run.runner import RunOutcome
from benchmark.run.storage import RunStore
from results import make_result


def test_units():
    assert fmt(0.0123, "s") == "12.300 ms" and fmt(2.5, "s") == "2.500 s"
    assert fmt(3 * 2**20, "bytes") == "3.0 MiB" and fmt(99.94, "tokens/s") == "99.9 tok/s"
    assert fmt(2.0, "count") == "2"


def test_checks_are_not_shown_as_timings():
    assert metric_row(Metric.of("tokens_match_eager", [1, 1, 1])).split() == ["tokens_match_eager", "yes", "3/3"]
    assert metric_row(Metric.of("tokens_match_eager", [1, 0, 1])).split() == ["tokens_match_eager", "NO", "2/3"]
    assert metric_row(Metric.of("graph_breaks", [0])).split() == ["graph_breaks", "0"]
    row = metric_row(Metric.of("time_to_next_token_secs", [0.01, 0.02, 0.03]))
    assert row.split()[:3] == ["time_to_next_token_secs", "20.000", "ms"] and "p90" in row and "n=3" in row


def test_the_table_names_every_scenario_and_seed_figure():
    out = io.StringIO()
    result = make_result()
    print_result(result, out, series=True)
    text = out.getvalue()
    assert f"commitbench run {result.run_uid}: SUCCEEDED" in text
    assert "compiled_generate[compile_mode=reduce-overhead]: FAILED - subprocess died of SIGSEGV" in text
    assert f"(series {result.series_key(result.scenarios[0])})" in text
    assert "transformers' benchmark figures (5/13 filled):" in text
    assert "WARNING: warm" in text


def test_outside_text_is_escaped():
    result = make_result()
    result.branch = "x\x1b]0;owned\x07"
    result.scenarios[2].error = "died \x1b[2J"
    out = io.StringIO()
    print_result(result, out)
    assert "\x1b" not in out.getvalue() and "x\\x1b]0;owned\\x07" in out.getvalue()


def test_where_the_result_went():
    store = RunStore("postgresql+psycopg2://nobody@127.0.0.1:1/x", auto_upgrade=False)
    store.error = "OperationalError: connection refused"
    kept = Kept(spool_path=None, spool_errors=["/s/r.json: Not a directory"],
                json_path=None, json_error="/j/r.json: Permission denied", on_stderr=True)
    out = io.StringIO()
    print_outcome(RunOutcome(result=make_result(), store=store, kept=kept, cancelled_by=None), out)
    lines = out.getvalue().splitlines()[-4:]
    assert lines == ["  database unavailable: OperationalError: connection refused",
                     "  could not spool to /s/r.json: Not a directory",
                     "  nothing could be written to disk: the result is on stderr, as JSON",
                     "  could not write the JSON file /j/r.json: Permission denied"]
