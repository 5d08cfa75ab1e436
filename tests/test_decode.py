"""The measured decode path (eager) against transformers' own greedy `generate`, on a real
tiny model: batch sizes, both cache implementations, and the tight-loop variant."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from benchmark.config import ScenarioParams
from benchmark.context import generation_config, tokens_match
from benchmark.decode import decode_step, make_cache, timed_generate
from benchmark.models import PRESETS
from benchmark.timing import Timer


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**PRESETS["micro-llama"])).eval()


@pytest.mark.parametrize("batch_size", [1, 3])
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
