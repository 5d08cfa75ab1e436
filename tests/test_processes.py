"""`commitbench run --processes K`: each scenario in K worker processes, stored as one run
whose figures carry their process (benchmark/run/processes.py, metrics.processes), read back
by process (figures_read.Point.processes_reps) so compare counts each process as a run.

Fast tier: the config key, the merge of K processes' figures, a real failing worker in a
2-process run, the store and spool round trip on both databases, compare on stored runs.
Slow tier: real torch.compile of micro-llama in 2 processes per scenario, end to end."""

from __future__ import annotations

import json
import math
import random

import pytest
from sqlalchemy import select

from benchmark.contracts.config import ConfigError, build_config
from benchmark.contracts.jobs import ScenarioOutput
from benchmark.contracts.result import FAILED, SUCCEEDED, Metric, Phase, RunResult, ScenarioResult
from benchmark.contracts.stats import by_process, repetitions
from benchmark.run.launcher import Outcome
from benchmark.run.processes import ProcessRun, apply, merge_metrics
from db.figures_read import of_runs
from db.models import Benchmark, MetricRow
from db.query import load_result
from db.session import make_engine, session_scope
from db.store import Store
from helpers import FAST, IDENT, cli_in_process, read_run, run_cli, run_uid
from results import make_result

# -- the config key --------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 17, -1, "2", 1.5, True, None])
def test_processes_outside_1_to_16_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError) as e:
        build_config({"processes": value})
    assert str(e.value) == f"processes must be an integer from 1 to 16, got {value!r}"


def test_one_process_hashes_and_stores_as_before_the_key_existed():
    one, two = build_config({}), build_config({"processes": 2})
    assert "processes" not in one.to_dict() and two.to_dict()["processes"] == 2
    assert one.hash() != two.hash()
    assert build_config({"processes": 1}).hash() == one.hash()
    assert build_config({}, {"processes": 3}).processes == 3  # the command line's, as --processes gives it


@pytest.mark.parametrize("args, message", [
    (["--processes", "0"], "processes must be an integer from 1 to 16, got 0"),
    (["--processes", "17"], "processes must be an integer from 1 to 16, got 17"),
    (["--processes", "two"], "argument --processes: invalid int value: 'two'"),
])
def test_run_refuses_a_bad_processes_count_and_writes_nothing(cb, args, message):
    files = cb.root / "files"
    files.mkdir()
    r = cli_in_process(["run", *IDENT, "--model", "micro-llama", "--scenarios", "load", *args], cb.env, cwd=files)
    assert r.returncode == 2 and r.stdout == ""
    line = r.stderr.splitlines()[-1]  # argparse's own refusal (not an int) comes after its usage, as for --repetitions
    assert line.startswith("commitbench run: error: " if "invalid int" in message else
                           "commitbench: error: ")
    assert message in line, line
    assert not cb.home.exists() and not list(cb.tmp.iterdir())


def test_a_config_file_may_set_processes(cb):
    files = cb.root / "files"
    files.mkdir()
    (files / "c.toml").write_text('model = "micro-llama"\nprocesses = 40\n')
    r = cli_in_process(["run", *IDENT, "--config", str(files / "c.toml"), "--scenarios", "load"], cb.env, cwd=files)
    assert r.returncode == 2 and "processes must be an integer from 1 to 16, got 40" in r.stderr


def cb_env_less() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_help_names_the_option():
    r = cli_in_process(["run", "--help"], cb_env_less())
    assert r.returncode == 0 and "--processes" in r.stdout


# -- merging the processes' figures -----------------------------------------------------


def _outcome(metrics: list[Metric] | None, status: str = SUCCEEDED, t: float = 0.0, error: str | None = None,
             flags: tuple[str, ...] = ()) -> Outcome:
    output = ScenarioOutput(metrics=metrics, info={"weight_bytes": 10, "at": t}, flags=list(flags)) \
        if metrics is not None else None
    return Outcome(status=status, started_at=t, finished_at=t + 1, exit_code=0 if status == SUCCEEDED else 1,
                   error=error, stderr_tail=None if status == SUCCEEDED else "Traceback\nRuntimeError: boom",
                   phases=[Phase("load", t, t + 0.5), Phase("decode", t + 0.5, t + 1)], output=output)


def _figures(level: float) -> list[Metric]:
    return [Metric.of("time_to_next_token_mean_secs", [level, level * 1.01, level * 0.99]),  # per repetition
            Metric.of("time_to_next_token_secs", [level] * 6),  # pooled: 2 steps x 3 repetitions
            Metric.of("compile_prefill_time_secs", [level * 100]),  # a cold compile
            Metric.of("peak_rss_bytes", [1e6 * level]),  # one call
            Metric.of("energy_per_token_joules", [])]  # unmeasured here


def test_processes_figures_concatenate_in_equal_shares_and_compile_time_is_the_first_process():
    merged, uneven = merge_metrics([_figures(1.0), _figures(2.0)])
    by = {m.name: m for m in merged}
    assert uneven == [] and list(by) == [m.name for m in _figures(1.0)]
    assert by["time_to_next_token_mean_secs"].samples == [1.0, 1.01, 0.99, 2.0, 2.02, 1.98]
    assert by["time_to_next_token_mean_secs"].processes == 2
    assert by["time_to_next_token_mean_secs"].stats.n == 6
    assert by["time_to_next_token_secs"].samples == [1.0] * 6 + [2.0] * 6 and by["time_to_next_token_secs"].processes == 2
    assert by["compile_prefill_time_secs"].samples == [100.0] and by["compile_prefill_time_secs"].processes == 1
    assert by["peak_rss_bytes"].samples == [1e6, 2e6] and by["peak_rss_bytes"].processes == 2
    assert by["energy_per_token_joules"].samples == [] and by["energy_per_token_joules"].stats is None


def test_a_figure_with_uneven_processes_is_kept_from_the_first_and_named():
    a, b = [Metric.of("time_to_next_token_secs", [1.0, 1.0])], [Metric.of("time_to_next_token_secs", [2.0])]
    merged, uneven = merge_metrics([a, b])
    assert merged[0].samples == [1.0, 1.0] and merged[0].processes == 1 and uneven == ["time_to_next_token_secs"]


def test_one_process_is_exactly_the_one_process_result():
    figures = _figures(1.0)
    scenario = ScenarioResult(name="s", kind="compiled_decode", params={})
    apply(scenario, [ProcessRun(_outcome(figures, flags=("a", "a")), [], {"n": 3})], 1)
    assert scenario.metrics is figures and scenario.flags == ["a", "a"]
    assert scenario.info == {"sampler": {"n": 3}, "weight_bytes": 10, "at": 0.0}
    assert (scenario.status, scenario.error, scenario.started_at, scenario.finished_at) == (SUCCEEDED, None, 0.0, 1.0)


def test_a_failing_process_fails_the_scenario_saying_which_and_keeps_the_others_figures():
    runs = [ProcessRun(_outcome(_figures(1.0), t=0, flags=("x",)), [], {"n": 1}),
            ProcessRun(_outcome(_figures(1.1), t=2, flags=("y", "x")), [], {"n": 2}),
            ProcessRun(_outcome(None, FAILED, t=4, error="worker exited with code 1: RuntimeError: boom"), [],
                       {"n": 3})]
    scenario = ScenarioResult(name="s", kind="compiled_decode", params={})
    apply(scenario, runs, 3)
    assert scenario.status == FAILED
    assert scenario.error == "process 3/3: worker exited with code 1: RuntimeError: boom"
    assert scenario.stderr_tail.endswith("RuntimeError: boom") and scenario.exit_code == 1
    by = {m.name: m for m in scenario.metrics}
    assert by["time_to_next_token_mean_secs"].processes == 2 and len(by["time_to_next_token_mean_secs"].samples) == 6
    assert scenario.flags == ["x", "y"] and scenario.info["sampler"] == {"n": 1}
    assert [p["status"] for p in scenario.info["processes"]] == [SUCCEEDED, SUCCEEDED, FAILED]
    assert (scenario.started_at, scenario.finished_at) == (0, 5) and len(scenario.phases) == 6


def test_repetitions_split_back_by_process():
    # per-repetition, pooled and one-call figures of 2 processes x 3 repetitions
    assert by_process(repetitions([1, 2, 3, 4, 5, 6], 6), 2) == [[[1], [2], [3]], [[4], [5], [6]]]
    assert by_process(repetitions(list(range(12)), 6), 2) == [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]
    assert by_process(repetitions([7, 8], 6), 2) == [[[7]], [[8]]]
    assert by_process(repetitions([7], 3), 1) == [[[7]]]
    assert by_process([[1], [2], [3]], 2) == [[[1], [2], [3]]]  # does not divide: one share, never a wrong split


# -- a real worker in a 2-process run ------------------------------------------------------


def test_a_scenario_failing_in_its_first_process_runs_no_second(tmp_path, sqlite_url, bench_cache, monkeypatch):
    from benchmark.models import resolve_model
    from benchmark.run.runner import RunRequest, Runner

    monkeypatch.setenv("COMMITBENCH_CACHE", str(bench_cache))
    cfg = build_config({"model": "micro-llama", "sample_interval_ms": 20, "processes": 2},
                       {"kinds": ["selftest_error"]}).resolve("cpu")
    req = RunRequest(config=cfg, source=resolve_model("micro-llama", cuda=False), branch="b", commit="abcd",
                     message="m", repository=None, db_url=sqlite_url, auto_upgrade=True, spool_dir=tmp_path / "spool")
    lines: list[str] = []
    outcome = Runner(req, lines.append).execute()
    (s,) = outcome.result.scenarios
    assert s.status == FAILED and s.error.startswith("process 1/2: worker exited with code 1")
    assert "RuntimeError: selftest scenario raised on purpose" in s.error
    assert [p["process"] for p in s.info["processes"]] == [1]
    assert "    scenario selftest_error process 1/2" in lines and "    scenario selftest_error process 2/2" not in lines
    stored = read_run(sqlite_url, outcome.result.run_uid)
    assert stored["scenarios"]["selftest_error"]["error"] == s.error
    assert stored["benchmark"]["config"]["processes"] == 2


# -- the store, the spool, the read side ----------------------------------------------------


def _two_process_result(uid: str) -> RunResult:
    result = make_result(uid)
    eager = result.scenarios[0]
    eager.params["repetitions"] = 3
    merged, _ = merge_metrics([_figures(1.0), _figures(2.0)])
    eager.metrics += merged
    result.scenarios = [eager]
    return result


def test_processes_round_trip_through_the_store_and_the_spool_file(store, tmp_path):
    result = _two_process_result("00000000-0000-4000-8000-000000000001")
    spool = tmp_path / "spool.json"
    spool.write_text(result.to_json())
    again = RunResult.load(spool)
    assert [m.processes for m in again.scenarios[0].metrics] == [m.processes for m in result.scenarios[0].metrics]
    store.ingest(again)
    with session_scope(store.engine) as s:
        rows = {m.name: m.processes for m in s.scalars(select(MetricRow))}
        assert rows["time_to_next_token_mean_secs"] == 2 and rows["peak_rss_bytes"] == 2
        assert rows["compile_prefill_time_secs"] is None  # one process: NULL, as before 0009
        assert rows["first_eager_forward_pass_time_secs"] is None
        loaded = load_result(s, s.scalars(select(Benchmark)).one())
        by = {m.name: m for m in loaded.scenarios[0].metrics}
        assert by["time_to_next_token_mean_secs"].processes == 2 and by["compile_prefill_time_secs"].processes == 1
        (eager,) = [sp for sp in of_runs(s, [1]) if sp.scenario == "eager"]
        p = eager.figures["time_to_next_token_mean_secs"]
        assert p.processes_reps == [[[1.0], [1.01], [0.99]], [[2.0], [2.02], [1.98]]]
        assert len(p.reps) == 6
        assert eager.figures["time_to_next_token_secs"].processes_reps == [[[1.0, 1.0]] * 3, [[2.0, 2.0]] * 3]
        assert eager.figures["compile_prefill_time_secs"].processes_reps == [[[100.0]]]


def test_replay_reads_every_process_repetitions():
    from benchmark.cli.replay import _figures

    figures = _figures(_two_process_result("00000000-0000-4000-8000-000000000003"))
    assert figures[("eager", "time_to_next_token_mean_secs")][1] == [[1.0], [1.01], [0.99], [2.0], [2.02], [1.98]]
    assert figures[("eager", "time_to_next_token_secs")][1] == [[1.0, 1.0]] * 3 + [[2.0, 2.0]] * 3


def test_show_says_how_many_processes_a_figure_came_from(cb, sqlite_url):
    store = Store(sqlite_url)
    store.open(auto_upgrade=True)
    store.ingest(_two_process_result("00000000-0000-4000-8000-000000000002"))
    store.close()
    r = cli_in_process(["show", "00000000", "--db", sqlite_url], cb.env)
    assert r.returncode == 0, r.stderr
    table = r.stdout.split("transformers' benchmark figures")[0]  # the scenarios' rows, not the seed's
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith("    ")}
    assert rows["time_to_next_token_mean_secs"].endswith("n=6 in 2 processes")
    assert "processes" not in rows["compile_prefill_time_secs"]
    r = cli_in_process(["history", "--db", sqlite_url, "--branch", "feature/ünïcode-branch", "--scenario", "eager",
                        "--metric", "time_to_next_token_mean_secs"], cb.env)
    assert r.returncode == 0 and "6 in 2 processes" in r.stdout, r.stdout + r.stderr


def _decode_run(commit: str, i: int, level: float, rng: random.Random, processes: int) -> RunResult:
    """One run of one eager scenario whose figure has `processes` processes of 3 repetitions:
    each process its own offset (1 % sd), each repetition 0.2 % around it."""
    result = make_result(f"00000000-0000-4000-8000-{i:012d}")
    result.commit_id, result.branch, result.started_at = commit, "main" if commit[0] == "a" else "pr", 1000.0 + i
    eager = result.scenarios[0]
    eager.params["repetitions"] = 3
    per = []
    for _ in range(processes):
        offset = level * math.exp(rng.gauss(0, 0.01))
        per.append([Metric.of("eager_time_to_next_token_secs", [offset * math.exp(rng.gauss(0, 0.002))
                                                                for _ in range(3)])])
    eager.metrics = merge_metrics(per)[0]
    result.scenarios = [eager]
    return result


def test_compare_counts_each_process_as_a_run_and_decides_from_one_run_a_side(sqlite_url, capsys):
    """One stored run a side with no history: with one process it cannot estimate the noise
    (noisy); with 4 processes a side the processes' spread is the noise, and a 10 % slowdown
    is a regression."""
    from benchmark.cli import main

    store = Store(sqlite_url)
    store.open(auto_upgrade=True)
    rng = random.Random(3)
    for i, (commit, level, k) in enumerate([("a" * 40, 0.010, 1), ("b" * 40, 0.011, 1),
                                            ("c" * 40, 0.010, 4), ("d" * 40, 0.011, 4)]):
        store.ingest(_decode_run(commit, i + 1, level, rng, k))
    store.close()

    def figure(base: str, head: str) -> dict:
        main(["compare", "--base", base, "--head", head, "--history", "0", "--format", "json", "--db", sqlite_url])
        doc = json.loads(capsys.readouterr().out)
        (fig,) = [f for s in doc["series"] for f in s["figures"] if f["figure"] == "eager_time_to_next_token_secs"]
        return doc, fig

    doc, one = figure("a" * 8, "b" * 8)
    assert (one["base_runs"], one["head_runs"], one["verdict"]) == (1, 1, "noisy")
    doc, four = figure("c" * 8, "d" * 8)
    assert doc["base"]["runs"] == 1 and doc["head"]["runs"] == 1  # stored runs
    assert (four["base_runs"], four["head_runs"]) == (4, 4)
    assert four["verdict"] == "regression" and 0.05 < four["change"] < 0.15


# -- end to end: real compiled decode of micro-llama in 2 processes --------------------------


@pytest.mark.slow
def test_run_with_two_processes_stores_one_run_that_compare_counts_as_two(cb):
    cmd = ["run", *FAST, "--scenarios", "compiled_decode", "--compile-mode", "default", "--processes", "2",
           "--inductor-cache", "fresh", "--message", "m", "--branch", "main"]
    first = run_cli([*cmd, "--commit", "aaaa1111"], cb.env, timeout=900)
    assert first.returncode == 0, first.stderr
    stored = read_run(cb.default_url, run_uid(first.stdout))
    (name,) = stored["scenarios"]
    for k in (1, 2):
        assert f"    scenario {name} process {k}/2" in first.stderr
    assert "in 2 processes" in first.stdout
    assert stored["benchmark"]["config"]["processes"] == 2
    m = {fig: row for (_, fig), row in stored["metrics"].items()}
    assert m["time_to_next_token_mean_secs"]["processes"] == 2 and m["time_to_next_token_mean_secs"]["n"] == 4
    assert m["time_to_next_token_secs"]["processes"] == 2 and m["time_to_next_token_secs"]["n"] == 2 * 2 * 5
    assert m["compile_prefill_time_secs"]["processes"] is None and m["compile_prefill_time_secs"]["n"] == 1
    assert m["tokens_match_eager"]["samples"] == [1.0] * 4
    info = stored["scenarios"][name]["info"]
    assert [p["status"] for p in info["processes"]] == ["succeeded", "succeeded"]
    phases = [p["name"] for p in stored["scenarios"][name]["phases"]]
    assert phases.count("compile") == 2 and phases.count("decode") == 2

    second = run_cli([*cmd, "--commit", "bbbb2222"], cb.env, timeout=900)
    assert second.returncode == 0, second.stderr
    r = run_cli(["compare", "--base", "aaaa1111", "--head", "bbbb2222", "--history", "0", "--format", "json"], cb.env)
    assert r.returncode in (0, 8, 9), r.stderr
    doc = json.loads(r.stdout)
    assert doc["base"]["runs"] == 1 and doc["head"]["runs"] == 1
    figs = {f["figure"]: f for s in doc["series"] for f in s["figures"]}
    assert (figs["time_to_next_token_mean_secs"]["base_runs"], figs["time_to_next_token_mean_secs"]["head_runs"]) \
        == (2, 2)
    assert figs["time_to_next_token_mean_secs"]["ci"] is not None  # the processes' spread is a noise estimate
    assert (figs["compile_prefill_time_secs"]["base_runs"], figs["compile_prefill_time_secs"]["head_runs"]) == (1, 1)
