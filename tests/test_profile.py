"""One profiled repetition (worker/profile.py) with real torch.profiler (and ONNX Runtime's own
profiler) on CPU, in this process on micro-llama, for every scenario whose figure a profile
explains; the `profile` switch (config, run options, ab and bisect); where the runner keeps the
trace."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmark.cli.common import run_options
from benchmark.contracts import codec
from benchmark.contracts.config import ConfigError, ScenarioParams, build_config
from benchmark.contracts.jobs import ScenarioJob, ScenarioOutput, encode_job
from benchmark.contracts.profile import OUTSIDE, TOKEN_TIME_FIGURE, ProfileSummary, token_seconds
from benchmark.contracts.result import ScenarioResult
from benchmark.flows.measure import profiled
from benchmark.models import build_synthetic, checkpoint_dir, resolve_model
from benchmark.run import traces
from benchmark.worker.__main__ import main
from benchmark.worker.profile import CALL_NOTE

NEW_TOKENS, REPETITIONS = 6, 2


@pytest.fixture
def checkpoint(bench_cache, monkeypatch):
    monkeypatch.setenv("COMMITBENCH_CACHE", str(bench_cache))
    return build_synthetic("micro-llama", "float32", 0, "cpu",
                           checkpoint_dir(resolve_model("micro-llama", False), "float32", 0))


def eager_job(tmp_path, checkpoint, capsys, profile: bool, kind: str = "eager",
              **params: Any) -> tuple[ScenarioOutput, list[str]]:
    """A scenario's job in process (the eager one unless told); its output and the phases it
    reported (on stderr), in order."""
    params = ScenarioParams(kind=kind, **{"new_tokens": NEW_TOKENS, "prompt_length": 8, "repetitions": REPETITIONS,
                                          "warmup": 0, "dtype": "float32", **params})
    job = ScenarioJob(params=params, model_path=str(checkpoint), device="cpu", seed=0,
                      profile_dir=str(tmp_path / "profile") if profile else None)
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "spec.json").write_text(json.dumps(encode_job(job)))
    rng = torch.random.get_rng_state()
    capsys.readouterr()
    try:
        assert main([str(tmp_path / "spec.json"), str(tmp_path / "out.json")]) == 0
    finally:
        torch.random.set_rng_state(rng)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    return (codec.loads(ScenarioOutput, (tmp_path / "out.json").read_text()),
            [e["name"] for e in events if e.get("event") == "phase"])


def test_a_profiled_eager_run_summarizes_its_operators_per_token(tmp_path, checkpoint, capsys):
    out, phases = eager_job(tmp_path, checkpoint, capsys, profile=True)
    summary = ProfileSummary.from_info(out.info)
    assert summary.tokens == NEW_TOKENS - 1 and summary.device == "cpu" and summary.kernels == []
    ops = {o.name: o for o in summary.operators}
    # the linear layers' matrix multiplies, on whichever path this torch takes them
    mm = [ops[n] for n in ("aten::mm", "aten::addmm", "aten::linear") if n in ops]
    assert mm and all(o.calls_per_token > 0 and o.self_us_per_token > 0 for o in mm)
    assert ops["aten::linear"].total_us_per_token >= ops["aten::linear"].self_us_per_token
    assert OUTSIDE in ops and ops[OUTSIDE].calls_per_token == 0
    # exact counts: every decode step calls the model's linear layers the same number of times
    assert all(o.calls_per_token == round(o.calls_per_token) for o in mm)
    with gzip.open(summary.trace) as f:
        trace = json.load(f)
    assert any(e.get("name") == "aten::linear" for e in trace["traceEvents"])
    # the profile comes after every measured repetition
    assert phases.index("profile") > phases.index("eager_decode")


def test_the_figures_of_a_profiled_run_come_from_the_unprofiled_repetitions(tmp_path, checkpoint, capsys):
    plain, _ = eager_job(tmp_path / "plain", checkpoint, capsys, profile=False)
    profiled_out, _ = eager_job(tmp_path / "profiled", checkpoint, capsys, profile=True)
    assert ProfileSummary.from_info(plain.info) is None
    a, b = ({m.name: m for m in o.metrics} for o in (plain, profiled_out))
    assert a.keys() == b.keys()
    for name in a:  # the same samples counted: no profiled step among them
        assert len(a[name].samples) == len(b[name].samples), name
    assert len(b["eager_time_to_next_token_secs"].samples) == REPETITIONS * (NEW_TOKENS - 1)
    assert len(b["eager_decode_tokens_per_sec"].samples) == REPETITIONS


def test_profile_is_a_run_key_that_changes_no_hash():
    off = build_config({}, {"kinds": ["eager"]})
    on = build_config({"profile": True}, {"kinds": ["eager"]})
    assert on.profile and not off.profile
    assert on.hash() == off.hash()  # profiling measures nothing: same matrix, same hash
    assert "profile" not in off.to_dict() and on.to_dict()["profile"] is True
    assert build_config({}, {"kinds": ["eager"], "profile": True}).profile
    with pytest.raises(ConfigError, match="profile must be true or false"):
        build_config({"profile": "yes"}, {"kinds": ["eager"]})


def test_ab_and_bisect_profile_unless_told_not_to():
    assert profiled(["--model=micro-llama"]) == ["--model=micro-llama", "--profile"]
    assert profiled(["--no-profile"]) == ["--no-profile"]
    assert profiled(["--profile"]) == ["--profile"]


def test_run_options_pass_the_switch_on_both_ways():
    import argparse

    assert run_options(argparse.Namespace(profile=True)) == ["--profile"]
    assert run_options(argparse.Namespace(profile=False)) == ["--no-profile"]
    assert run_options(argparse.Namespace(profile=None)) == []


def test_a_profile_dir_passed_on_is_absolute_and_a_file_is_refused_before_anything_runs(tmp_path, monkeypatch):
    import argparse

    monkeypatch.chdir(tmp_path)
    assert run_options(argparse.Namespace(profile_dir=Path("traces"))) == [f"--profile-dir={tmp_path / 'traces'}"]
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match=r"^--profile-dir a-file: not a directory$"):
        run_options(argparse.Namespace(profile_dir=Path("a-file")))


def test_the_runner_keeps_the_trace_beside_the_result(tmp_path):
    job = ScenarioJob(params=ScenarioParams(kind="eager"), model_path="m", device="cpu", seed=0)
    assert traces.asking(job, tmp_path, 1, False).profile_dir is None
    assert traces.asking(job, tmp_path, 2, True).profile_dir is None  # the first process's profile only
    assert traces.asking(job, tmp_path, 1, True).profile_dir == str(tmp_path / "profile")
    scratch = tmp_path / "scratch" / "trace.json.gz"
    scratch.parent.mkdir()
    scratch.write_bytes(gzip.compress(b"{}"))
    scenario = ScenarioResult(name="compiled_decode[compile_mode=default]", kind="compiled_decode", params={},
                              info={"profile": {"trace": str(scratch)}})
    kept = traces.keep(scenario, tmp_path / "profiles", "uid-1", 2)
    assert kept == tmp_path / "profiles" / "uid-1" / "02-compiled_decode_compile_mode=default_.trace.json.gz"
    assert kept.is_file() and not scratch.exists() and scenario.info["profile"]["trace"] == str(kept.resolve())
    # a trace that cannot be kept costs its path, with the reason, never the result
    blocked = tmp_path / "file"
    blocked.write_text("")
    scenario.info["profile"]["trace"] = str(kept)
    assert traces.keep(scenario, blocked, "uid-2", 0) is None
    assert scenario.info["profile"]["trace"] is None and traces.TRACE_ERROR in scenario.info


@pytest.mark.slow
def test_a_profiled_compiled_decode_profiles_the_compiled_step(tmp_path, checkpoint, inductor_cache, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache))
    params = ScenarioParams(kind="compiled_decode", new_tokens=NEW_TOKENS, prompt_length=8, repetitions=REPETITIONS,
                            warmup=1, dtype="float32", compile_mode="default")
    job = ScenarioJob(params=params, model_path=str(checkpoint), device="cpu", seed=0,
                      profile_dir=str(tmp_path / "profile"))
    (tmp_path / "spec.json").write_text(json.dumps(encode_job(job)))
    rng = torch.random.get_rng_state()
    try:
        assert main([str(tmp_path / "spec.json"), str(tmp_path / "out.json")]) == 0
    finally:
        torch.random.set_rng_state(rng)
    out = codec.loads(ScenarioOutput, (tmp_path / "out.json").read_text())
    summary = ProfileSummary.from_info(out.info)
    names = {o.name for o in summary.operators}
    # the compiled step runs inductor's code: its matrix multiplies are still aten calls on CPU
    assert names & {"aten::mm", "aten::addmm"}, sorted(names)
    got = {m.name: m for m in out.metrics}
    assert len(got["time_to_next_token_secs"].samples) == REPETITIONS * (NEW_TOKENS - 1)
    assert got["recompiles_during_measurement"].samples == [0.0]


@pytest.mark.slow
def test_the_generate_scenarios_profile_one_whole_variant_call_per_token(tmp_path, checkpoint, capsys):
    # prompt lookup and assisted decoding: one forward can yield several tokens, so their figure
    # (and their profile) is a whole generate call / its new tokens, not per forward
    for kind, figure in (("prompt_lookup", "prompt_lookup_time_per_token_secs"),
                         ("assisted", "assisted_time_per_token_secs")):
        out, phases = eager_job(tmp_path / kind, checkpoint, capsys, profile=True, kind=kind, repetitions=1)
        summary = ProfileSummary.from_info(out.info)
        assert TOKEN_TIME_FIGURE[kind] == figure and out.metrics and summary is not None
        assert summary.tokens == NEW_TOKENS and summary.note == CALL_NOTE, kind
        ops = {o.name: o for o in summary.operators}
        assert ops["aten::linear"].calls_per_token > 0 and ops["aten::linear"].self_us_per_token > 0, kind
        # exact counts over the one call: a whole number of calls, divided by its new tokens
        assert (ops["aten::linear"].calls_per_token * NEW_TOKENS) == round(ops["aten::linear"].calls_per_token
                                                                           * NEW_TOKENS)
        assert summary.wall_us_per_token >= sum(o.self_us_per_token for o in summary.operators) * 0.5
        # the variant's figures are all taken before the profile, which adds no sample
        got = {m.name: m for m in out.metrics}
        assert len(got[figure].samples) == 1 and phases[-1] == "profile", (kind, phases)
        assert gzip.open(summary.trace).read(1)


@pytest.mark.slow
def test_a_profiled_onnxruntime_decode_summarizes_its_nodes_with_onnxruntimes_profiler(tmp_path, checkpoint, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out, phases = eager_job(tmp_path, checkpoint, capsys, profile=True, kind="onnxruntime", repetitions=1)
    summary = ProfileSummary.from_info(out.info)
    assert summary.tokens == NEW_TOKENS - 1 and summary.device == "cpu" and summary.kernels == []
    assert summary.note.startswith("ONNX Runtime's own profiler")
    ops = {o.name: o for o in summary.operators}
    # one row per ONNX op type, its nodes' kernel times; every decode step runs every node once
    assert ops["ort::MatMul"].calls_per_token >= 2 * 4 and ops["ort::MatMul"].self_us_per_token > 0
    assert all(o.calls_per_token == round(o.calls_per_token) for o in summary.operators)
    assert OUTSIDE in ops and ops[OUTSIDE].calls_per_token == 0
    # the step's wall time holds its nodes' time: the rows add up to at most it, per step's median
    assert summary.wall_us_per_token > ops["ort::MatMul"].self_us_per_token
    with gzip.open(summary.trace) as f:
        trace = json.load(f)  # ONNX Runtime's own Chrome trace: a list of events
    assert any(e.get("cat") == "Node" and e["args"].get("op_name") == "MatMul" for e in trace)
    assert not list((tmp_path / "profile").glob("onnxruntime*.json"))  # the plain file became the gzip
    # after every measured repetition and ONNX Runtime's peak memory, before the PyTorch reference
    assert phases.index("ort_decode") < phases.index("profile") < phases.index("eager_reference")
    got = {m.name: m for m in out.metrics}
    assert len(got["ort_time_to_next_token_secs"].samples) == NEW_TOKENS - 1
    assert got["peak_rss_bytes"].samples or "peak_rss_bytes_unmeasured" in out.info


@pytest.mark.slow
def test_a_profiled_compiled_generate_profiles_one_compiled_call(tmp_path, checkpoint, inductor_cache, monkeypatch,
                                                                 capsys):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache))
    out, phases = eager_job(tmp_path, checkpoint, capsys, profile=True, kind="compiled_generate", repetitions=1,
                            compile_mode="default")
    summary = ProfileSummary.from_info(out.info)
    assert summary.tokens == NEW_TOKENS and summary.note == CALL_NOTE
    names = {o.name for o in summary.operators}
    assert names & {"aten::mm", "aten::addmm"}, sorted(names)
    got = {m.name: m for m in out.metrics}
    assert got["graphs_compiled"].samples[0] > 0 and "generate_not_compiled" not in out.flags
    assert phases.index("profile") > phases.index("generate")
    # its figure is a whole call: explain divides it by the scenario's new tokens
    assert token_seconds(TOKEN_TIME_FIGURE["compiled_generate"], 0.6, {"new_tokens": 6}) == pytest.approx(0.1)


def test_onnxruntimes_events_become_rows_per_op_type_without_the_prefill():
    """ort_summary on literal events, in ONNX Runtime's trace shape: each session call a
    "model_run", its nodes inside it. Three calls: the prefill (left out) and two decode steps."""
    from benchmark.worker.ort import ort_summary

    def run(ts, dur):
        return {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur}

    def node(name, op, ts, dur):
        return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur, "args": {"op_name": op}}

    events = [{"cat": "Session", "name": "session_initialization", "ts": 0, "dur": 50},
              run(100, 500), node("node_MatMul_1", "MatMul", 110, 400),  # the prefill
              run(1000, 100), node("node_MatMul_1", "MatMul", 1010, 30), node("node_MatMul_2", "MatMul", 1050, 20),
              node("node_Add_3", "Add", 1080, 10), node("node_Add_3", "Add", 1081, 1) | {"name": "node_Add_3_fence"},
              run(2000, 120), node("node_MatMul_1", "MatMul", 2010, 50), node("node_MatMul_2", "MatMul", 2070, 30),
              node("node_Add_3", "Add", 2100, 10)]
    marks = [0.0, 0.001, 0.001 + 200e-6, 0.001 + 200e-6 + 300e-6]  # start, prefill's end, two steps of 200, 300 us
    s = ort_summary(events, marks, batch_size=1, device="cpu")
    ops = {o.name: o for o in s.operators}
    assert s.tokens == 2 and s.wall_us_per_token == pytest.approx(250.0)
    assert ops["ort::MatMul"].calls_per_token == 2 and ops["ort::MatMul"].self_us_per_token == pytest.approx(65.0)
    assert ops["ort::Add"].calls_per_token == 1 and ops["ort::Add"].self_us_per_token == 10  # the fence is not a node
    # the steps' wall time outside every node: 200 - 60 and 300 - 90, their median
    assert ops[OUTSIDE].calls_per_token == 0 and ops[OUTSIDE].self_us_per_token == pytest.approx(175.0)
    assert s.note.startswith("ONNX Runtime's own profiler") and "CUDA" not in s.note
    with pytest.raises(RuntimeError, match="holds 1 session runs for 2 decode steps"):
        ort_summary(events[:3], marks, batch_size=1, device="cpu")
