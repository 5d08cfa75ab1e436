"""What this machine cannot run, found before a worker is spawned: a scenario that needs a
package that is not installed or hardware that is not here is recorded as skipped, with
the reason, rather than failing. What only the device can tell (a forced SDPA kernel, a
dtype) the worker finds out, raising worker.unsupported.Unsupported."""

from __future__ import annotations

import os
from importlib.util import find_spec

from ..contracts.config import ScenarioParams

QUANTIZATION_MODULES = ("bitsandbytes", "accelerate")  # accelerate: bitsandbytes' device_map placement
ORT_MODULES = ("onnxruntime", "onnx", "onnxscript")  # onnxscript: torch.onnx's exporter
# Modules to treat as not installed: only tests set it, to see a missing package skipped end to end.
HIDE_ENV = "COMMITBENCH_HIDE_MODULES"


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """Those of `names` that cannot be imported here."""
    hidden = set(filter(None, os.environ.get(HIDE_ENV, "").split(",")))
    return [n for n in names if n in hidden or find_spec(n) is None]


def unavailable(params: ScenarioParams, device: str) -> str | None:
    """Why `params` cannot run on `device` with the installed libraries; None if it may."""
    attn = params.attn_implementation
    if attn == "flash_attention_2":
        if not device.startswith("cuda"):
            return f"attn_implementation flash_attention_2 needs a CUDA GPU (device is {device})"
        if find_spec("flash_attn") is None:
            return "attn_implementation flash_attention_2 needs the flash-attn package, which is not installed"
    if params.quantization != "none" and (missing := missing_modules(QUANTIZATION_MODULES)):
        return (f"quantization {params.quantization} needs {' and '.join(missing)}, not installed "
                "(pip install commitbench[quantization])")
    if params.kind == "onnxruntime":
        if missing := missing_modules(ORT_MODULES):
            return (f"kind onnxruntime needs {' and '.join(missing)}, not installed "
                    "(pip install commitbench[onnxruntime])")
        if device != "cpu" and not device.startswith("cuda"):
            return f"kind onnxruntime runs on a CPU or a CUDA GPU (device is {device})"
    if attn == "flex_attention" and not _flex_available():
        import torch

        return f"attn_implementation flex_attention needs torch.nn.attention.flex_attention (torch {torch.__version__})"
    return None


def _flex_available() -> bool:
    # transformers' own test, where it has one: it knows the torch versions it supports
    from transformers.utils import is_torch_flex_attn_available

    return is_torch_flex_attn_available()
