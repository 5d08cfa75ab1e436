"""Compiled decode step: the seed's time to first / second / third token and mean time to
next token, with compilation timed on its own and greedy tokens checked against eager."""

from __future__ import annotations

import torch

from ...trackers.compile_stats import CompileCounters, cudagraphs_applied
from ...trackers.energy import EnergyMeter
from ..context import tokens_match
from ..agreement import KL_FIGURE, mean_kl, teacher_forced_steps
from ..decode import decode_step, next_logits, prefill, timed_generate
from ..profile import record as record_profile


def run(ctx) -> None:
    p = ctx.params
    model, prompt, timer, cache = ctx.setup()

    ctx.phase("eager_reference")
    reference, _ = timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer)

    ctx.phase("compile")
    ctx.progress(f"compiling prefill and decode step (mode={p.compile_mode})")
    counters = CompileCounters()
    step = torch.compile(decode_step, mode=p.compile_mode, fullgraph=p.fullgraph)
    prefill_c = torch.compile(prefill, mode=p.compile_mode, fullgraph=p.fullgraph)
    uses_graphs = p.compile_mode in ("reduce-overhead", "max-autotune") and ctx.device.type == "cuda"
    mark = torch.compiler.cudagraph_mark_step_begin if uses_graphs else None

    def generate(per_step=True, timer=timer):
        return timed_generate(model, prompt, cache, p.new_tokens, step, timer,
                              prefill_fn=prefill_c, before_step=mark, per_step=per_step)

    _, first = generate()  # compiles prefill (first interval) and the step (second)
    ctx.add("compile_prefill_time_secs", [first[0]])
    ctx.add("compile_decode_step_time_secs", [first[1]])
    for i in range(p.warmup):
        ctx.progress(f"warmup {i + 1}/{p.warmup}")
        generate()
    compiled = counters.snapshot()

    ctx.phase("decode")
    ttft, tt2, tt3, ttnt, means, tight, match = [], [], [], [], [], [], []
    mismatch = None
    with EnergyMeter.of(ctx.device) as energy:
        for _ in range(p.repetitions):
            # alternate with a tight loop (one interval over all steps), side by side
            _, (_, total) = generate(per_step=False)
            tight.append(total / (p.new_tokens - 1))
            tokens, intervals = generate()
            steps = intervals[1:]
            ttft.append(intervals[0])
            tt2.append(steps[0])
            tt3.append(steps[1])
            ttnt.extend(steps)
            means.append(sum(steps) / len(steps))  # exactly the steps timed
            same, first_diff = tokens_match(tokens, reference)
            match.append(float(same))
            mismatch = mismatch if same else first_diff
        measured = counters.snapshot()
    record_profile(ctx, lambda t: generate(timer=t))  # after the counters' and energy's last reading
    if energy.joules is not None:
        generated = 2 * p.repetitions * p.new_tokens * p.batch_size  # tight + measured, each repetition
        ctx.add("energy_per_token_joules", [energy.joules / generated])
    else:
        ctx.add_unmeasured("energy_per_token_joules", energy.why)

    ctx.add("time_to_first_token_secs", ttft)
    ctx.add("time_to_second_token_secs", tt2)
    ctx.add("time_to_third_token_secs", tt3)
    ctx.add("time_to_next_token_mean_secs", means)
    ctx.add("time_to_next_token_secs", ttnt)
    ctx.add("time_to_next_token_tight_loop_secs", tight)
    ctx.add("decode_tokens_per_sec", [p.batch_size / m for m in means])
    ctx.add("tokens_match_eager", match)
    ctx.add("graphs_compiled", [compiled["unique_graphs"]])
    ctx.add("recompiles_during_measurement", [measured["unique_graphs"] - compiled["unique_graphs"]])
    ctx.add("graph_breaks", [measured["graph_breaks"]])
    ctx.info.update(compile_mode=p.compile_mode, cudagraphs=cudagraphs_applied(p.compile_mode, ctx.device, measured),
                    cudagraph_skips=measured["cudagraph_skips"], eager_tokens=reference.cpu().tolist())
    if mismatch is not None:
        ctx.flags.append("compiled_tokens_mismatch")
        ctx.info["first_mismatch"] = mismatch

    # After the counters' last snapshot: the compiled logits function below compiles graphs of its own.
    ctx.phase("drift")
    compiled_logits = torch.compile(next_logits, mode=p.compile_mode, fullgraph=p.fullgraph)
    logits = teacher_forced_steps(model, prompt, reference, cache, compiled_logits, before_step=mark)
    ctx.add(KL_FIGURE, [mean_kl(logits, teacher_forced_steps(model, prompt, reference, cache))])
