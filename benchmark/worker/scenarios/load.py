"""Model load: checkpoint on disk -> model on the device, `repetitions` times."""

from __future__ import annotations

import gc

import torch

from ..quantization import weight_memory_bytes


def run(ctx) -> None:
    times = []
    for i in range(ctx.params.repetitions):
        ctx.progress(f"load {i + 1}/{ctx.params.repetitions}")
        model, seconds = ctx.load()
        times.append(seconds)
        if i == 0:
            ctx.add("model_weight_bytes", [weight_memory_bytes(model)])
        del model
        gc.collect()
        if ctx.device.type == "cuda":
            torch.cuda.empty_cache()
    ctx.add("model_load_time", times)
