"""Series identity (benchmark/contracts/identity.py): one key per measurement, whatever the
spelling, the matrix order or the commit; a different key for a different measurement."""

from __future__ import annotations

from benchmark.contracts import identity
from benchmark.contracts.config import ScenarioParams, build_config
from benchmark.contracts.result import RunResult, ScenarioResult

CPU = {"device": "cpu", "cpu_model": "Test CPU", "gpu_name": "cpu", "model": {"key": "tiny-llama"}}
H100 = {"device": "cuda:0", "gpu_name": "NVIDIA H100 80GB HBM3", "cpu_model": "Xeon", "model": {"key": "tiny-llama"}}


def key(params: ScenarioParams, env=CPU, model="tiny-llama") -> str:
    return identity.key_of(model, env, params.kind, params.to_dict())


def test_the_key_is_frozen():
    """Changing what goes into a key breaks every stored history: this literal must only
    change together with IDENTITY_VERSION and a migration that recomputes the keys."""
    p = ScenarioParams(kind="compiled_decode", dtype="float32", compile_mode="default")
    assert key(p) == "cd57c2f13dd49330187d"
    assert identity.identity("tiny-llama", CPU, "compiled_decode", p.to_dict()) == {
        "v": 1, "model": "tiny-llama", "device": "cpu", "device_name": "Test CPU", "kind": "compiled_decode",
        "params": {"dtype": "float32", "attn_implementation": "sdpa", "batch_size": 1, "prompt_length": 8,
                   "new_tokens": 20, "cache_implementation": "static", "compile_mode": "default",
                   "fullgraph": True}}


def test_spelling_order_and_run_control_do_not_change_the_key():
    a = build_config({"scenarios": [{"kind": "eager", "dtype": "auto"}, {"kind": "load"}]}).resolve("cpu")
    b = build_config({"defaults": {"repetitions": 9, "warmup": 0, "timeout_s": 60},
                      "scenarios": [{"kind": "load"}, {"kind": "eager", "dtype": "float32"}]}).resolve("cpu")
    keys_a = {s.kind: key(s) for s in a.scenarios}
    keys_b = {s.kind: key(s) for s in b.scenarios}
    assert keys_a == keys_b
    # an override of a parameter load does not use leaves load's series alone
    c = build_config({}, {"compile_mode": "default"}).resolve("cpu")
    assert key(c.scenarios[0]) == keys_a["load"]


def test_a_different_measurement_has_a_different_key():
    base = ScenarioParams(kind="eager", dtype="float32")
    others = [ScenarioParams(kind="eager", dtype="bfloat16"), ScenarioParams(kind="eager", dtype="float32",
                                                                             new_tokens=21),
              ScenarioParams(kind="compiled_decode", dtype="float32")]
    keys = {key(base), *(key(o) for o in others), key(base, H100), key(base, CPU | {"model": {"key": "llama-2-7b"}}),
            key(base, CPU | {"cpu_model": "Other CPU"})}
    assert len(keys) == 7


def test_parameters_a_kind_does_not_use_are_not_in_its_key():
    """Rows written before kinds declared their parameters carry every field in `params`."""
    load = ScenarioParams(kind="load", dtype="float32").to_dict()
    assert identity.key_of("m", CPU, "load", load) == identity.key_of("m", CPU, "load", load | {
        "compile_mode": "default", "new_tokens": 99})


def test_the_result_and_the_model_source_agree():
    env = CPU | {"model": {"model_id": "/ckpt/llama", "kind": "local", "key": "local:llama@abc"}}
    result = RunResult(run_uid="r", branch="b", commit_id="abcd", commit_message="", repository=None,
                       model_id="/ckpt/llama", synthetic=False, config={}, config_hash="", environment=env)
    sc = ScenarioResult(name="load", kind="load", params=ScenarioParams(kind="load", dtype="float32").to_dict())
    moved = RunResult(**{**result.__dict__, "model_id": "/elsewhere/llama"})
    assert result.series_key(sc) == moved.series_key(sc)  # a checkpoint is itself wherever it lies
    assert identity.model_key("/ckpt/llama", {}) == "/ckpt/llama"  # runs stored before keys existed
