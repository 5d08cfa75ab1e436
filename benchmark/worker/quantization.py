"""The bitsandbytes backend (the `quantization` axis): load and weight memory.

bitsandbytes refuses `.to(device)` on a quantized model, so it is loaded with
`device_map` straight onto the device; prefill and decode steps are the shared ones
(worker/decode.py): a quantized model is still a torch module with the same forward.
"""

from __future__ import annotations

import torch

from .unsupported import Unsupported

# bitsandbytes (0.50) repacks 4-bit weights for its AVX512-BF16 CPU kernel on the first forward,
# asserting that every layer's output size is a multiple of this (_convert_weight_packed_for_cpu)
CPU_PACK_BLOCK = 32

CONFIGS = {  # BitsAndBytesConfig keywords; 4-bit computes in the scenario's dtype
    "bnb-8bit": {"load_in_8bit": True},
    "bnb-4bit-nf4": {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"},
    "bnb-4bit-fp4": {"load_in_4bit": True, "bnb_4bit_quant_type": "fp4"},
}


def load_quantized(path_or_id: str, dtype: str, attn_implementation: str, quantization: str, device: str):
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from ..models import _dtype_kwarg

    kwargs = dict(CONFIGS[quantization])
    if kwargs.get("load_in_4bit"):
        kwargs["bnb_4bit_compute_dtype"] = getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(
        path_or_id, attn_implementation=attn_implementation, quantization_config=BitsAndBytesConfig(**kwargs),
        device_map=device, **{_dtype_kwarg(): getattr(torch, dtype)})
    return model.eval()


def weight_memory_bytes(model) -> int:
    """Bytes of the model's state as loaded: every tensor of its state_dict (parameters,
    buffers and bitsandbytes' quantization state: 8-bit row scales, 4-bit absmax and code
    map), a storage shared by two names (tied weights) counted once."""
    seen, total = set(), 0
    for t in model.state_dict().values():
        key = (t.data_ptr(), t.nbytes)
        if key not in seen:
            seen.add(key)
            total += t.nbytes
    return total


def refuse_unrunnable(model) -> None:
    """Raise Unsupported, before anything is measured, where bitsandbytes' CPU 4-bit kernel
    would fail on the first forward: a quantized layer whose output size is not a multiple of
    CPU_PACK_BLOCK, on a CPU with AVX512-BF16 (where bitsandbytes takes that kernel)."""
    import bitsandbytes as bnb
    from bitsandbytes.functional import has_avx512bf16

    if model.device.type != "cpu" or not has_avx512bf16():
        return
    for name, module in model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit) and module.out_features % CPU_PACK_BLOCK:
            raise Unsupported(f"bitsandbytes {bnb.__version__}'s 4-bit CPU kernel (AVX512-BF16) needs every "
                              f"quantized layer's output size to be a multiple of {CPU_PACK_BLOCK}: {name} has "
                              f"{module.out_features}")
