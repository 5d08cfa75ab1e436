"""ONNX Runtime: export (once per checkpoint), session creation, then the shared greedy decode
loop with ONNX Runtime's prefill and step; greedy tokens against PyTorch eager's.

The PyTorch model is not in memory while ONNX Runtime is measured (it holds its own copy of
the weights), so the peak memory figures are ONNX Runtime's: the eager reference is decoded
afterwards, and the export, when this run makes it, is done first and freed."""

from __future__ import annotations

import gc
from pathlib import Path

import torch
from transformers import AutoConfig

from .. import ort
from ..agreement import KL_FIGURE, agreement, first_divergence, mean_kl, teacher_forced, torch_logits
from ..context import calls_needed, split_warm
from ..decode import decode_step, make_cache, timed_generate
from ..profile import record as record_profile


def run(ctx) -> None:
    p = ctx.params
    ort.provider(ctx.device)  # a GPU without onnxruntime-gpu: skipped before anything is loaded
    config = AutoConfig.from_pretrained(ctx.model_path)
    prompt, timer = ctx.prompt(config), ctx.timer()

    path = ort.export_path(ctx.model_path, p.dtype, p.attn_implementation)
    ctx.info["onnx_path"] = str(path)
    exported = not path.is_file()
    if exported:
        model, _ = ctx.load()
        ctx.phase("export")
        ctx.progress(f"exporting to {path}")
        _, seconds = timer.time(ort.export, model, path)
        ctx.add("ort_export_time_secs", [seconds])
        del model
        gc.collect()
        if ctx.device.type == "cuda":
            torch.cuda.empty_cache()  # hand the freed weights back: ONNX Runtime's arena allocates outside torch
    else:
        ctx.add_unmeasured("ort_export_time_secs", f"reused the export at {path}")

    ctx.phase("session")
    session, seconds = timer.time(ort.Session, path, config, torch.get_num_threads(), ctx.device)
    ctx.add("ort_session_load_time_secs", [seconds])

    ctx.phase("ort_decode")
    past = session.new_past(p.batch_size)
    runs = []
    for i in range(calls_needed(p, 0)):
        ctx.progress(f"onnxruntime decode {i + 1}")
        runs.append(timed_generate(session, prompt, past, p.new_tokens, ort.step, timer, prefill_fn=ort.prefill))
    tokens = runs[-1][0]
    timed = [intervals for _, intervals in split_warm(runs, p.warmup)]
    ctx.add("ort_time_to_first_token_secs", [i[0] for i in timed])
    ctx.add("ort_time_to_next_token_secs", [t for i in timed for t in i[1:]])
    ctx.add("ort_decode_tokens_per_sec", [p.batch_size * len(i[1:]) / sum(i[1:]) for i in timed])
    _record_memory(ctx, exported)
    # on a second session, made with ONNX Runtime's profiler on; freed before the PyTorch model loads
    record_profile(ctx, lambda s: timed_generate(s.session, prompt, s.session.new_past(p.batch_size), p.new_tokens,
                                                 ort.step, s, prefill_fn=ort.prefill),
                   lambda: ort.ProfiledSession(path, config, torch.get_num_threads(), ctx.device,
                                               Path(ctx.profile_dir)))

    model, _ = ctx.load()  # the session stays: top-1 agreement is teacher-forced on these tokens
    ctx.phase("eager_reference")
    cache = make_cache(model, p.batch_size, p.prompt_length + p.new_tokens, "dynamic")
    reference, _ = timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer)
    ctx.add("first_divergence_position", [first_divergence(tokens, reference)])
    logits = teacher_forced(lambda ids: ort.teacher_forced_logits(session, ids), prompt, reference)
    ctx.add("top1_agreement", [agreement(logits, reference)])
    ctx.add(KL_FIGURE, [mean_kl(logits, teacher_forced(torch_logits(model), prompt, reference))])
    ctx.info.update(ort_tokens=tokens.tolist(), eager_tokens=reference.tolist(), ort_provider=session.provider,
                    ort_io_binding=session.bind)


def _record_memory(ctx, exported: bool) -> None:
    """ONNX Runtime's peak memory, where this process can tell it. Torch's CUDA allocator sees
    only the KV cache and logits torch allocated, not ONNX Runtime's weights or arena, so on a
    GPU those figures are NULL; the host's peak RSS is a lifetime high-water mark, so it is
    NULL when this process also held the PyTorch model for the export."""
    if ctx.device.type == "cuda":
        for name in ("peak_memory_allocated_bytes", "peak_memory_reserved_bytes"):
            ctx.add_unmeasured(name, "ONNX Runtime allocates its weights and arena outside torch's allocator")
    if exported:
        ctx.add_unmeasured("peak_rss_bytes", "this process also held the PyTorch model for the export "
                                             "(a run that reuses the export measures it)")
    ctx.record_memory()
