"""The seed's entry point `python benchmark/llama.py BRANCH COMMIT_ID COMMIT_MSG`: the one
full default-suite run of the test suite (load, eager, compiled_decode, compiled_generate)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmark.contracts.result import SEED_KEYS
from helpers import REPO, read_run, run_uid

# load has no new_tokens: the config's default does not rename it
SCENARIOS = ["load", "eager[new_tokens=6]", "compiled_decode[new_tokens=6]", "compiled_generate[new_tokens=6]"]


def seed(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "benchmark/llama.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


def seed_in_process(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, str]:
    """The script run in this process (runpy, as `python benchmark/llama.py ARGS` runs it) for
    the checks made before any run: (exit code, stderr)."""
    import os
    import runpy

    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    script = REPO / "benchmark" / "llama.py"
    monkeypatch.setattr(sys, "argv", [str(script), *args])
    monkeypatch.setattr(sys, "path", [str(script.parent), *sys.path])  # the script replaces sys.path[0]
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(script), run_name="__main__")
    return done.value.code, capsys.readouterr().err


@pytest.mark.slow
def test_full_default_suite(cb):
    config = cb.root / "commitbench.toml"
    config.write_text('model = "micro-llama"\ninductor_cache = "shared"\nsample_interval_ms = 50\n'
                      "[defaults]\nnew_tokens = 6\nrepetitions = 2\nwarmup = 1\n")
    env = dict(cb.env, COMMITBENCH_CONFIG=str(config))
    r = seed(["my-branch", "0123abcd", "seed message"], env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    assert cb.sqlite_path.is_file()
    assert "transformers' benchmark figures (13/13 filled)" in r.stdout

    got = read_run(cb.default_url, run_uid(r.stdout))
    b = got["benchmark"]
    assert (b["branch"], b["commit_id"], b["commit_message"], b["commit_message_full"]) == (
        "my-branch", "0123abcd", "seed message", "seed message")
    assert b["status"] == "succeeded" and b["model_id"] == "micro-llama" and b["gpu_name"] == "cpu"
    assert b["config"]["inductor_cache"] == "shared" and b["config"]["sample_interval_ms"] == 50

    assert set(got["scenarios"]) == set(SCENARIOS)
    for name, s in got["scenarios"].items():
        assert s["status"] == "succeeded", (name, s["error"], s["stderr_tail"])
        assert s["params"]["compile_mode"] == "reduce-overhead"  # the seed's mode by default
    keys = {s["series_key"] for s in got["scenarios"].values()}
    assert len(keys) == 4 and {r["series_key"] for r in got["metrics"].values()} == keys

    (mm,) = got["model_measurements"]
    assert set(mm["measurements"]) == set(SEED_KEYS)
    assert all(isinstance(v, float) and v > 0 for v in mm["measurements"].values()), mm["measurements"]

    m = got["metrics"]
    decode, generate = SCENARIOS[2], SCENARIOS[3]
    for name in (decode, generate):
        match = m[(name, "tokens_match_eager")]
        assert match["samples"] and set(match["samples"]) == {1.0}
        assert m[(name, "graphs_compiled")]["samples"][0] >= 1
        assert m[(name, "graph_breaks")]["samples"] == [0.0]
        info = got["scenarios"][name]["info"]
        assert info["cudagraphs"] is False and info["compile_mode"] == "reduce-overhead"
        assert got["scenarios"][name]["flags"] == []
    assert m[(decode, "recompiles_during_measurement")]["samples"] == [0.0]
    assert m[(decode, "tokens_match_eager")]["n"] == 2
    assert m[(decode, "time_to_next_token_secs")]["n"] == 2 * (6 - 1)
    assert m[(decode, "time_to_next_token_tight_loop_secs")]["n"] == 2
    assert m[(generate, "tokens_match_eager")]["n"] == 4  # max(4 seed calls, 1 + warmup + repetitions)
    assert m[(SCENARIOS[1], "decode_matches_generate")]["samples"] == [1.0]
    # the compiled scenarios' greedy tokens are the eager ones
    eager_tokens = got["scenarios"][SCENARIOS[1]]["info"]["eager_tokens"]
    assert got["scenarios"][decode]["info"]["eager_tokens"] == eager_tokens
    assert len(eager_tokens[0]) == 6
    # the energy meter's block ran on the CPU: no counter, and the reason stored beside the NULL
    assert got["scenarios"][decode]["info"]["energy_per_token_joules_unmeasured"] == "no GPU energy counter on cpu"

    phases = {d["phase"] for d in got["devices"]}
    # sampled every 50 ms: the long phases always hold a sample; decode (12 micro-llama steps, followed
    # by the drift phase) can end between two samples on a quiet machine
    assert {"compile", "load"} <= phases
    assert {d["scenario"] for d in got["devices"]} == set(SCENARIOS)
    assert [p["name"] for p in got["scenarios"][decode]["phases"]] == ["load", "eager_reference", "compile",
                                                                       "decode", "drift"]  # drift: the KL, after


@pytest.mark.parametrize("args", [[], ["only-branch"], ["b", "abcd"], ["b", "abcd", "m", "extra"]])
def test_wrong_argument_count(cb, args, monkeypatch, capsys):
    code, stderr = seed_in_process(args, cb.env, monkeypatch, capsys)
    assert code == 2
    assert stderr.strip() == "commitbench: error: usage: python benchmark/llama.py BRANCH COMMIT_ID COMMIT_MSG"
    assert not cb.home.exists()


def test_message_starting_with_dash_is_a_message(cb, monkeypatch, capsys):
    """`--opt=value`: a commit message like "-x" or "--help" must not be read as an option;
    here it reaches validation (the bad commit id) instead of argparse."""
    code, stderr = seed_in_process(["b", "not-hex", "--help"], cb.env, monkeypatch, capsys)
    assert code == 2
    assert stderr.strip() == "commitbench: error: invalid commit id 'not-hex': expected 4-64 hexadecimal characters"
    assert not cb.home.exists()
