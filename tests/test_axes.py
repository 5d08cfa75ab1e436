"""Optimization axes: configuration errors, skipped scenarios, forced SDPA kernels and
prompt-lookup decoding (issue 9)."""

from __future__ import annotations

import pytest

from benchmark.contracts.config import ConfigError, build_config


def test_better_transformer_is_explained_in_one_line_naming_the_sdpa_axis():
    with pytest.raises(ConfigError) as e:
        build_config({"scenarios": [{"kind": "eager", "attn_implementation": "better_transformer"}]})
    msg = str(e.value)
    assert "\n" not in msg and "Optimum 2.x" in msg and "attn_implementation = sdpa" in msg


def test_a_forced_kernel_needs_sdpa_and_the_error_names_both():
    with pytest.raises(ConfigError, match="^sdpa_kernel = math .* attn_implementation = eager$"):
        build_config({"scenarios": [{"kind": "eager", "attn_implementation": "eager", "sdpa_kernel": "math"}]})
    with pytest.raises(ConfigError, match="^sdpa_kernel must be one of auto, flash, efficient, math, cudnn"):
        build_config({"scenarios": [{"kind": "eager", "sdpa_kernel": "fast"}]})
