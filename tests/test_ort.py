"""The ONNX Runtime backend (kind onnxruntime): export once into the cache, the shared decode
loop with ONNX Runtime's prefill and step, greedy tokens against PyTorch eager's, and what
cannot run recorded as skipped. Real torch.onnx export, real onnxruntime, real subprocesses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig

from benchmark.models import build_synthetic, checkpoint_dir, load_model, resolve_model
from benchmark.trackers.timing import Timer
from benchmark.worker import ort
from benchmark.worker.unsupported import Unsupported
from benchmark.worker.decode import timed_generate

from benchmark.contracts.config import ConfigError, ScenarioParams, build_config
from benchmark.run.availability import unavailable
from helpers import cli_in_process, run_uid
from test_axes import run_config, stored


@pytest.mark.slow
def test_onnxruntime_exports_once_decodes_and_reports_its_agreement_with_eager(cb, sqlite_url):
    # the session's cache may hold an export from an earlier test (the axes example): start without
    shutil.rmtree(Path(cb.env["COMMITBENCH_CACHE"]) / "onnx", ignore_errors=True)
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "onnxruntime"\nnew_tokens = 6\n'
                   'batch_size = [1, 2]\ndtype = ["float32", "bfloat16"]\n')
    assert r.returncode == 0, r.stderr
    result = stored(sqlite_url, run_uid(r.stdout))
    by_name = {s.name: s for s in result.scenarios}
    first, second = by_name["onnxruntime[new_tokens=6]"], by_name["onnxruntime[batch_size=2,new_tokens=6]"]
    for s in (first, second):
        assert s.status == "succeeded", s.error
        assert s.metric("ort_time_to_next_token_secs").stats.n == 5  # 1 repetition of 6 tokens: 5 steps
        assert s.metric("ort_time_to_first_token_secs").stats.n == 1
        assert s.metric("ort_session_load_time_secs").stats.n == 1
        position = s.metric("first_divergence_position").samples[0]
        assert 0 <= position <= 6 and 0 <= s.metric("top1_agreement").samples[0] <= 1
        assert s.metric("next_token_kl_divergence").samples[0] >= 0
        # the figure says what the recorded tokens say
        ort_tokens, eager_tokens = s.info["ort_tokens"], s.info["eager_tokens"]
        assert len(ort_tokens) == s.params["batch_size"] and len(ort_tokens[0]) == 6
        assert (position == 6) == (ort_tokens == eager_tokens)
        assert (s.info["ort_provider"], s.info["ort_io_binding"]) == ("CPUExecutionProvider", False)
    # the export is keyed by checkpoint, dtype and attention, not batch: the second reuses it
    assert first.metric("ort_export_time_secs").stats.n == 1
    assert second.metric("ort_export_time_secs").samples == []
    assert second.info["ort_export_time_secs_unmeasured"] == f"reused the export at {first.info['onnx_path']}"
    # the export is its own phase, and the eager reference comes after ONNX Runtime's decode
    ours = ("load", "export", "session", "ort_decode", "eager_reference")
    assert [ph.name for ph in first.phases if ph.name in ours] == \
        ["load", "export", "session", "ort_decode", "load", "eager_reference"]
    assert [ph.name for ph in second.phases if ph.name in ours] == ["session", "ort_decode", "load", "eager_reference"]
    # peak RSS is a lifetime high-water mark: the exporting process also held the PyTorch model
    assert first.metric("peak_rss_bytes").samples == []
    assert first.info["peak_rss_bytes_unmeasured"].startswith("this process also held the PyTorch model")
    assert second.metric("peak_rss_bytes").samples[0] > 0
    # bfloat16 exports, but ONNX Runtime's CPU provider has no kernels for it: skipped, run green
    bf16 = by_name["onnxruntime[dtype=bfloat16,new_tokens=6]"]
    assert bf16.status == "skipped" and bf16.metrics == []
    assert bf16.error.startswith("ONNX Runtime's CPUExecutionProvider cannot run this export: ")
    assert result.status == "succeeded"
    assert f"onnxruntime[dtype=bfloat16,new_tokens=6]: SKIPPED - {bf16.error}" in r.stdout


def test_onnxruntime_without_its_packages_is_skipped_before_the_worker(cb, sqlite_url):
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "onnxruntime"\n', hide="onnxscript", via=cli_in_process)
    assert r.returncode == 0, r.stderr
    (s,) = stored(sqlite_url, run_uid(r.stdout)).scenarios
    reason = "kind onnxruntime needs onnxscript, not installed (pip install commitbench[onnxruntime])"
    assert (s.name, s.status, s.error) == ("onnxruntime", "skipped", reason)


def test_onnxruntime_runs_on_a_cpu_or_a_cuda_gpu_and_needs_onnxruntime_gpu_for_the_latter():
    assert unavailable(ScenarioParams(kind="onnxruntime", dtype="float32"), "cpu") is None
    assert unavailable(ScenarioParams(kind="onnxruntime", dtype="float16"), "cuda:0") is None
    reason = unavailable(ScenarioParams(kind="onnxruntime", dtype="float16"), "mps")
    assert reason == "kind onnxruntime runs on a CPU or a CUDA GPU (device is mps)"
    # what the worker checks first on a GPU: the plain onnxruntime wheel has no CUDA provider
    with pytest.raises(Unsupported, match=r"^kind onnxruntime on cuda:0 needs ONNX Runtime's CUDAExecutionProvider "
                                          r"\(pip install onnxruntime-gpu\); onnxruntime 1\.\S+ here has .*CPUExecutionProvider"):
        ort.provider(torch.device("cuda:0"))
    assert ort.provider(torch.device("cpu")) == "CPUExecutionProvider"


@pytest.mark.slow  # a real ONNX export
def test_the_bound_path_a_gpu_uses_decodes_the_same_tokens_as_plain_run_on_a_cpu(cb, monkeypatch):
    # IOBinding (tensors bound by pointer, outputs allocated by torch) is what the CUDA provider
    # uses; only the device name differs there, so it is run here on the CPU provider
    monkeypatch.setenv("COMMITBENCH_CACHE", cb.env["COMMITBENCH_CACHE"])  # an earlier test's export, if any
    checkpoint = build_synthetic("micro-llama", "float32", 0, "cpu", checkpoint_dir(
        resolve_model("micro-llama", False), "float32", 0))
    path = ort.export_path(str(checkpoint), "float32", "sdpa")
    if not path.is_file():
        ort.export(load_model(str(checkpoint), "float32", "sdpa", "cpu"), path)
    config = AutoConfig.from_pretrained(checkpoint)
    prompt = torch.randint(0, config.vocab_size, (2, 8), generator=torch.Generator().manual_seed(0))
    tokens, logits = {}, {}
    for bind in (False, True):
        session = ort.Session(path, config, 1, torch.device("cpu"), bind=bind)
        assert session.bind is bind and session.provider == "CPUExecutionProvider"
        past = session.new_past(2)
        for _ in range(2):  # the second decode starts from the reset (empty) past
            tokens[bind], _ = timed_generate(session, prompt, past, 6, ort.step, Timer(torch.device("cpu")),
                                             prefill_fn=ort.prefill)
        assert [t.shape for t in past.tensors] == [(2, 2, 8 + 5, 16)] * (2 * config.num_hidden_layers)
        logits[bind] = ort.teacher_forced_logits(session, torch.cat([prompt, tokens[bind]], dim=1))
    assert torch.equal(tokens[True], tokens[False])
    assert torch.equal(logits[True], logits[False]) and logits[True].shape == (2, 14, config.vocab_size)


def test_onnxruntime_takes_exportable_attention_and_no_cache_or_compile_parameters():
    with pytest.raises(ConfigError, match="^attn_implementation = flex_attention does not export to ONNX: kind "
                                          "onnxruntime takes attn_implementation sdpa or eager$"):
        build_config({"scenarios": [{"kind": "onnxruntime", "attn_implementation": "flex_attention"}]})
    for param, value in (("cache_implementation", "dynamic"), ("compile_mode", "default"), ("quantization", "bnb-8bit")):
        with pytest.raises(ConfigError, match=f"^{param} is not a parameter of onnxruntime "):
            build_config({"scenarios": [{"kind": "onnxruntime", param: value}]})
    assert build_config({"scenarios": [{"kind": "onnxruntime", "attn_implementation": "eager"}]}).scenarios
