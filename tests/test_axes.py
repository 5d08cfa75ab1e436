"""Optimization axes (issue 9): configuration errors, skipped scenarios, forced SDPA kernels,
prompt-lookup and assisted decoding, with real torch and real subprocesses on CPU (the runs
with a worker are the slow tier)."""

from __future__ import annotations

import re

import pytest

from benchmark.contracts.config import ConfigError, build_config
from helpers import IDENT, cli_in_process, run_cli, run_uid


def test_better_transformer_is_explained_in_one_line_naming_the_sdpa_axis():
    with pytest.raises(ConfigError) as e:
        build_config({"scenarios": [{"kind": "eager", "attn_implementation": "better_transformer"}]})
    msg = str(e.value)
    assert "\n" not in msg and "Optimum 2.x" in msg and "attn_implementation = sdpa" in msg


def test_a_forced_kernel_needs_sdpa_and_the_error_names_both():
    with pytest.raises(ConfigError, match="^sdpa_kernel = math .* attn_implementation = eager$"):
        build_config({"scenarios": [{"kind": "eager", "attn_implementation": "eager", "sdpa_kernel": "math"}]})
    with pytest.raises(ConfigError, match="^sdpa_kernel must be one of auto, flash, efficient, math, cudnn"):
        build_config({"scenarios": [{"kind": "eager", "sdpa_kernel": "fast"}]})


def run_config(cb, db_url, toml: str, *extra, hide: str = "", via=run_cli):
    """`hide`: modules to treat as not installed (COMMITBENCH_HIDE_MODULES); `via`: run_cli (a
    real process) or cli_in_process (for a run that starts no worker)."""
    config = cb.root / "axes.toml"
    config.write_text(toml)
    env = {**cb.env, "COMMITBENCH_HIDE_MODULES": hide} if hide else cb.env
    return via(["run", *IDENT, "--model", "micro-llama", "--repetitions", "1", "--warmup", "0",
                "--config", config, "--db", db_url, *extra], env)


def stored(db_url, uid):
    from db.query import get_run
    from db.session import make_engine, session_scope

    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return get_run(s, uid)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_combination_this_machine_cannot_run_is_skipped_with_its_reason(cb, sqlite_url):
    """flash_attention_2 on CPU: decided before any worker starts; the run stays green."""
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "load"\n'
                   '[[scenarios]]\nkind = "eager"\nattn_implementation = "flash_attention_2"\n')
    assert r.returncode == 0, r.stderr
    uid = run_uid(r.stdout)
    name = "eager[attn_implementation=flash_attention_2]"
    reason = "attn_implementation flash_attention_2 needs a CUDA GPU (device is cpu)"
    assert f"commitbench run {uid}: SUCCEEDED" in r.stdout
    assert f"  {name}: SKIPPED - {reason}" in r.stdout
    assert "skipped (1): what these libraries or this hardware cannot run" in r.stdout
    assert f"    skipped: {reason}" in r.stderr
    result = stored(sqlite_url, uid)
    assert result.status == "succeeded" and result.error is None
    by_name = {s.name: s for s in result.scenarios}
    assert by_name["load"].status == "succeeded" and by_name["load"].metric("model_load_time") is not None
    assert (by_name[name].status, by_name[name].error, by_name[name].metrics) == ("skipped", reason, [])


def test_flash_attention_2_on_a_gpu_without_the_package_is_named():
    from importlib.util import find_spec

    from benchmark.contracts.config import ScenarioParams
    from benchmark.run.availability import unavailable

    p = ScenarioParams(kind="eager", attn_implementation="flash_attention_2")
    assert unavailable(ScenarioParams(kind="eager"), "cpu") is None
    if find_spec("flash_attn") is None:
        assert unavailable(p, "cuda:0") == ("attn_implementation flash_attention_2 needs the flash-attn package, "
                                            "which is not installed")
    else:
        assert unavailable(p, "cuda:0") is None


@pytest.mark.slow
def test_a_forced_sdpa_kernel_runs_for_real_or_is_skipped_with_torchs_reason(cb, sqlite_url):
    """On CPU, math runs (the worker's check records the backend torch dispatched to) and its
    greedy tokens equal the unforced ones; efficient cannot run there: skipped, run green."""
    r = run_config(cb, sqlite_url, '[defaults]\nnew_tokens = 6\n'
                   '[[scenarios]]\nkind = "eager"\nsdpa_kernel = ["math", "efficient"]\n')
    assert r.returncode == 0, r.stderr
    result = stored(sqlite_url, run_uid(r.stdout))
    assert result.status == "succeeded"
    math, efficient = (next(s for s in result.scenarios if s.name == f"eager[new_tokens=6,sdpa_kernel={k}]")
                       for k in ("math", "efficient"))
    assert math.status == "succeeded" and math.info["sdpa_backend"] == "MATH"
    assert math.metric("tokens_match_eager").samples == [1.0]
    assert math.metric("decode_matches_generate").samples == [1.0]
    assert [p.name for p in math.phases][-3:] == ["unforced_reference", "eager_decode", "drift"]
    assert math.metric("next_token_kl_divergence").samples[0] < 1e-6  # math is what torch's own choice computes
    assert efficient.status == "skipped" and efficient.metrics == []
    assert efficient.error.startswith("sdpa_kernel efficient cannot run on cpu (float32, head_dim ")
    assert "torch says: " in efficient.error
    assert f"eager[new_tokens=6,sdpa_kernel=efficient]: SKIPPED - {efficient.error}" in r.stdout


@pytest.mark.slow
def test_prompt_lookup_decodes_the_plain_greedy_tokens_and_reports_per_token_time(cb, sqlite_url):
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "prompt_lookup"\nprompt_length = 32\nnew_tokens = 12\n'
                   'prompt_lookup_num_tokens = [10, 3]\n', "--repetitions", "2")
    assert r.returncode == 0, r.stderr
    result = stored(sqlite_url, run_uid(r.stdout))
    names = [s.name for s in result.scenarios]
    assert names == ["prompt_lookup[prompt_length=32,new_tokens=12]",
                     "prompt_lookup[prompt_length=32,new_tokens=12,prompt_lookup_num_tokens=3]"]
    for s in result.scenarios:
        assert s.status == "succeeded", s.error
        assert s.metric("tokens_match_eager").samples == [1.0] * 3  # every call: 1 + warmup 0 + 2
        per_token = s.metric("prompt_lookup_time_per_token_secs").samples
        assert len(per_token) == 2 and s.metric("greedy_time_per_token_secs").stats.n == 2
        rates = s.metric("prompt_lookup_tokens_per_sec").samples
        assert all(abs(t * r - 1) < 1e-9 for t, r in zip(per_token, rates))  # one definition, two views
        prompt = s.info["prompt"][0]
        assert len(prompt) == 32 and prompt[:8] * 4 == prompt  # a motif of 8, repeated
        assert s.info["greedy_forwards"] == 12  # prefill + 11 steps
        assert 1 <= s.metric("prompt_lookup_forwards").samples[0] <= 12
    assert result.scenarios[1].params["prompt_lookup_num_tokens"] == 3


def test_prompt_lookup_takes_no_batch():
    with pytest.raises(ConfigError, match="^batch_size is not a parameter of prompt_lookup "):
        build_config({"scenarios": [{"kind": "prompt_lookup", "batch_size": 2}]})
    assert [s.kind for s in build_config({}).scenarios] == ["load", "eager", "compiled_decode", "compiled_generate"]


@pytest.mark.slow
def test_assisted_decoding_with_a_layer_truncated_draft(cb, sqlite_url):
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "assisted"\nnew_tokens = 12\n', "--repetitions", "2")
    assert r.returncode == 0, r.stderr
    (s,) = stored(sqlite_url, run_uid(r.stdout)).scenarios
    assert (s.name, s.status) == ("assisted[new_tokens=12]", "succeeded"), s.error
    assert s.metric("tokens_match_eager").samples == [1.0] * 3
    assert (s.info["draft_layers"], s.info["model_layers"], s.info["greedy_forwards"]) == (1, 2, 12)
    forwards = s.metric("assisted_forwards").samples[0]
    assert 1 <= forwards <= 12 and s.info["draft_forwards"] >= 1
    assert s.metric("assisted_acceptance_rate").samples == [(12 - forwards) / s.info["draft_forwards"]]
    assert s.metric("assisted_time_per_token_secs").stats.n == 2


def test_the_truncated_draft_shares_the_main_models_weights():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from benchmark.worker.scenarios.assisted import truncated

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                         num_attention_heads=2, num_key_value_heads=2, vocab_size=64)).eval()
    draft = truncated(model, 1)
    assert len(model.model.layers) == 3 and model.config.num_hidden_layers == 3  # the main model is untouched
    assert len(draft.model.layers) == 1 and draft.config.num_hidden_layers == 1
    assert draft.lm_head.weight is model.lm_head.weight and draft.model.layers[0] is not model.model.layers[0]
    assert draft.model.layers[0].self_attn.q_proj.weight is model.model.layers[0].self_attn.q_proj.weight
    ids = torch.tensor([[1, 2, 3]])
    with torch.inference_mode():
        assert draft(ids).logits.shape == model(ids).logits.shape


QUANTIZED = ("none", "bnb-8bit", "bnb-4bit-nf4")


@pytest.mark.slow
def test_quantized_eager_side_by_side_with_weight_memory_and_agreement(cb, sqlite_url):
    """One matrix run of eager over the quantization axis on CPU: every variant stored with
    its speed figures, its weight memory (8-bit < none, 4-bit < 8-bit), and for the
    quantized ones the correctness against the unquantized tokens of this process."""
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "eager"\nnew_tokens = 6\n'
                   f'quantization = {list(QUANTIZED)!r}\n'.replace("'", '"'))
    assert r.returncode == 0, r.stderr
    result = stored(sqlite_url, run_uid(r.stdout))
    by_q = {s.params.get("quantization", "none"): s for s in result.scenarios}
    assert [s.name for s in result.scenarios] == ["eager[new_tokens=6]", "eager[new_tokens=6,quantization=bnb-8bit]",
                                                 "eager[new_tokens=6,quantization=bnb-4bit-nf4]"]
    weights = {}
    for q, s in by_q.items():
        assert s.status == "succeeded", s.error
        assert s.metric("eager_time_to_next_token_secs").stats.n == 5  # 1 repetition of 6 tokens: 5 steps
        assert s.metric("decode_matches_generate").samples == [1.0]
        weights[q] = s.metric("model_weight_bytes").samples[0]
    assert weights["bnb-4bit-nf4"] < weights["bnb-8bit"] < weights["none"]
    assert by_q["none"].metric("top1_agreement") is None and by_q["none"].metric("first_divergence_position") is None
    for q in QUANTIZED[1:]:
        s = by_q[q]
        assert 0 <= s.metric("first_divergence_position").samples[0] <= 6
        assert 0 <= s.metric("top1_agreement").samples[0] <= 1
        assert s.metric("next_token_kl_divergence").samples[0] > 0  # quantized weights: other distributions
        assert [p.name for p in s.phases][-1] == "reference"
    assert by_q["none"].metric("next_token_kl_divergence") is None


@pytest.mark.slow
def test_quantized_load_reports_weight_memory(cb, sqlite_url):
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "load"\nquantization = ["none", "bnb-4bit-fp4"]\n')
    assert r.returncode == 0, r.stderr
    none, fp4 = stored(sqlite_url, run_uid(r.stdout)).scenarios
    assert (none.name, fp4.name) == ("load", "load[quantization=bnb-4bit-fp4]")
    assert fp4.status == "succeeded", fp4.error
    assert fp4.metric("model_weight_bytes").samples[0] < none.metric("model_weight_bytes").samples[0]
    assert fp4.metric("model_load_time").stats.n == 1


def test_quantization_without_its_packages_is_skipped_before_the_worker(cb, sqlite_url):
    from benchmark.run.availability import missing_modules

    assert missing_modules(("bitsandbytes", "accelerate", "no_such_module_here")) == ["no_such_module_here"]
    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "load"\nquantization = "bnb-8bit"\n', hide="bitsandbytes",
                   via=cli_in_process)
    assert r.returncode == 0, r.stderr
    (s,) = stored(sqlite_url, run_uid(r.stdout)).scenarios
    reason = "quantization bnb-8bit needs bitsandbytes, not installed (pip install commitbench[quantization])"
    assert (s.name, s.status, s.error) == ("load[quantization=bnb-8bit]", "skipped", reason)
    assert f"load[quantization=bnb-8bit]: SKIPPED - {reason}" in r.stdout


def test_quantization_is_not_a_parameter_of_the_compiled_kinds():
    with pytest.raises(ConfigError, match="^quantization is not a parameter of compiled_decode "):
        build_config({"scenarios": [{"kind": "compiled_decode", "quantization": "bnb-8bit"}]})
    with pytest.raises(ConfigError, match="^quantization must be one of none, bnb-8bit, bnb-4bit-nf4, bnb-4bit-fp4"):
        build_config({"scenarios": [{"kind": "eager", "quantization": "int8"}]})


@pytest.mark.slow
def test_other_attention_implementations_run_and_are_checked_against_sdpa(cb, sqlite_url):
    """eager and flex_attention (where this torch has it) on CPU: each measured, then its greedy
    tokens checked against attn_implementation sdpa's, a mismatch flagged with its position."""
    from benchmark.run.availability import _flex_available

    r = run_config(cb, sqlite_url, '[[scenarios]]\nkind = "eager"\nnew_tokens = 6\n'
                   'attn_implementation = ["sdpa", "eager", "flex_attention"]\n')
    assert r.returncode == 0, r.stderr
    by_attn = {s.params["attn_implementation"]: s for s in stored(sqlite_url, run_uid(r.stdout)).scenarios}
    assert by_attn["sdpa"].metric("tokens_match_sdpa") is None  # the reference itself
    if not _flex_available():
        assert by_attn["flex_attention"].status == "skipped"
        del by_attn["flex_attention"]
    for attn in set(by_attn) - {"sdpa"}:
        s = by_attn[attn]
        assert s.status == "succeeded", s.error
        assert s.metric("eager_time_to_next_token_secs").stats.n == 5
        (match,) = s.metric("tokens_match_sdpa").samples
        assert match in (0.0, 1.0) and [p.name for p in s.phases][-1] == "reference"
        assert ("attention_tokens_mismatch" in s.flags) == (match == 0.0)
        assert ("attention_first_mismatch" in s.info) == (match == 0.0)


@pytest.mark.slow
def test_a_4bit_layer_bitsandbytes_cpu_kernel_cannot_pack_is_skipped_naming_it(cb, sqlite_url, tmp_path):
    """bitsandbytes' AVX512-BF16 CPU kernel asserts on a 4-bit layer whose output size is not a
    multiple of 32 (an MLP of 80 here): where this CPU takes that kernel the scenario is skipped
    with the layer named, before anything is measured; elsewhere it runs."""
    from bitsandbytes.functional import has_avx512bf16
    from transformers import LlamaConfig, LlamaForCausalLM

    LlamaForCausalLM(LlamaConfig(hidden_size=64, intermediate_size=80, num_hidden_layers=1, num_attention_heads=4,
                                 num_key_value_heads=2, vocab_size=512)).save_pretrained(tmp_path / "odd")
    config = cb.root / "axes.toml"
    config.write_text('[[scenarios]]\nkind = "eager"\nnew_tokens = 4\nquantization = "bnb-4bit-nf4"\n')
    r = run_cli(["run", *IDENT, "--model", str(tmp_path / "odd"), "--repetitions", "1", "--warmup", "0",
                 "--config", config, "--db", sqlite_url], cb.env)
    assert r.returncode == 0, r.stderr
    (s,) = stored(sqlite_url, run_uid(r.stdout)).scenarios
    if not has_avx512bf16():
        assert s.status == "succeeded", s.error
        return
    assert s.status == "skipped" and s.metrics == []
    assert re.fullmatch(r"bitsandbytes [\d.]+'s 4-bit CPU kernel \(AVX512-BF16\) needs every quantized layer's "
                        r"output size to be a multiple of 32: model\.layers\.0\.mlp\.(gate|up)_proj has 80", s.error)
