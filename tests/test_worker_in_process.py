"""The worker's entry point (`python -m benchmark.worker JOB.json OUT.json`) called in this
process on micro-llama: the fast tier's way through the load and eager scenarios, whose code
otherwise runs only in worker subprocesses. The real subprocess runs are the slow tier's."""

from __future__ import annotations

import json

import pytest
import torch

from benchmark.contracts import codec
from benchmark.contracts.config import ScenarioParams
from benchmark.contracts.jobs import ScenarioJob, ScenarioOutput, encode_job
from benchmark.models import build_synthetic, checkpoint_dir, resolve_model
from benchmark.worker.__main__ import main


@pytest.fixture
def checkpoint(bench_cache, monkeypatch):
    monkeypatch.setenv("COMMITBENCH_CACHE", str(bench_cache))  # the session's micro-llama, built once
    return build_synthetic("micro-llama", "float32", 0, "cpu",
                           checkpoint_dir(resolve_model("micro-llama", False), "float32", 0))


def run_job(tmp_path, checkpoint, **params) -> ScenarioOutput:
    """One scenario job through the worker's entry point, in this process; it was not skipped."""
    params = ScenarioParams(**{"new_tokens": 4, "prompt_length": 8, "repetitions": 2, "warmup": 0, "dtype": "float32",
                               **params})  # resolved, as the runner sends it
    job = ScenarioJob(params=params, model_path=str(checkpoint), device="cpu", seed=0)
    (tmp_path / "spec.json").write_text(json.dumps(encode_job(job)))
    rng = torch.random.get_rng_state()  # the worker seeds torch for its job: give this process its own back
    try:
        assert main([str(tmp_path / "spec.json"), str(tmp_path / "out.json")]) == 0
    finally:
        torch.random.set_rng_state(rng)
    out = codec.loads(ScenarioOutput, (tmp_path / "out.json").read_text())
    assert out.skipped is None
    return out


@pytest.mark.parametrize("kind, figure", [("load", "model_load_time"),
                                          ("eager", "eager_time_to_next_token_secs")])
def test_a_scenario_job_in_process(tmp_path, checkpoint, kind, figure):
    out = run_job(tmp_path, checkpoint, kind=kind)
    got = {m.name: m for m in out.metrics}
    assert got[figure].stats.n >= 2 and all(v > 0 for v in got[figure].samples)


@pytest.mark.parametrize("axis", [{"sdpa_kernel": "math"}, {"attn_implementation": "eager"}])
def test_an_axis_that_may_change_outputs_reports_its_drift(tmp_path, checkpoint, axis):
    """A forced kernel and another attention implementation on micro-llama in float32: the
    same outputs as the reference (KL below 1e-6), computed after the timed repetitions."""
    out = run_job(tmp_path, checkpoint, kind="eager", **axis)
    got = {m.name: m for m in out.metrics}
    assert got["next_token_kl_divergence"].samples[0] < 1e-6 and got["next_token_kl_divergence"].stats.n == 1
    assert got["eager_time_to_next_token_secs"].stats.n >= 2
