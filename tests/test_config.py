"""The scenario matrix and its validation (benchmark/config.py): pure functions, no torch."""

from __future__ import annotations

import json

import pytest

from benchmark.config import (KINDS, BenchConfig, ConfigError, ScenarioParams, build_config, expand,
                              load_config_file)


def test_expand_is_the_cartesian_product():
    scenarios = expand({"kind": "compiled_decode", "compile_mode": ["default", "reduce-overhead"],
                        "new_tokens": [6, 8], "repetitions": 3, "warmup": 2})
    assert len(scenarios) == 4
    assert {(s.compile_mode, s.new_tokens) for s in scenarios} == {
        ("default", 6), ("default", 8), ("reduce-overhead", 6), ("reduce-overhead", 8)}
    assert all(s.repetitions == 3 and s.warmup == 2 for s in scenarios)
    names = [s.name() for s in scenarios]
    assert len(set(names)) == 4
    assert "compiled_decode[new_tokens=6,compile_mode=default]" in names
    # the default compile mode is not named; warmup / repetitions never are
    assert "compiled_decode[new_tokens=8]" in names
    assert not any("warmup" in n or "repetitions" in n or "timeout" in n for n in names)


def test_name_is_stable_and_only_names_non_defaults():
    assert ScenarioParams(kind="eager").name() == "eager"
    assert ScenarioParams(kind="eager", warmup=3, repetitions=9, timeout_s=5).name() == "eager"
    p = ScenarioParams(kind="compiled_generate", fullgraph=False, dtype="bfloat16")
    assert p.name() == "compiled_generate[dtype=bfloat16,fullgraph=False]"
    assert ScenarioParams(kind="compiled_generate", dtype="bfloat16", fullgraph=False).name() == p.name()


@pytest.mark.parametrize("entry, message", [
    ({"kind": "load", "colour": "red"}, "unknown scenario parameter(s): colour"),
    ({"new_tokens": 6}, "every scenario needs a kind"),
    ({"kind": "load", "new_tokens": []}, "empty list for new_tokens"),
])
def test_expand_rejects(entry, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expand(entry)


def test_build_config_default_is_the_seed_suite():
    cfg = build_config({})
    assert [s.kind for s in cfg.scenarios] == list(KINDS)
    assert [s.name() for s in cfg.scenarios] == list(KINDS)
    assert cfg.model == "auto" and cfg.inductor_cache == "fresh" and cfg.sample_interval_ms == 100.0
    assert all(s.compile_mode == "reduce-overhead" and s.repetitions == 5 for s in cfg.scenarios)


def test_build_config_cli_overrides_file_defaults_and_entries():
    data = {"model": "micro-llama", "seed": 3,
            "defaults": {"new_tokens": 10, "repetitions": 4},
            "scenarios": [{"kind": "eager", "new_tokens": 12},
                          {"kind": "compiled_decode", "compile_mode": ["default", "max-autotune"]}]}
    cfg = build_config(data)
    assert [(s.kind, s.new_tokens, s.repetitions) for s in cfg.scenarios] == [
        ("eager", 12, 4), ("compiled_decode", 10, 4), ("compiled_decode", 10, 4)]
    assert cfg.model == "micro-llama" and cfg.seed == 3

    cfg = build_config(data, {"new_tokens": 6, "model": "tiny-llama", "seed": None, "warmup": 0})
    assert {s.new_tokens for s in cfg.scenarios} == {6}  # beats both the defaults and the entry
    assert {s.warmup for s in cfg.scenarios} == {0}
    assert cfg.model == "tiny-llama" and cfg.seed == 3  # None means "not given"


def test_build_config_kinds_filter():
    data = {"scenarios": [{"kind": "eager"}, {"kind": "compiled_decode", "new_tokens": [6, 7]}]}
    cfg = build_config(data, {"kinds": ["compiled_decode"]})
    assert [s.name() for s in cfg.scenarios] == ["compiled_decode[new_tokens=6]", "compiled_decode[new_tokens=7]"]
    # without [[scenarios]] in the file, the kinds are the scenarios, with the file's defaults
    cfg = build_config({"defaults": {"new_tokens": 9}}, {"kinds": ["load", "selftest_crash"]})
    assert [s.name() for s in cfg.scenarios] == ["load[new_tokens=9]", "selftest_crash[new_tokens=9]"]
    with pytest.raises(ConfigError, match="none of the configured scenarios"):
        build_config(data, {"kinds": ["load"]})


BAD = [
    ({"model": ""}, "model must be"),
    ({"model": 5}, "model must be"),
    ({"device": "tpu"}, "device must be"),
    ({"device": "cuda:x"}, "device must be"),
    ({"seed": "1"}, "seed must be an integer"),
    ({"seed": True}, "seed must be an integer"),
    ({"sample_interval_ms": 0.5}, "sample_interval_ms"),
    ({"sample_interval_ms": 70000}, "sample_interval_ms"),
    ({"sample_interval_ms": True}, "sample_interval_ms"),
    ({"sample_interval_ms": float("nan")}, "sample_interval_ms"),
    ({"inductor_cache": "sometimes"}, "inductor_cache must be one of"),
    ({"bogus": 1}, "unknown config key"),
    ({"defaults": 3}, "defaults must be a table"),
    ({"scenarios": [1]}, "scenarios must be a list of tables"),
    ({"scenarios": [{"kind": "bogus"}]}, "unknown scenario kind 'bogus'"),
    ({"defaults": {"dtype": "int8"}}, "dtype must be one of"),
    ({"defaults": {"attn_implementation": "x"}}, "attn_implementation must be one of"),
    ({"defaults": {"cache_implementation": "x"}}, "cache_implementation must be one of"),
    ({"defaults": {"compile_mode": "x"}}, "compile_mode must be one of"),
    ({"defaults": {"batch_size": 0}}, "batch_size must be an integer >= 1"),
    ({"defaults": {"prompt_length": 0}}, "prompt_length must be an integer >= 1"),
    ({"defaults": {"new_tokens": 2}}, "new_tokens must be an integer >= 3"),
    ({"defaults": {"new_tokens": 6.0}}, "new_tokens must be an integer"),
    ({"defaults": {"new_tokens": True}}, "new_tokens must be an integer"),
    ({"defaults": {"warmup": -1}}, "warmup must be an integer >= 0"),
    ({"defaults": {"repetitions": 0}}, "repetitions must be an integer >= 1"),
    ({"defaults": {"fullgraph": "yes"}}, "fullgraph must be true or false"),
    ({"defaults": {"timeout_s": 0}}, "timeout_s must be a positive number"),
    ({"defaults": {"timeout_s": "10"}}, "timeout_s must be a positive number"),
    # BUG: nan passes `timeout_s <= 0`: every scenario then "times out after nan s" at once
    ({"defaults": {"timeout_s": float("nan")}}, "timeout_s must be a positive number"),
    # BUG: inf passes too, and threading's wait(inf) raises OverflowError in the runner
    ({"defaults": {"timeout_s": float("inf")}}, "timeout_s must be a positive number"),
    ({"scenarios": [{"kind": "load"}, {"kind": "load", "repetitions": 2}]}, "appears twice"),
]


def _id(data: dict) -> str:
    key, value = next(iter(data.items()))
    if key == "defaults" and isinstance(value, dict):
        key, value = next(iter(value.items()))
    return f"{key}={value!r}"[:40]


@pytest.mark.parametrize("data, message", BAD, ids=[_id(d) for d, _ in BAD])
def test_validation_errors_are_one_line(data, message):
    with pytest.raises(ConfigError) as info:
        build_config(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_override_and_empty_matrix():
    with pytest.raises(ConfigError, match="unknown option"):
        build_config({}, {"colour": "red"})
    with pytest.raises(ConfigError, match="no scenarios to run"):
        BenchConfig(scenarios=[]).validate()


def test_hash_is_stable_under_key_order_and_tells_matrices_apart():
    a = build_config({"model": "micro-llama", "seed": 1, "defaults": {"new_tokens": 6, "repetitions": 2}})
    b = build_config({"defaults": {"repetitions": 2, "new_tokens": 6}, "seed": 1, "model": "micro-llama"})
    assert a.hash() == b.hash() and len(a.hash()) == 64
    c = build_config({"model": "micro-llama", "seed": 1, "defaults": {"new_tokens": 7, "repetitions": 2}})
    d = build_config({"model": "micro-llama", "seed": 1, "defaults": {"new_tokens": 6, "repetitions": 2}},
                     {"kinds": ["load"]})
    assert len({a.hash(), c.hash(), d.hash()}) == 3
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()


def test_load_config_file_toml_and_json(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('model = "micro-llama"\n[defaults]\nnew_tokens = 6\n'
                    '[[scenarios]]\nkind = "compiled_decode"\ncompile_mode = ["default", "reduce-overhead"]\n')
    data = load_config_file(toml)
    assert data == {"model": "micro-llama", "defaults": {"new_tokens": 6},
                    "scenarios": [{"kind": "compiled_decode", "compile_mode": ["default", "reduce-overhead"]}]}
    assert len(build_config(data).scenarios) == 2
    js = tmp_path / "c.json"
    js.write_text(json.dumps(data))
    assert load_config_file(js) == data
    assert build_config(load_config_file(js)).hash() == build_config(data).hash()


@pytest.mark.parametrize("name, content, message", [
    ("c.toml", 'model = "x\n', "cannot parse config"),
    ("c.json", "{nope", "cannot parse config"),
    ("c.json", "[1, 2]", "must be a table/object at the top level"),
    ("missing.toml", None, "cannot read config"),
])
def test_load_config_file_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert message in str(info.value) and "\n" not in str(info.value)
