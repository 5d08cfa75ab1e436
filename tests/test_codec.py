"""benchmark/contracts/codec.py: the one serializer, on literal values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from benchmark.contracts import codec
from benchmark.contracts.config import ScenarioParams
from benchmark.contracts.jobs import (PrepareJob, ProbeJob, ScenarioJob, ScenarioOutput, decode_job, encode_job,
                                      output_type)
from benchmark.contracts.result import Metric
from benchmark.contracts.stats import Stats


@dataclass
class Inner:
    x: float
    tags: list[str] = field(default_factory=list)


@dataclass
class Outer:
    name: str
    inner: Inner
    items: list[Inner]
    maybe: int | None = None
    extra: dict = field(default_factory=dict)


def test_round_trip_builds_nested_dataclasses():
    obj = Outer("o", Inner(1.5, ["a"]), [Inner(2), Inner(3.25)], maybe=4, extra={"k": [1, "v"]})
    data = json.loads(codec.dumps(obj))
    assert data["items"][0] == {"x": 2, "tags": []}
    back = codec.decode(Outer, data)
    assert back == obj and isinstance(back.items[1], Inner) and isinstance(back.items[0].x, float)
    assert codec.loads(Outer, codec.dumps(obj)) == obj


@pytest.mark.parametrize("data, where", [
    ({"name": "o", "inner": {"x": "1"}, "items": []}, "outer.inner.x: expected float, got '1'"),
    ({"name": "o", "inner": {"x": 1}, "items": [{"x": True}]}, "outer.items[0].x: expected float, got True"),
    ({"name": "o", "inner": {"x": 1}, "items": {}}, "outer.items: expected a list"),
    ({"name": "o", "items": []}, "outer.inner: missing"),
    ({"name": "o", "inner": {"x": 1}, "items": [], "maybe": 1.5}, "outer.maybe: unexpected 1.5"),
    ([], "outer: expected an object"),
])
def test_decode_names_the_field_that_is_off(data, where):
    with pytest.raises(codec.DecodeError) as info:
        codec.decode(Outer, data)
    assert str(info.value).startswith(where)


def test_unknown_keys_are_ignored_and_defaults_fill_in():
    assert codec.decode(Inner, {"x": 1, "future_field": 2}) == Inner(1.0)


def test_non_finite_numbers_are_not_json():
    with pytest.raises(ValueError):
        codec.dumps(Inner(float("nan")))
    with pytest.raises(codec.DecodeError):
        codec.decode(Inner, {"x": float("inf")})


def test_jobs_cross_the_process_boundary_through_it():
    job = ScenarioJob(params=ScenarioParams(kind="eager", dtype="float32", new_tokens=6), model_path="/m",
                      device="cpu", seed=3)
    wire = json.loads(json.dumps(encode_job(job)))
    assert wire["job"] == "scenario" and wire["params"]["new_tokens"] == 6
    assert decode_job(wire) == job
    for other in (PrepareJob(source="micro-llama", source_kind="preset", path="/p"), ProbeJob(device="cuda:1")):
        assert decode_job(json.loads(json.dumps(encode_job(other)))) == other
    with pytest.raises(codec.DecodeError, match="unknown job 'nope'"):
        decode_job({"job": "nope"})
    out = ScenarioOutput(metrics=[Metric.of("model_load_time", [0.5, 0.25])], info={"a": 1}, flags=["f"])
    back = codec.loads(output_type(job), codec.dumps(out))
    assert back == out and back.metrics[0].stats == Stats.of([0.5, 0.25])
