"""A forced SDPA kernel (the `sdpa_kernel` axis): torch's `sdpa_kernel` context, entered by
the worker around the whole scenario, so it holds around compilation and every call.

Whether it took effect is checked before anything is measured: one tiny attention call of
the model's head size and dtype under the context, where every other kernel is disabled,
so torch cannot fall back to another one; a kernel the device cannot run raises, and its
message is the reason the scenario is skipped.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

from .unsupported import Unsupported

BACKENDS = {"flash": "FLASH_ATTENTION", "efficient": "EFFICIENT_ATTENTION", "math": "MATH",
            "cudnn": "CUDNN_ATTENTION"}


def forced(ctx) -> contextlib.AbstractContextManager:
    """The scenario's kernel context (nothing for `auto`), after checking that it runs."""
    p = ctx.params
    if p.sdpa_kernel == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = getattr(SDPBackend, BACKENDS[p.sdpa_kernel])
    heads, head_dim = _head_shape(ctx.model_path)
    q = torch.randn(1, heads, 4, head_dim, device=ctx.device, dtype=getattr(torch, p.dtype))
    with sdpa_kernel(backend):
        try:
            torch.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise Unsupported(f"sdpa_kernel {p.sdpa_kernel} cannot run on {ctx.device.type} ({p.dtype}, "
                              f"head_dim {head_dim}): torch says: {first}") from None
        chosen = torch._fused_sdp_choice(q, q, q, is_causal=True)  # what the dispatcher picks under it
    ctx.info["sdpa_backend"] = SDPBackend(chosen).name
    return sdpa_kernel(backend)


def unforced() -> contextlib.AbstractContextManager:
    """Every kernel enabled again (torch's default), inside a forced region: the reference."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([getattr(SDPBackend, name) for name in BACKENDS.values()])


def _head_shape(model_path: str) -> tuple[int, int]:
    """Attention heads and head size from the checkpoint's config, without loading the model."""
    config_file = Path(model_path) / "config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text())
    else:  # a hub id: transformers finds its config in the hub cache
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_path).to_dict()
    heads = config["num_attention_heads"]
    return heads, config.get("head_dim") or config["hidden_size"] // heads
