"""Adding an axis renames nothing: the series keys (and config hashes) of the seed's default
suite and of every example config, computed before the per-kind parameters and the
optimization axes existed (at commit e939357), pinned here. A change to these literals
breaks every stored history (see contracts/identity.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.contracts import identity
from benchmark.contracts.config import (
    DEFAULTS, KINDS, LATE, PARAMS, SCENARIO_FIELDS, ConfigError, ScenarioParams, build_config, load_config_file,
)

CONFIGS = Path(__file__).resolve().parents[1] / "benchmark" / "configs"
ENVS = {"cpu": {"device": "cpu", "cpu_model": "Test CPU", "model": {"key": "tiny-llama"}},
        "cuda": {"device": "cuda:0", "gpu_name": "NVIDIA H100 80GB HBM3", "model": {"key": "llama-2-7b"}}}

KEYS = {
    '<default suite> cpu load': 'eb017b98dc97cd17b892',
    '<default suite> cpu eager': 'c93e158fed186082bee4',
    '<default suite> cpu compiled_decode': '5c35a90b93b8aa53965b',
    '<default suite> cpu compiled_generate': 'f6dea35312c9a13f685c',
    '<default suite> cuda load': 'c4e32395de028862c048',
    '<default suite> cuda eager': 'b1d1ea92f6b64fb8c651',
    '<default suite> cuda compiled_decode': '73baedb2015b39a84903',
    '<default suite> cuda compiled_generate': '4791343b75695460f2b5',
    'attention.toml cpu eager[attn_implementation=eager,prompt_length=64,new_tokens=16]': 'e80140802d4c17731ef4',
    'attention.toml cpu eager[prompt_length=64,new_tokens=16]': '5dc9ae848495a928ddc4',
    'attention.toml cpu compiled_decode[attn_implementation=eager,prompt_length=64,new_tokens=16,compile_mode=default]': '9a46dadbab6c9aa0588e',
    'attention.toml cpu compiled_decode[prompt_length=64,new_tokens=16,compile_mode=default]': '95f82a34112657634842',
    'attention.toml cuda eager[attn_implementation=eager,prompt_length=64,new_tokens=16]': 'a50bc9bffebdb66d9cc1',
    'attention.toml cuda eager[prompt_length=64,new_tokens=16]': '3d718cf4f1ba469087dc',
    'attention.toml cuda compiled_decode[attn_implementation=eager,prompt_length=64,new_tokens=16,compile_mode=default]': '1c4944799165fb3be4d9',
    'attention.toml cuda compiled_decode[prompt_length=64,new_tokens=16,compile_mode=default]': 'b3687a3943e3abb230ae',
    'compile-modes.toml cpu eager[prompt_length=32,new_tokens=32]': 'e74510d4fab7a2c7dad7',
    'compile-modes.toml cpu compiled_decode[prompt_length=32,new_tokens=32,compile_mode=default]': '2e3476e8e7e8be428bda',
    'compile-modes.toml cpu compiled_decode[prompt_length=32,new_tokens=32]': '397656adedb3c92af4d0',
    'compile-modes.toml cpu compiled_decode[prompt_length=32,new_tokens=32,compile_mode=max-autotune-no-cudagraphs]': '2672d5d5274b4bed9b46',
    'compile-modes.toml cpu compiled_decode[prompt_length=32,new_tokens=32,cache_implementation=dynamic,compile_mode=default,fullgraph=False]': 'df15e33fa9e350f9ee9e',
    'compile-modes.toml cuda eager[prompt_length=32,new_tokens=32]': '700380a9ca8483523b8c',
    'compile-modes.toml cuda compiled_decode[prompt_length=32,new_tokens=32,compile_mode=default]': '53bd7a92a1e95c3e60ad',
    'compile-modes.toml cuda compiled_decode[prompt_length=32,new_tokens=32]': 'bf3d102b0aa15ecbd255',
    'compile-modes.toml cuda compiled_decode[prompt_length=32,new_tokens=32,compile_mode=max-autotune-no-cudagraphs]': 'd0292bb88fe2d9348300',
    'compile-modes.toml cuda compiled_decode[prompt_length=32,new_tokens=32,cache_implementation=dynamic,compile_mode=default,fullgraph=False]': '38233f2e46175aa6cd65',
    'seed.toml cpu load': 'eb017b98dc97cd17b892',
    'seed.toml cpu eager': 'c93e158fed186082bee4',
    'seed.toml cpu compiled_decode': '5c35a90b93b8aa53965b',
    'seed.toml cpu compiled_generate': 'f6dea35312c9a13f685c',
    'seed.toml cuda load': 'c4e32395de028862c048',
    'seed.toml cuda eager': 'b1d1ea92f6b64fb8c651',
    'seed.toml cuda compiled_decode': '73baedb2015b39a84903',
    'seed.toml cuda compiled_generate': '4791343b75695460f2b5',
}
CONFIG_HASHES = {
    '<default suite> cpu': 'cefaa8586e497ee78f0a49006bb4bb4b3f003eb5a68843606dfd9a66303fa903',
    '<default suite> cuda': 'f474c369abaa52226ce3a59a696a5c06e0af41aeb79a654de7afbbc1fb636f4b',
    'attention.toml cpu': 'ce5821c4c7849f585c874c5801d1c563d00ab3deea8779a0d4ebfa1020725113',
    'attention.toml cuda': 'dfd911966a54abac5432284e2d92be02dca9b820f88069ed0649abe2f592c8d1',
    'compile-modes.toml cpu': '5b25d86beb6fbe678dd7e8a4906d47d24fe361f8f25440fb2ba2d14a2a4a2148',
    'compile-modes.toml cuda': 'e7900b3bbdadb4f1cc3ae4e05efafce3d62a7ed37e8165fa102842589cdab147',
    'seed.toml cpu': 'cefaa8586e497ee78f0a49006bb4bb4b3f003eb5a68843606dfd9a66303fa903',
    'seed.toml cuda': 'f474c369abaa52226ce3a59a696a5c06e0af41aeb79a654de7afbbc1fb636f4b',
}


def sources() -> dict:
    """The suite and the examples that existed then (a new example has no history to keep)."""
    pinned = sorted({label.split(" ")[0] for label in CONFIG_HASHES} - {"<default"})
    return {"<default suite>": {}} | {name: load_config_file(CONFIGS / name) for name in pinned}


def test_the_keys_and_hashes_of_the_suite_and_the_examples_are_those_before_the_axes():
    keys, hashes = {}, {}
    for label, data in sources().items():
        for device, env in ENVS.items():
            cfg = build_config(data).resolve(device)
            hashes[f"{label} {device}"] = cfg.hash()
            for s in cfg.scenarios:
                keys[f"{label} {device} {s.name(device)}"] = identity.key_of("m", env, s.kind, s.to_dict())
    assert keys == KEYS
    assert hashes == CONFIG_HASHES


def test_every_field_has_one_validator():
    assert set(PARAMS) == set(SCENARIO_FIELDS) - {"kind"}
    for kind in KINDS.values():
        assert set(kind.params) <= set(PARAMS)


@pytest.mark.parametrize("late", sorted(LATE))
def test_a_late_parameter_keys_a_series_only_away_from_its_default(late):
    kind = next(k for k, v in KINDS.items() if late in v.params)
    base = ScenarioParams(kind=kind, dtype="float32")
    other = {"sdpa_kernel": "math", "prompt_lookup_num_tokens": 3, "draft_layers": 2, "quantization": "bnb-8bit"}[late]
    moved = ScenarioParams(kind=kind, dtype="float32", **{late: other})
    moved.validate()
    env = ENVS["cpu"]
    plain = base.to_dict()
    assert late not in plain  # stored and hashed as before the axis existed
    assert identity.key_of("m", env, kind, plain) == identity.key_of("m", env, kind, plain | {late: DEFAULTS[late]})
    assert identity.key_of("m", env, kind, moved.to_dict()) != identity.key_of("m", env, kind, plain)
    assert moved.name("cpu") == f"{kind}[{late}={other}]"


def test_a_new_axis_of_one_kind_is_an_error_in_another():
    with pytest.raises(ConfigError, match="^sdpa_kernel is not a parameter of load "):
        build_config({"scenarios": [{"kind": "load", "sdpa_kernel": "math"}]})
    # an override applies only to the kinds that use it: load keeps its series
    cfg = build_config({"scenarios": [{"kind": "load"}, {"kind": "eager"}]}, {"sdpa_kernel": "math"})
    assert [s.name("cpu") for s in cfg.scenarios] == ["load", "eager[sdpa_kernel=math]"]
