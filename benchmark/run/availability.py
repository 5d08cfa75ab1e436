"""What this machine cannot run, found before a worker is spawned: a scenario that needs a
package that is not installed or hardware that is not here is recorded as skipped, with
the reason, rather than failing. What only the device can tell (a forced SDPA kernel, a
dtype) the worker finds out, raising worker.context.Unsupported."""

from __future__ import annotations

from importlib.util import find_spec

from ..contracts.config import ScenarioParams


def unavailable(params: ScenarioParams, device: str) -> str | None:
    """Why `params` cannot run on `device` with the installed libraries; None if it may."""
    attn = params.attn_implementation
    if attn == "flash_attention_2":
        if not device.startswith("cuda"):
            return f"attn_implementation flash_attention_2 needs a CUDA GPU (device is {device})"
        if find_spec("flash_attn") is None:
            return "attn_implementation flash_attention_2 needs the flash-attn package, which is not installed"
    if attn == "flex_attention" and not _flex_available():
        import torch

        return f"attn_implementation flex_attention needs torch.nn.attention.flex_attention (torch {torch.__version__})"
    return None


def _flex_available() -> bool:
    # transformers' own test, where it has one: it knows the torch versions it supports
    from transformers.utils import is_torch_flex_attn_available

    return is_torch_flex_attn_available()
