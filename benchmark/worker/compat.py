"""Where the transformers releases the worker supports differ: pyproject's floor (4.46, the
release transformers' own benchmark/llama.py grew from) to the newest. Every such check lives
here, asked of the installed library by feature rather than by version number, so a release
between two tested ones takes the path its features say. Tested on 4.46.3 (CI's lowest-
transformers job) and the newest the install script takes.
"""

from __future__ import annotations

import inspect
from typing import Any


def generation_cache(implementation: str | None, batch_size: int, max_len: int) -> dict[str, Any]:
    """`GenerationConfig`'s cache arguments for a cache implementation (None: transformers'
    default, a dynamic cache). 4.46 knows no "dynamic" (its default is the dynamic cache), and
    its "static" requires a StaticCacheConfig (which its generate does not read)."""
    from transformers.generation import configuration_utils as gc

    known = getattr(gc, "ALL_CACHE_IMPLEMENTATIONS", None)
    if implementation is None or (implementation == "dynamic" and known is not None and "dynamic" not in known):
        return {}
    kwargs: dict[str, Any] = {"cache_implementation": implementation}
    needs = getattr(gc, "NEEDS_CACHE_CONFIG", None) or {}
    if implementation in needs:
        kwargs["cache_config"] = needs[implementation](batch_size=batch_size, max_cache_len=max_len)
    return kwargs


def static_cache_kwargs(model, batch_size: int, max_len: int) -> dict[str, Any]:
    """`StaticCache`'s arguments: 4.x allocates eagerly and wants the batch, device and dtype."""
    from transformers import StaticCache

    kwargs: dict[str, Any] = {"config": model.config, "max_cache_len": max_len}
    if "batch_size" in inspect.signature(StaticCache.__init__).parameters:
        kwargs.update(batch_size=batch_size, device=model.device, dtype=model.dtype)
    return kwargs


_FORWARD_PARAMS: dict[type, frozenset[str]] = {}


def forward_cache_kwargs(model, cache, position) -> dict[str, Any]:
    """The cache arguments of a model's forward: `cache` (renamed in transformers 5.2x) or
    `past_key_values`, and, before 5, the `cache_position` a static cache is addressed by."""
    cls = type(model)
    if cls not in _FORWARD_PARAMS:
        _FORWARD_PARAMS[cls] = frozenset(inspect.signature(cls.forward).parameters)
    takes = _FORWARD_PARAMS[cls]
    kwargs = {"cache" if "cache" in takes else "past_key_values": cache}
    if "cache_position" in takes:
        kwargs["cache_position"] = position
    return kwargs


def compile_config():
    """transformers' CompileConfig class, or None before it existed (4.46: compiled generate
    then compiles `model.forward` by hand, the seed's recipe)."""
    try:
        from transformers import CompileConfig
    except ImportError:
        return None
    return CompileConfig
