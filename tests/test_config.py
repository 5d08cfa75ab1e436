"""The scenario matrix and its validation (benchmark/contracts/config.py): pure functions, no torch."""

from __future__ import annotations

import json

import pytest

from benchmark.contracts.config import (
    KINDS, MAX_SCENARIOS, SUITE, BenchConfig, ConfigError, ScenarioParams, build_config, expand, load_config_file,
    parse_name,
)


def names(cfg: BenchConfig, device: str = "cpu") -> list[str]:
    return [s.name(device) for s in cfg.scenarios]


def test_expand_is_the_cartesian_product():
    scenarios = expand({"kind": "compiled_decode", "compile_mode": ["default", "reduce-overhead"],
                        "new_tokens": [6, 8], "repetitions": 3, "warmup": 2})
    assert len(scenarios) == 4
    assert {(s.compile_mode, s.new_tokens) for s in scenarios} == {
        ("default", 6), ("default", 8), ("reduce-overhead", 6), ("reduce-overhead", 8)}
    assert all(s.repetitions == 3 and s.warmup == 2 for s in scenarios)
    got = [s.name("cpu") for s in scenarios]
    assert len(set(got)) == 4
    assert "compiled_decode[new_tokens=6,compile_mode=default]" in got
    # the default compile mode is not named; warmup / repetitions never are
    assert "compiled_decode[new_tokens=8]" in got
    assert not any("warmup" in n or "repetitions" in n or "timeout" in n for n in got)


def test_name_is_stable_and_only_names_non_defaults():
    assert ScenarioParams(kind="eager").name("cpu") == "eager"
    assert ScenarioParams(kind="eager", warmup=3, repetitions=9, timeout_s=5).name("cpu") == "eager"
    p = ScenarioParams(kind="compiled_generate", fullgraph=False, dtype="bfloat16")
    assert p.name("cpu") == "compiled_generate[dtype=bfloat16,fullgraph=False]"
    assert ScenarioParams(kind="compiled_generate", dtype="bfloat16", fullgraph=False).name("cpu") == p.name("cpu")
    assert parse_name(p.name("cpu")) == ("compiled_generate", {"dtype": "bfloat16", "fullgraph": "False"})
    assert parse_name("load") == ("load", {})


def test_auto_and_its_resolution_give_one_name():
    """`dtype=auto` and the dtype it resolves to are the same measurement, so the same name."""
    for device, resolved in (("cpu", "float32"), ("cuda", "float16"), ("cuda:1", "float16")):
        auto = ScenarioParams(kind="eager", dtype="auto")
        explicit = ScenarioParams(kind="eager", dtype=resolved)
        assert auto.name(device) == explicit.name(device) == "eager"
        assert auto.resolved(device) == explicit
    assert ScenarioParams(kind="eager", dtype="float16").name("cpu") == "eager[dtype=float16]"
    cfg = build_config({"scenarios": [{"kind": "eager", "dtype": ["auto", "float32"]}]})
    with pytest.raises(ConfigError, match="appears twice"):
        cfg.resolve("cpu")
    assert [s.dtype for s in cfg.resolve("cuda").scenarios] == ["float16", "float32"]


def test_an_override_renames_only_the_kinds_that_use_it():
    """`--compile-mode default` used to rename load to load[compile_mode=default]."""
    cfg = build_config({}, {"compile_mode": "default", "new_tokens": 6})
    assert names(cfg) == ["load", "eager[new_tokens=6]", "compiled_decode[new_tokens=6,compile_mode=default]",
                          "compiled_generate[new_tokens=6,compile_mode=default]"]
    load = cfg.scenarios[0]
    assert (load.compile_mode, load.new_tokens) == ("reduce-overhead", 20)  # untouched defaults
    # [defaults] likewise apply only where they mean something
    cfg = build_config({"defaults": {"compile_mode": "default", "repetitions": 2}})
    assert [s.repetitions for s in cfg.scenarios] == [2, 2, 2, 2]
    assert names(cfg)[:2] == ["load", "eager"]
    # an override no scenario of the run uses is a mistake, said so
    with pytest.raises(ConfigError, match="compile_mode applies to no scenario of this run"):
        build_config({}, {"kinds": ["load"], "compile_mode": "default"})


def test_a_parameter_a_kind_does_not_use_is_refused_where_written():
    with pytest.raises(ConfigError, match="compile_mode is not a parameter of load"):
        build_config({"scenarios": [{"kind": "load", "compile_mode": "default"}]})
    with pytest.raises(ConfigError, match="new_tokens is not a parameter of load"):
        ScenarioParams(kind="load", new_tokens=6).validate()
    ScenarioParams(kind="load", repetitions=3, timeout_s=9).validate()  # run control applies to every kind


def test_every_kind_declares_known_parameters():
    from benchmark.contracts.config import SCENARIO_FIELDS

    for kind in KINDS.values():
        assert set(kind.params) <= set(SCENARIO_FIELDS) - {"kind", "warmup", "repetitions", "timeout_s"}
    assert SUITE == ("load", "eager", "compiled_decode", "compiled_generate")


@pytest.mark.parametrize("entry, message", [
    ({"kind": "load", "new_tokens": []}, "empty list for new_tokens"),
])
def test_expand_rejects(entry, message):
    with pytest.raises(ConfigError, match=message):
        expand(entry)


@pytest.mark.parametrize("data, message", [
    ({"scenarios": [{"kind": "load", "colour": "red"}]}, "unknown scenario parameter(s) in scenario load: colour"),
    ({"scenarios": [{"new_tokens": 6}]}, "every scenario needs a kind"),
    ({"defaults": {"kind": "load"}}, "unknown scenario parameter(s) in [defaults]: kind"),
    ({"scenarios": []}, "scenarios is an empty list: leave the key out to run the default suite"),
])
def test_config_entries_rejected(data, message):
    with pytest.raises(ConfigError) as info:
        build_config(data)
    assert message in str(info.value)


def test_build_config_default_is_the_seed_suite():
    cfg = build_config({})
    assert [s.kind for s in cfg.scenarios] == list(SUITE)
    assert names(cfg) == list(SUITE)
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
    assert names(cfg) == ["compiled_decode[new_tokens=6]", "compiled_decode[new_tokens=7]"]
    # without [[scenarios]] in the file, the kinds are the scenarios, with the file's defaults
    cfg = build_config({"defaults": {"new_tokens": 9}}, {"kinds": ["load", "selftest_crash", "eager"]})
    assert names(cfg) == ["load", "selftest_crash", "eager[new_tokens=9]"]
    with pytest.raises(ConfigError, match="none of the configured scenarios"):
        build_config(data, {"kinds": ["load"]})
    with pytest.raises(ConfigError, match="unknown scenario kind 'nothing'"):
        build_config({}, {"kinds": ["nothing"]})


def test_a_huge_matrix_is_refused_before_it_is_built():
    axis = list(range(3, 103))
    data = {"scenarios": [{"kind": "eager", "new_tokens": axis, "prompt_length": axis, "batch_size": axis,
                           "repetitions": axis}]}  # 10^8 scenarios: used to die of MemoryError
    with pytest.raises(ConfigError, match=f"expands to 100000000 scenarios, more than {MAX_SCENARIOS}"):
        build_config(data)


BAD = [
    ({"model": ""}, "model must be"),
    ({"model": 5}, "model must be"),
    ({"device": "tpu"}, "device must be"),
    ({"device": "cuda:x"}, "device must be"),
    ({"seed": "1"}, "seed must be an integer"),
    ({"seed": True}, "seed must be an integer"),
    ({"seed": -1}, "seed must be an integer from 0 to 4294967295"),
    ({"seed": 2**64}, "seed must be an integer from 0 to 4294967295"),
    ({"sample_interval_ms": 0.5}, "sample_interval_ms"),
    ({"sample_interval_ms": 70000}, "sample_interval_ms"),
    ({"sample_interval_ms": True}, "sample_interval_ms"),
    ({"sample_interval_ms": float("nan")}, "sample_interval_ms"),
    ({"inductor_cache": "sometimes"}, "inductor_cache must be one of"),
    ({"bogus": 1}, "unknown config key"),
    ({"defaults": 3}, "defaults must be a table"),
    ({"scenarios": [1]}, "scenarios must be a list of tables"),
    ({"scenarios": [{"kind": "bogus"}]}, "unknown scenario kind 'bogus'"),
    ({"scenarios": [{"kind": ["eager"]}]}, "unknown scenario kind ['eager']"),
    ({"defaults": {"dtype": "int8"}}, "dtype must be one of"),
    ({"defaults": {"attn_implementation": "x"}}, "attn_implementation must be one of"),
    ({"defaults": {"cache_implementation": "x"}}, "cache_implementation must be one of"),
    ({"defaults": {"compile_mode": "x"}}, "compile_mode must be one of"),
    ({"defaults": {"compile_mode": {"a": 1}}}, "compile_mode must be one of"),
    ({"defaults": {"batch_size": 0}}, "batch_size must be an integer from 1"),
    ({"defaults": {"prompt_length": 0}}, "prompt_length must be an integer from 1"),
    ({"defaults": {"new_tokens": 2}}, "new_tokens must be an integer from 3"),
    ({"defaults": {"new_tokens": 6.0}}, "new_tokens must be an integer"),
    ({"defaults": {"new_tokens": True}}, "new_tokens must be an integer"),
    ({"defaults": {"new_tokens": 10**7}}, "new_tokens must be an integer from 3 to 1000000"),
    ({"defaults": {"warmup": -1}}, "warmup must be an integer from 0"),
    ({"defaults": {"repetitions": 0}}, "repetitions must be an integer from 1"),
    ({"defaults": {"fullgraph": "yes"}}, "fullgraph must be true or false"),
    ({"defaults": {"timeout_s": 0}}, "timeout_s must be a number of seconds"),
    ({"defaults": {"timeout_s": "10"}}, "timeout_s must be a number of seconds"),
    # nan passed `timeout_s <= 0`: every scenario then "timed out after nan s" at once
    ({"defaults": {"timeout_s": float("nan")}}, "timeout_s must be a number of seconds"),
    # inf and 1e10 passed too, and the runner died of OverflowError mid-run, the row left "running"
    ({"defaults": {"timeout_s": float("inf")}}, "timeout_s must be a number of seconds"),
    ({"defaults": {"timeout_s": 1e10}}, "timeout_s must be a number of seconds in (0, 604800]"),
    ({"scenarios": [{"kind": "load"}, {"kind": "load", "repetitions": 2}]}, "appears twice"),
    # #19 item 23: a value no kind of this run uses is still checked
    ({"defaults": {"compile_mode": "bogus"}, "scenarios": [{"kind": "load"}]}, "compile_mode must be one of"),
    ({"defaults": {"fullgraph": "yes"}, "scenarios": [{"kind": "load"}]}, "fullgraph must be true or false"),
    ({"defaults": {"compile_mode": ["default", "bogus"]}, "scenarios": [{"kind": "eager"}]},
     "compile_mode must be one of"),
    ({"defaults": {"draft_layers": 0}}, "draft_layers must be an integer from 1"),
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
    assert a.resolve("cpu").to_dict()["scenarios"][0]["dtype"] == "float32"  # stored resolved


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
    ("latin1.toml", b'model = "caf\xe9"\n', "is not UTF-8 text (byte 12)"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("deep.toml", "x = " + "[" * 100_000 + "]" * 100_000, "cannot parse config"),
])
def test_load_config_file_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_examples_in_the_repository_are_valid():
    from pathlib import Path

    examples = sorted((Path(__file__).resolve().parents[1] / "benchmark" / "configs").glob("*.toml"))
    assert len(examples) >= 3
    for path in examples:
        cfg = build_config(load_config_file(path)).resolve("cpu")
        assert cfg.scenarios, path


def test_ab_kinds_unset_is_left_out_of_the_stored_config_so_its_hash_does_not_move():
    plain = build_config({})
    assert "ab_kinds" not in plain.to_dict()
    chosen = build_config({"ab_kinds": ["eager"]})
    assert chosen.to_dict()["ab_kinds"] == ["eager"] and chosen.kinds_for_ab() == ["eager"]
    assert plain.kinds_for_ab() == ["eager", "compiled_decode", "compiled_generate"]  # load gates nothing
    assert BenchConfig.from_dict(chosen.resolve("cpu").to_dict()).ab_kinds == ["eager"]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_stored_config_with_a_kind_without_model_parameters_reads_back(device):
    # resolve() stores every scenario's dtype resolved, a selftest's too (#19 item 8)
    cfg = build_config({"scenarios": [{"kind": "eager"}, {"kind": "selftest_error"}, {"kind": "load"}]})
    stored = json.loads(json.dumps(cfg.resolve(device).to_dict()))
    assert stored["scenarios"][1]["dtype"] == ("float32" if device == "cpu" else "float16")
    back = BenchConfig.from_dict(stored)
    assert back.resolve(device).to_dict() == stored and back.resolve(device).hash() == cfg.resolve(device).hash()
    assert [s.name(device) for s in back.scenarios] == ["eager", "selftest_error", "load"]


def test_a_stored_config_still_refuses_an_unknown_kind_or_field():
    stored = build_config({"scenarios": [{"kind": "load"}]}).resolve("cpu").to_dict()
    with pytest.raises(ConfigError, match="unknown scenario kind 'bogus'"):
        BenchConfig.from_dict({**stored, "scenarios": [{**stored["scenarios"][0], "kind": "bogus"}]})
    with pytest.raises(ConfigError, match="unknown scenario kind"):
        BenchConfig.from_dict({**stored, "scenarios": [{**stored["scenarios"][0], "kind": ["load"]}]})
    with pytest.raises(ConfigError, match="unknown field"):
        BenchConfig.from_dict({**stored, "scenarios": [{**stored["scenarios"][0], "colour": 1}]})


def test_a_bad_value_in_an_entry_the_kinds_filter_leaves_out_is_refused():
    # #19 item 23: `run --scenarios load` with a file whose compiled entry has a typo
    data = {"scenarios": [{"kind": "load"}, {"kind": "compiled_decode", "compile_mode": "bogus"}]}
    with pytest.raises(ConfigError, match="compile_mode must be one of"):
        build_config(data, {"kinds": ["load"]})
    assert names(build_config({**data, "scenarios": data["scenarios"][:1]}, {"kinds": ["load"]})) == ["load"]
