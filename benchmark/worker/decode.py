"""The measured greedy decode path: prefill, then one token per step.

Eager and compiled runs share these functions; only `step` differs (the compiled one is
`torch.compile(decode_step)`). The timed loop does no `.item()`, `.tolist()` or print:
tokens stay on the device until the region has ended.
"""

from __future__ import annotations

import torch

from ..trackers.timing import Timer
from .compat import forward_cache_kwargs, static_cache_kwargs


def make_cache(model, batch_size: int, max_len: int, implementation: str):
    """A KV cache in whatever form the installed transformers takes it (compat.py)."""
    from transformers import DynamicCache, StaticCache

    if implementation == "dynamic":
        return DynamicCache()
    return StaticCache(**static_cache_kwargs(model, batch_size, max_len))


def reset_cache(cache):
    """Reuse a static cache across repetitions (its buffers are what the compiled graph captured)."""
    if hasattr(cache, "reset") and not isinstance(cache, _dynamic_cache_type()):
        cache.reset()
        return cache
    return type(cache)()


def _dynamic_cache_type():
    from transformers import DynamicCache

    return DynamicCache


def _forward(model, input_ids, positions, cache):
    return next_logits(model, input_ids, positions, cache).argmax(dim=-1, keepdim=True)


def next_logits(model, input_ids, positions, cache):
    """The last position's logits (the greedy step's, and what the drift figure compares)."""
    out = model(input_ids=input_ids, position_ids=positions, use_cache=True,
                **forward_cache_kwargs(model, cache, positions[0]))
    return out.logits[:, -1]


def prefill(model, input_ids, cache):
    """The prompt forward: returns the first generated token (batch, 1)."""
    positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
    return _forward(model, input_ids, positions, cache)


def decode_step(model, token, position, cache):
    """One token in, the next greedy token out. `position` is a (1, 1) device tensor."""
    return _forward(model, token, position, cache)


def timed_generate(model, prompt, cache, new_tokens: int, step, timer: Timer,
                   prefill_fn=prefill, before_step=None, per_step: bool = True):
    """Greedy-generate `new_tokens` tokens; returns (tokens (batch, new_tokens), intervals).

    intervals[0] is the time to first token (prefill), intervals[i] the i-th decode step.
    With `per_step=False` the decode steps are one interval (a tight loop with no marks
    between steps): comparing the two shows what per-token timing itself costs.
    `before_step` runs before the prefill and each step (CUDA graphs want a step marker).
    """
    tokens = []
    with torch.inference_mode():
        cache = reset_cache(cache)
        position = torch.full((1, 1), prompt.shape[1], device=prompt.device, dtype=torch.long)
        if before_step is not None:
            before_step()
        timer.start()
        # Every output is cloned out of graph memory before anything reads it: after the next
        # step marker a CUDA-graph tree may reclaim (overwrite) the buffer it came in.
        token = prefill_fn(model, prompt, cache).clone()
        timer.mark()
        tokens.append(token)
        for _ in range(new_tokens - 1):
            if before_step is not None:
                before_step()
            token = step(model, token, position, cache).clone()
            if per_step:
                timer.mark()
            tokens.append(token)
            position += 1
        if not per_step:
            timer.mark()
        intervals = timer.stop()
    return torch.cat(tokens, dim=1), intervals
