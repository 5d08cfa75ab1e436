"""Prompt-lookup decoding: `generate(prompt_lookup_num_tokens=N)` on a prompt with
repetition, beside plain greedy generate (worker/side_by_side.py)."""

from __future__ import annotations

import torch

from ..side_by_side import plain_config, side_by_side

MOTIF_DIVISOR = 4  # the prompt is a seeded motif of prompt_length / 4 tokens, repeated


def run(ctx) -> None:
    p = ctx.params
    model, _ = ctx.load()
    prompt = repetitive_prompt(ctx.prompt(model.config), p.prompt_length)
    lookup = plain_config(p)
    lookup.prompt_lookup_num_tokens = p.prompt_lookup_num_tokens
    r = side_by_side(ctx, model, prompt, lookup)
    ctx.add("prompt_lookup_time_per_token_secs", [s / p.new_tokens for s in r.variant_s])
    ctx.add("prompt_lookup_tokens_per_sec", [p.new_tokens / s for s in r.variant_s])
    ctx.add("greedy_time_per_token_secs", [s / p.new_tokens for s in r.plain_s])
    ctx.add("tokens_match_eager", r.match)
    ctx.add("prompt_lookup_forwards", r.variant_forwards)
    ctx.info.update(greedy_forwards=r.plain_forwards, prompt_lookup_num_tokens=p.prompt_lookup_num_tokens,
                    prompt=prompt.cpu().tolist(), eager_tokens=r.reference.cpu().tolist())
    if r.first_mismatch is not None:
        ctx.flags.append("prompt_lookup_tokens_mismatch")
        ctx.info["first_mismatch"] = r.first_mismatch


def repetitive_prompt(ids: torch.Tensor, length: int) -> torch.Tensor:
    """The seeded prompt's first length/4 tokens, repeated to `length`: n-grams recur, so the
    lookup has candidates to propose."""
    motif = ids[:, :max(1, length // MOTIF_DIVISOR)]
    return motif.repeat(1, -(-length // motif.shape[1]))[:, :length]
