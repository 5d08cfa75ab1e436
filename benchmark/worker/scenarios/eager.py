"""Eager: prompt forward, `generate`, and the hand-written greedy decode loop, uncompiled."""

from __future__ import annotations

import torch

from ..context import calls_needed, generation_config, split_warm, tokens_match
from ..decode import decode_step, prefill, reset_cache, timed_generate
from ..kernels import unforced
from ..profile import record as record_profile
from ..agreement import (KL_FIGURE, agreement, first_divergence, mean_kl, teacher_forced, teacher_forced_steps,
                         torch_logits)
from ..quantization import refuse_unrunnable, weight_memory_bytes


def run(ctx) -> None:
    p = ctx.params
    model, prompt, timer, cache = ctx.setup()
    if p.quantization != "none":
        refuse_unrunnable(model)
    ctx.add("model_weight_bytes", [weight_memory_bytes(model)])

    ctx.phase("eager_forward")
    forward = []
    with torch.inference_mode():
        for _ in range(calls_needed(p, 2)):
            cache = reset_cache(cache)
            _, seconds = timer.time(prefill, model, prompt, cache)
            forward.append(seconds)
    ctx.add("first_eager_forward_pass_time_secs", forward[:1])
    ctx.add("second_eager_forward_pass_time_secs", forward[1:2])
    ctx.add("eager_forward_time_secs", split_warm(forward, p.warmup))

    ctx.phase("eager_generate")
    gc = generation_config(p)
    gc.disable_compile = True  # transformers would otherwise compile a static-cache generate on CUDA
    mask = torch.ones_like(prompt)
    generate, out = [], None
    for i in range(calls_needed(p, 2)):
        ctx.progress(f"eager generate {i + 1}")
        with torch.inference_mode():
            out, seconds = timer.time(model.generate, input_ids=prompt, attention_mask=mask,
                                      generation_config=gc)
        generate.append(seconds)
    ctx.add("first_eager_generate_time_secs", generate[:1])
    ctx.add("second_eager_generate_time_secs", generate[1:2])
    steady = split_warm(generate, p.warmup)
    ctx.add("eager_generate_time_secs", steady)
    ctx.add("eager_generate_tokens_per_sec", [p.batch_size * p.new_tokens / s for s in steady])

    reference = None
    if p.sdpa_kernel != "auto":  # the worker forced a kernel around this whole scenario
        ctx.phase("unforced_reference")
        with unforced():
            reference, _ = timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer)

    ctx.phase("eager_decode")
    runs = []
    for i in range(calls_needed(p, 0)):
        ctx.progress(f"eager decode {i + 1}")
        runs.append(timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer))
    tokens = runs[-1][0]
    timed = [intervals for _, intervals in split_warm(runs, p.warmup)]  # like every other figure
    ctx.add("eager_time_to_first_token_secs", [i[0] for i in timed])
    ctx.add("eager_time_to_next_token_secs", [t for i in timed for t in i[1:]])
    ctx.add("eager_decode_tokens_per_sec", [p.batch_size * len(i[1:]) / sum(i[1:]) for i in timed])
    record_profile(ctx, lambda t: timed_generate(model, prompt, cache, p.new_tokens, decode_step, t))

    # Our decode loop must produce what transformers' own generate produces.
    same, first = tokens_match(out[:, prompt.shape[1]:].cpu(), tokens.cpu())
    ctx.info["eager_tokens"] = tokens.cpu().tolist()
    ctx.add("decode_matches_generate", [float(same)])
    if not same:
        ctx.flags.append("decode_loop_differs_from_generate")
        ctx.info["decode_first_mismatch"] = first
    if reference is not None:  # a forced kernel must give the tokens torch's own choice gives
        same, first = tokens_match(tokens.cpu(), reference.cpu())
        ctx.add("tokens_match_eager", [float(same)])
        if not same:
            ctx.flags.append("forced_kernel_tokens_mismatch")
            ctx.info["kernel_first_mismatch"] = first
    if p.quantization != "none" or p.attn_implementation != "sdpa":
        against_reference(ctx, model, prompt, tokens)
    elif reference is not None:  # the forced kernel's drift from torch's own choice, on the same model
        ctx.phase("drift")  # through the decode path the kernel was measured on
        with unforced():
            expected = teacher_forced_steps(model, prompt, reference, cache)
        ctx.add(KL_FIGURE, [mean_kl(teacher_forced_steps(model, prompt, reference, cache), expected)])


def against_reference(ctx, model, prompt, tokens) -> None:
    """Greedy tokens against a reference model's, loaded into this process after everything
    is measured (its memory is not counted): a quantized model against the unquantized one
    of the same dtype and attention (they may differ: where and how often is recorded); any
    other attention implementation against sdpa's, which it must match exactly. Both: the
    mean KL divergence of the next-token distributions, teacher-forced on the reference's tokens."""
    from ...models import load_model
    from ..decode import make_cache

    p = ctx.params
    quantized = p.quantization != "none"
    ctx.record_memory()
    ctx.phase("reference")
    reference_model = load_model(ctx.model_path, p.dtype, p.attn_implementation if quantized else "sdpa",
                                 str(ctx.device))
    cache = make_cache(reference_model, p.batch_size, p.prompt_length + p.new_tokens, p.cache_implementation)
    reference, _ = timed_generate(reference_model, prompt, cache, p.new_tokens, decode_step, ctx.timer())
    logits = teacher_forced(torch_logits(model), prompt, reference)
    ctx.add(KL_FIGURE, [mean_kl(logits, teacher_forced(torch_logits(reference_model), prompt, reference))])
    if quantized:
        ctx.add("first_divergence_position", [first_divergence(tokens, reference)])
        ctx.add("top1_agreement", [agreement(logits, reference)])
        return
    same, first = tokens_match(tokens.cpu(), reference.cpu())
    ctx.add("tokens_match_sdpa", [float(same)])
    if not same:
        ctx.flags.append("attention_tokens_mismatch")
        ctx.info["attention_first_mismatch"] = first
