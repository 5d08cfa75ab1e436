"""Compiled `generate` with a static cache: the seed's four calls (the first compiles),
then steady-state calls, with the greedy tokens checked against eager `generate`."""

from __future__ import annotations

import torch

from ...trackers.compile_stats import CompileCounters, cudagraphs_applied
from ..compat import compile_config
from ..context import calls_needed, generation_config, split_warm, tokens_match
from ..profile import record_generate

SEED_KEYS = ("first", "second", "third", "fourth")


def run(ctx) -> None:
    p = ctx.params
    model, _ = ctx.load()
    prompt = ctx.prompt(model.config)
    mask = torch.ones_like(prompt)
    timer = ctx.timer()

    ctx.phase("eager_reference")
    eager_gc = generation_config(p)
    eager_gc.disable_compile = True
    with torch.inference_mode():
        reference = model.generate(input_ids=prompt, attention_mask=mask, generation_config=eager_gc)

    gc = generation_config(p)
    counters = CompileCounters()
    ctx.info["compile_path"] = _enable_compile(model, gc, p, ctx.device)
    times, match, mismatch = [], [], None
    for i in range(calls_needed(p, len(SEED_KEYS))):
        if i < 2:
            ctx.phase("compile" if i == 0 else "generate")
        ctx.progress(f"compiled generate {i + 1}" + (" (compiling)" if i == 0 else ""))
        with torch.inference_mode():
            out, seconds = timer.time(model.generate, input_ids=prompt, attention_mask=mask, generation_config=gc)
        times.append(seconds)
        same, first_diff = tokens_match(out, reference)
        match.append(float(same))
        mismatch = mismatch if same else first_diff
    counts = counters.snapshot()

    # after the counters' last reading
    record_generate(ctx, model, input_ids=prompt, attention_mask=mask, generation_config=gc)

    for key, seconds in zip(SEED_KEYS, times):
        ctx.add(f"{key}_compile_generate_time_secs", [seconds])
    steady = split_warm(times, p.warmup)
    ctx.add("compiled_generate_time_secs", steady)
    ctx.add("compiled_generate_tokens_per_sec", [p.batch_size * p.new_tokens / s for s in steady])
    ctx.add("tokens_match_eager", match)
    ctx.add("graphs_compiled", [counts["unique_graphs"]])
    ctx.add("graph_breaks", [counts["graph_breaks"]])
    ctx.info.update(compile_mode=p.compile_mode, cudagraphs=cudagraphs_applied(p.compile_mode, ctx.device, counts),
                    cudagraph_skips=counts["cudagraph_skips"])
    if counts["unique_graphs"] == 0:
        ctx.flags.append("generate_not_compiled")
    if mismatch is not None:
        ctx.flags.append("compiled_tokens_mismatch")
        ctx.info["first_mismatch"] = mismatch


def _enable_compile(model, gc, p, device) -> str:
    """transformers' own path where it exists (it compiles the decode forward only);
    on older versions the seed's recipe, compiling `model.forward` by hand."""
    CompileConfig = compile_config()
    if CompileConfig is None:
        model.forward = torch.compile(model.forward, mode=p.compile_mode, fullgraph=p.fullgraph)
        return "model.forward"
    gc.compile_config = CompileConfig(fullgraph=p.fullgraph, mode=p.compile_mode)
    if device.type != "cuda":
        # transformers auto-compiles on accelerators only; this (private) switch lifts that.
        gc.compile_config._compile_all_devices = True
    return "generation_config.compile_config"
