"""Prompt-lookup decoding: `generate(prompt_lookup_num_tokens=N)` on a prompt with
repetition, beside plain greedy `generate` of the same prompt in the same process, calls
alternating. Greedy, exactly `new_tokens` tokens, a dynamic cache, batch 1. Per-token
latency is the wall time of one generate / the tokens it generated (not per forward: a
forward here verifies several candidate tokens at once)."""

from __future__ import annotations

import torch

from ..context import calls_needed, generation_config, split_warm, tokens_match

MOTIF_DIVISOR = 4  # the prompt is a seeded motif of prompt_length / 4 tokens, repeated


def run(ctx) -> None:
    p = ctx.params
    model, _ = ctx.load()
    prompt = repetitive_prompt(ctx.prompt(model), p.prompt_length)
    mask = torch.ones_like(prompt)
    timer = ctx.timer()
    plain = generation_config(p)
    plain.cache_implementation = None  # transformers' default dynamic cache: candidates are cropped from it
    plain.disable_compile = True
    lookup = generation_config(p)
    lookup.cache_implementation = None
    lookup.disable_compile = True
    lookup.prompt_lookup_num_tokens = p.prompt_lookup_num_tokens

    def generate(gc):
        with torch.inference_mode():
            out, seconds = timer.time(model.generate, input_ids=prompt, attention_mask=mask, generation_config=gc)
        return out[:, prompt.shape[1]:], seconds

    ctx.phase("generate")
    plain_times, lookup_times, match, mismatch = [], [], [], None
    for i in range(calls_needed(p, 1)):
        ctx.progress(f"greedy and prompt-lookup generate {i + 1}")
        reference, seconds = generate(plain)
        plain_times.append(seconds)
        tokens, seconds = generate(lookup)
        lookup_times.append(seconds)
        same, first = tokens_match(tokens, reference)
        match.append(float(same))
        mismatch = mismatch if same else first
    steady_lookup, steady_plain = split_warm(lookup_times, p.warmup), split_warm(plain_times, p.warmup)
    ctx.add("prompt_lookup_time_per_token_secs", [s / p.new_tokens for s in steady_lookup])
    ctx.add("prompt_lookup_tokens_per_sec", [p.new_tokens / s for s in steady_lookup])
    ctx.add("greedy_time_per_token_secs", [s / p.new_tokens for s in steady_plain])
    ctx.add("tokens_match_eager", match)
    ctx.add("prompt_lookup_forwards", [count_forwards(model, lambda: generate(lookup))])
    ctx.info.update(greedy_forwards=count_forwards(model, lambda: generate(plain)),
                    prompt_lookup_num_tokens=p.prompt_lookup_num_tokens, prompt=prompt.cpu().tolist(),
                    eager_tokens=reference.cpu().tolist())
    if mismatch is not None:
        ctx.flags.append("prompt_lookup_tokens_mismatch")
        ctx.info["first_mismatch"] = mismatch


def repetitive_prompt(ids: torch.Tensor, length: int) -> torch.Tensor:
    """The seeded prompt's first length/4 tokens, repeated to `length`: n-grams recur, so the
    lookup has candidates to propose."""
    motif = ids[:, :max(1, length // MOTIF_DIVISOR)]
    return motif.repeat(1, -(-length // motif.shape[1]))[:, :length]


def count_forwards(model, call) -> int:
    """Forwards of the model during `call` (untimed: a hook is not free)."""
    calls = []
    handle = model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        call()
    finally:
        handle.remove()
    return len(calls)
