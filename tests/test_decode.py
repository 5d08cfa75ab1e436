"""The measured decode path (eager) against transformers' own greedy `generate`, on a real
tiny model: batch sizes, both cache implementations, and the tight-loop variant."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from benchmark.contracts.config import ScenarioParams
from benchmark.worker.context import generation_config, tokens_match
from benchmark.worker.decode import decode_step, make_cache, timed_generate
from benchmark.models import PRESETS
from benchmark.trackers.timing import Timer


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**PRESETS["micro-llama"])).eval()


@pytest.mark.parametrize("batch_size", [1, pytest.param(3, marks=pytest.mark.slow)])
@pytest.mark.parametrize("cache_implementation", ["static", "dynamic"])
def test_decode_loop_matches_generate(model, batch_size, cache_implementation):
    p = ScenarioParams(kind="eager", batch_size=batch_size, prompt_length=5, new_tokens=7,
                       cache_implementation=cache_implementation)
    prompt = torch.randint(0, model.config.vocab_size, (batch_size, p.prompt_length),
                           generator=torch.Generator().manual_seed(1))
    cache = make_cache(model, batch_size, p.prompt_length + p.new_tokens, cache_implementation)
    timer = Timer(torch.device("cpu"))

    tokens, intervals = timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer)
    gc = generation_config(p)
    gc.disable_compile = True
    with torch.inference_mode():
        reference = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), generation_config=gc)

    assert tokens.shape == (batch_size, p.new_tokens)
    assert tokens_match(tokens, reference[:, p.prompt_length:]) == (True, None)
    assert len(intervals) == p.new_tokens  # prefill + one per decode step
    assert all(i >= 0 for i in intervals)

    # The same cache again (reset inside), as a tight loop: same tokens, two intervals.
    again, tight = timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer, per_step=False)
    assert torch.equal(again, tokens)
    assert len(tight) == 2


def test_tokens_match_reports_first_difference():
    a = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4]])
    b = torch.tensor([[1, 2, 3, 4], [1, 2, 9, 4]])
    assert tokens_match(a, a.clone()) == (True, None)
    assert tokens_match(a, b) == (False, 2)
    assert tokens_match(a, a[:, :3]) == (False, 0)


def test_one_end_of_sequence_rule_for_the_loop_and_generate(model):
    """`generate` ran with min_new_tokens, which masks the end-of-sequence id, while the
    hand-written loop took the raw argmax: whenever that argmax was the EOS id the two
    differed, and a correct run was flagged decode_loop_differs_from_generate. Now no token
    ends a sequence on either path."""
    import copy

    from benchmark.worker.context import no_end_of_sequence

    m = copy.deepcopy(model)
    p = ScenarioParams(kind="eager", prompt_length=5, new_tokens=8)
    prompt = torch.randint(0, m.config.vocab_size, (1, p.prompt_length), generator=torch.Generator().manual_seed(1))
    timer = Timer(torch.device("cpu"))
    cache = make_cache(m, 1, p.prompt_length + p.new_tokens, "static")
    tokens, _ = timed_generate(m, prompt, cache, p.new_tokens, decode_step, timer)
    eos = int(tokens[0, 2])  # make the third greedy token the model's end-of-sequence id
    m.config.eos_token_id = m.generation_config.eos_token_id = eos

    no_end_of_sequence(m)
    gc = generation_config(p)
    gc.disable_compile = True
    with torch.inference_mode():
        out = m.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), generation_config=gc)
    assert out.shape[1] == p.prompt_length + p.new_tokens  # exactly new_tokens: no stop at EOS
    again, _ = timed_generate(m, prompt, cache, p.new_tokens, decode_step, timer)
    assert tokens_match(again, out[:, p.prompt_length:]) == (True, None)
    assert int(again[0, 2]) == eos


def test_prefill_output_is_cloned_before_a_step_reads_it(model):
    """Under CUDA graphs the prefill's output lives in graph memory that the next step
    marker may hand back to the pool ("accessing tensor output of CUDAGraphs that has been
    overwritten"): the first step must get a copy, like every later step does."""
    produced, fed = [], []

    def prefill_fn(m, prompt, cache):
        out = torch.full((prompt.shape[0], 1), 7)
        produced.append(out)
        return out

    def step(m, token, position, cache):
        fed.append(token)
        return token + 1

    tokens, _ = timed_generate(model, torch.zeros((1, 3), dtype=torch.long), make_cache(model, 1, 8, "dynamic"), 4,
                               step, Timer(torch.device("cpu")), prefill_fn=prefill_fn)
    assert tokens.tolist() == [[7, 8, 9, 10]]
    assert fed[0].data_ptr() != produced[0].data_ptr()
    assert all(t.data_ptr() != o.data_ptr() for t, o in zip(fed[1:], fed[:-1]))


@pytest.mark.slow
def test_eager_decode_drops_the_first_call_and_warmup(tmp_path):
    """The eager decode loop dropped `warmup` calls where every other figure drops
    `1 + warmup`: its first, cold call was counted."""
    import io
    import json

    from benchmark.models import build_synthetic
    from benchmark.trackers.events import Reporter
    from benchmark.worker.context import Context
    from benchmark.worker.scenarios import eager

    path = build_synthetic("micro-llama", "float32", 0, "cpu", tmp_path / "m")
    stream = io.StringIO()
    p = ScenarioParams(kind="eager", dtype="float32", prompt_length=4, new_tokens=4, warmup=2, repetitions=3)
    ctx = Context(params=p, model_path=str(path), device=torch.device("cpu"), seed=0, events=Reporter(stream))
    eager.run(ctx)
    progress = [e["message"] for e in map(json.loads, stream.getvalue().splitlines()) if e["event"] == "progress"]
    assert [m for m in progress if m.startswith("eager decode")] == [f"eager decode {i}" for i in range(1, 7)]
    ttft = next(m for m in ctx.metrics if m.name == "eager_time_to_first_token_secs")
    ttnt = next(m for m in ctx.metrics if m.name == "eager_time_to_next_token_secs")
    assert ttft.stats.n == 3 and ttnt.stats.n == 3 * (4 - 1)
    assert next(m for m in ctx.metrics if m.name == "decode_matches_generate").samples == [1.0]
