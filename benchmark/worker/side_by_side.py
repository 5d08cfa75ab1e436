"""A decoding variant (prompt lookup, assisted) beside plain greedy `generate` of the same
prompt in the same process, calls alternating, so drift costs both alike. Greedy, exactly
`new_tokens` tokens, transformers' default dynamic cache (candidate-verifying generate crops
it), batch 1. Per-token latency is the wall time of one generate / the tokens it generated,
never per forward: one verifying forward can yield several tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .context import calls_needed, generation_config, split_warm, tokens_match
from .profile import record_generate


@dataclass
class SideBySide:
    variant_s: list[float]  # steady-state wall time of each variant generate
    plain_s: list[float]
    match: list[float]  # per call, 1 if the variant's tokens equal plain greedy's
    first_mismatch: int | None
    reference: torch.Tensor  # plain greedy's new tokens
    variant_forwards: list[int]  # forwards of the model and of each watched one in one variant generate
    plain_forwards: int


def plain_config(p):
    gc = generation_config(p, default_cache=True)
    gc.disable_compile = True
    return gc


def side_by_side(ctx, model, prompt: torch.Tensor, variant, watch: tuple = (), **variant_kwargs: Any) -> SideBySide:
    """`watch`: other models (a draft) whose forwards in a variant generate are counted too.
    With a profile asked for, the variant's generate is profiled last (its figure is the one explained)."""
    p, timer, plain = ctx.params, ctx.timer(), plain_config(ctx.params)
    mask = torch.ones_like(prompt)

    def generate(gc, **kwargs):
        with torch.inference_mode():
            out, seconds = timer.time(model.generate, input_ids=prompt, attention_mask=mask, generation_config=gc,
                                      **kwargs)
        return out[:, prompt.shape[1]:], seconds

    ctx.phase("generate")
    plain_s, variant_s, match, mismatch, reference = [], [], [], None, None
    for i in range(calls_needed(p, 1)):
        ctx.progress(f"greedy and variant generate {i + 1}")
        reference, seconds = generate(plain)
        plain_s.append(seconds)
        tokens, seconds = generate(variant, **variant_kwargs)
        variant_s.append(seconds)
        same, first = tokens_match(tokens, reference)
        match.append(float(same))
        mismatch = mismatch if same else first
    out = SideBySide(variant_s=split_warm(variant_s, p.warmup), plain_s=split_warm(plain_s, p.warmup), match=match,
                     first_mismatch=mismatch, reference=reference,
                     variant_forwards=count_forwards((model, *watch), lambda: generate(variant, **variant_kwargs)),
                     plain_forwards=count_forwards((model,), lambda: generate(plain))[0])
    record_generate(ctx, model, input_ids=prompt, attention_mask=mask, generation_config=variant, **variant_kwargs)
    return out


def count_forwards(models: tuple, call) -> list[int]:
    """Forwards of each model during `call` (an untimed call: a hook is not free)."""
    counts = [0] * len(models)
    handles = [m.register_forward_pre_hook(lambda *_, i=i: counts.__setitem__(i, counts[i] + 1))
               for i, m in enumerate(models)]
    try:
        call()
    finally:
        for h in handles:
            h.remove()
    return counts
