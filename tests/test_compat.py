"""benchmark/worker/compat.py against the installed transformers: the newest in the fast tier,
pyproject's floor (4.46.3) in CI's lowest-transformers job (.github/workflows/tests.yml)."""

from __future__ import annotations

import pytest
import torch

from benchmark.worker.compat import compile_config, forward_cache_kwargs, generation_cache, static_cache_kwargs


@pytest.mark.parametrize("implementation", ["static", "dynamic", None])
def test_generation_config_takes_every_cache_implementation(implementation):
    # 4.46.3 refused "dynamic" ("Invalid cache_implementation") and a bare "static" (StaticCacheConfig
    # needs batch_size and max_cache_len): #19 item 12
    from transformers import GenerationConfig

    kwargs = generation_cache(implementation, 2, 12)
    gc = GenerationConfig(max_new_tokens=4, do_sample=False, **kwargs)
    gc.validate()
    assert gc.cache_implementation in ({"static"} if implementation == "static" else {implementation, None})


def test_a_static_cache_and_a_forward_on_the_installed_transformers():
    from transformers import LlamaConfig, LlamaForCausalLM, StaticCache

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    model = LlamaForCausalLM(config).eval()
    cache = StaticCache(**static_cache_kwargs(model, 1, 16))
    ids = torch.randint(0, 64, (1, 5))
    positions = torch.arange(5).unsqueeze(0)
    with torch.inference_mode():
        out = model(input_ids=ids, position_ids=positions, use_cache=True,
                    **forward_cache_kwargs(model, cache, positions[0]))
    assert out.logits.shape == (1, 5, 64)
    assert compile_config() is None or compile_config().__name__ == "CompileConfig"
