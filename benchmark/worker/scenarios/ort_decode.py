"""ONNX Runtime: export (once per checkpoint), session creation, then the shared greedy decode
loop with ONNX Runtime's prefill and step; greedy tokens against PyTorch eager's."""

from __future__ import annotations

import gc

import torch

from .. import ort
from ..agreement import first_divergence, top1_agreement
from ..context import calls_needed, split_warm
from ..decode import decode_step, make_cache, timed_generate


def run(ctx) -> None:
    p = ctx.params
    model, _ = ctx.load()
    prompt, timer = ctx.prompt(model), ctx.timer()

    ctx.phase("eager_reference")
    cache = make_cache(model, p.batch_size, p.prompt_length + p.new_tokens, "dynamic")
    reference, _ = timed_generate(model, prompt, cache, p.new_tokens, decode_step, timer)

    ctx.phase("export")
    path = ort.export_path(ctx.model_path, p.dtype, p.attn_implementation)
    ctx.info["onnx_path"] = str(path)
    if path.is_file():
        ctx.add_unmeasured("ort_export_time_secs", f"reused the export at {path}")
    else:
        ctx.progress(f"exporting to {path}")
        _, seconds = timer.time(ort.export, model, path)
        ctx.add("ort_export_time_secs", [seconds])
    config = model.config
    del model, cache  # ONNX Runtime holds its own copy of the weights
    gc.collect()

    ctx.phase("session")
    session, seconds = timer.time(ort.Session, path, config, torch.get_num_threads())
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

    ctx.record_memory()
    ctx.add("first_divergence_position", [first_divergence(tokens, reference)])
    ctx.add("top1_agreement", [top1_agreement(lambda ids: ort.teacher_forced_logits(session, ids), prompt, reference)])
    ctx.info.update(ort_tokens=tokens.tolist(), eager_tokens=reference.tolist(), ort_provider=ort.PROVIDER)
