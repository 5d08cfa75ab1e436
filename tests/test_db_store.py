"""The result store on both backends: values round-trip, idempotent ingest, hostile text."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from benchmark.result import (
    FAILED,
    RUNNING,
    SEED_KEYS,
    SUCCEEDED,
    DeviceSample,
    Metric,
    Phase,
    RunResult,
    ScenarioResult,
)
from db.migrate import upgrade
from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun
from db.session import make_engine, session_scope
from db.store import ingest, load_run, save_run, save_scenario

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z
MESSAGE = (
    "Fix \"quoted\" and 'single' café 🚀 handling'; DROP TABLE benchmarks; -- "
    "and then a much longer explanation\nsecond line ✓"
)


def make_result(run_uid: str = "0b6f8a4e-6a51-4f39-9a53-3c1f7f2f0e11", status: str = SUCCEEDED) -> RunResult:
    """Two scenarios with metrics and device samples (GPU fields None), plus a failed one."""
    samples = [
        DeviceSample(time=T0 + 1 + i * 0.5, scenario="eager", phase="generate",
                     cpu_util=50.0 + i, mem_megabytes=1024.5 + i)
        for i in range(4)
    ]
    eager = ScenarioResult(
        name="eager",
        kind="eager",
        params={"batch_size": 1, "new_tokens": 20},
        status=SUCCEEDED,
        exit_code=0,
        started_at=T0 + 1,
        finished_at=T0 + 3,
        phases=[Phase("forward", T0 + 1, T0 + 2), Phase("generate", T0 + 2, T0 + 3)],
        metrics=[
            Metric("first_eager_forward_pass_time_secs", "s", [0.5]),
            Metric("second_eager_forward_pass_time_secs", "s", [0.1, 0.12, 0.11]),
            Metric("first_eager_generate_time_secs", "s", [1.5, 1.25]),
            Metric("tokens_per_second", "tokens/s", [100.0, 110.0, 105.0, 95.0]),
        ],
        info={"generated_tokens": [1, 2, 3]},
        flags=["warm"],
        samples=samples,
    )
    compiled = ScenarioResult(
        name="compiled_decode[compile_mode=default]",
        kind="compiled_decode",
        params={"compile_mode": "default"},
        status=SUCCEEDED,
        exit_code=0,
        started_at=T0 + 4,
        finished_at=T0 + 9,
        metrics=[
            Metric("time_to_first_token_secs", "s", [2.5]),
            Metric("time_to_next_token_mean_secs", "s", [0.02, 0.021, 0.019, 0.02]),
        ],
        samples=[
            DeviceSample(time=T0 + 5, scenario="compiled", phase="decode", cpu_util=99.0,
                         mem_megabytes=2048.0, gpu_util=None, gpu_mem_megabytes=None,
                         throttle_reasons=None)
        ],
    )
    crashed = ScenarioResult(
        name="compiled_generate[compile_mode=reduce-overhead]",
        kind="compiled_generate",
        params={"compile_mode": "reduce-overhead"},
        status=FAILED,
        error="subprocess died of SIGSEGV",
        exit_code=-11,
        signal="SIGSEGV",
        stderr_tail="Fatal Python error: Segmentation fault\n…",
        started_at=T0 + 10,
        finished_at=T0 + 11,
    )
    return RunResult(
        run_uid=run_uid,
        branch="feature/ünïcode-branch",
        commit_id="a" * 40,
        commit_message=MESSAGE,
        repository="https://github.com/huggingface/transformers",
        model_id="synthetic-llama-tiny",
        synthetic=True,
        config={"warmup": 1, "repeats": 3},
        config_hash="f" * 64,
        environment={"gpu_name": "cpu", "gpu_count": 0, "torch": "2.11.0"},
        status=status,
        started_at=T0,
        finished_at=T0 + 12,
        scenarios=[eager, compiled, crashed],
    )


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def counts(engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Benchmark, ModelMeasurement, DeviceMeasurement, ScenarioRun, MetricRow)
        }


def test_save_and_read_back(engine):
    result = make_result()
    with session_scope(engine) as s:
        bid = save_run(s, result)
        ids = [save_scenario(s, bid, sc) for sc in result.scenarios]
    assert len(set(ids)) == 3

    with session_scope(engine) as s:
        b = s.get(Benchmark, bid)
        assert b.run_uid == result.run_uid
        assert b.branch == "feature/ünïcode-branch"
        assert b.commit_id == "a" * 40
        assert b.commit_message == MESSAGE[:70] and len(b.commit_message) == 70
        assert b.commit_message_full == MESSAGE  # verbatim, quotes/emoji/SQL included
        assert b.gpu_name == "cpu" and b.gpu_count == 0
        assert b.status == SUCCEEDED and b.error is None
        assert b.synthetic is True
        assert b.config == {"warmup": 1, "repeats": 3}
        assert b.environment["torch"] == "2.11.0"
        assert b.created_at == b.started_at == datetime(2025, 1, 1, 0, 0, 0)
        assert b.finished_at == datetime(2025, 1, 1, 0, 0, 12)

        mm = s.scalars(select(ModelMeasurement).where(ModelMeasurement.benchmark_id == bid)).all()
        assert len(mm) == 1
        m = mm[0].measurements
        assert set(m) <= set(SEED_KEYS)
        assert m == {
            "first_eager_forward_pass_time_secs": 0.5,
            "second_eager_forward_pass_time_secs": 0.11,
            "first_eager_generate_time_secs": 1.375,
            "time_to_first_token_secs": 2.5,
            "time_to_next_token_mean_secs": pytest.approx(0.02),
        }

        runs = {r.name: r for r in s.scalars(select(ScenarioRun).where(ScenarioRun.benchmark_id == bid))}
        assert set(runs) == {sc.name for sc in result.scenarios}
        eager = runs["eager"]
        assert eager.params == {"batch_size": 1, "new_tokens": 20}
        assert eager.phases == [
            {"name": "forward", "start": T0 + 1, "end": T0 + 2},
            {"name": "generate", "start": T0 + 2, "end": T0 + 3},
        ]
        assert eager.info == {"generated_tokens": [1, 2, 3]} and eager.flags == ["warm"]
        crashed = runs["compiled_generate[compile_mode=reduce-overhead]"]
        assert (crashed.status, crashed.signal, crashed.exit_code) == (FAILED, "SIGSEGV", -11)
        assert crashed.error == "subprocess died of SIGSEGV"
        assert crashed.stderr_tail.endswith("…")

        tps = s.scalars(select(MetricRow).where(MetricRow.name == "tokens_per_second")).one()
        assert tps.scenario_run_id == eager.scenario_run_id and tps.scenario == "eager"
        assert tps.unit == "tokens/s" and tps.n == 4
        assert tps.samples == [100.0, 110.0, 105.0, 95.0]
        assert (tps.min, tps.max, tps.mean, tps.median) == (95.0, 110.0, 102.5, 102.5)
        assert tps.stdev == pytest.approx(6.454972243679028)
        assert s.scalar(select(func.count()).select_from(MetricRow)) == 6

        dev = s.scalars(
            select(DeviceMeasurement).order_by(DeviceMeasurement.time, DeviceMeasurement.measurement_id)
        ).all()
        assert len(dev) == 5
        assert [d.scenario for d in dev] == ["eager"] * 4 + ["compiled_decode[compile_mode=default]"]
        assert dev[0].phase == "generate" and dev[0].cpu_util == 50.0 and dev[0].mem_megabytes == 1024.5
        assert dev[0].time == datetime(2025, 1, 1, 0, 0, 1)
        assert dev[1].time == datetime(2025, 1, 1, 0, 0, 1, 500000)
        for d in dev:
            assert d.gpu_util is None and d.gpu_mem_megabytes is None
            assert d.sm_clock_mhz is None and d.power_watts is None
            assert d.temperature_c is None and d.throttle_reasons is None

    with session_scope(engine) as s:
        info = load_run(s, result.run_uid)
        assert info["benchmark_id"] == bid and info["status"] == SUCCEEDED
        assert (info["scenario_runs"], info["metrics"], info["device_measurements"],
                info["model_measurements"]) == (3, 6, 5, 1)
        assert load_run(s, "no-such-run") is None


def test_gpu_fields_are_stored(engine):
    result = make_result()
    result.environment = {"gpu_name": "NVIDIA H100 80GB HBM3", "gpu_count": 1}
    result.scenarios[0].samples = [
        DeviceSample(time=T0, scenario="eager", phase="load", cpu_util=1.0, mem_megabytes=2.0,
                     gpu_util=97.0, gpu_mem_megabytes=15000.0, sm_clock_mhz=1980.0,
                     power_watts=650.5, temperature_c=61.0, throttle_reasons=2**40)
    ]
    with session_scope(engine) as s:
        bid = save_run(s, result)
        save_scenario(s, bid, result.scenarios[0])
    with session_scope(engine) as s:
        assert s.get(Benchmark, bid).gpu_name == "NVIDIA H100 80GB HBM3"
        d = s.scalars(select(DeviceMeasurement)).one()
        assert (d.gpu_util, d.gpu_mem_megabytes, d.sm_clock_mhz, d.power_watts, d.temperature_c,
                d.throttle_reasons) == (97.0, 15000.0, 1980.0, 650.5, 61.0, 2**40)


def test_save_scenario_replaces(engine):
    result = make_result()
    with session_scope(engine) as s:
        bid = save_run(s, result)
        for sc in result.scenarios:
            save_scenario(s, bid, sc)
    before = counts(engine)
    with session_scope(engine) as s:
        save_scenario(s, bid, result.scenarios[0])
        save_run(s, result)
    assert counts(engine) == before


def test_ingest_twice_skips(engine):
    result = make_result()
    with session_scope(engine) as s:
        assert ingest(s, result) == "inserted"
    before = counts(engine)
    assert before == {"benchmarks": 1, "model_measurements": 1, "device_measurements": 5,
                      "scenario_runs": 3, "metrics": 6}
    changed = make_result()
    changed.error = "should not be written"
    with session_scope(engine) as s:
        assert ingest(s, changed) == "skipped"
    assert counts(engine) == before
    with session_scope(engine) as s:
        assert load_run(s, result.run_uid)["error"] is None


def test_running_row_is_completed(engine):
    # what a run leaves when the DB went away mid-run: header "running", one scenario
    partial = make_result(status=RUNNING)
    partial.finished_at = None
    partial.scenarios = partial.scenarios[:1]
    with session_scope(engine) as s:
        bid = save_run(s, partial)
        save_scenario(s, bid, partial.scenarios[0])
    with session_scope(engine) as s:
        assert load_run(s, partial.run_uid)["status"] == RUNNING

    final = make_result()
    with session_scope(engine) as s:
        assert ingest(s, final) == "completed"
    assert counts(engine) == {"benchmarks": 1, "model_measurements": 1, "device_measurements": 5,
                              "scenario_runs": 3, "metrics": 6}
    with session_scope(engine) as s:
        info = load_run(s, final.run_uid)
        assert info["benchmark_id"] == bid
        assert info["status"] == SUCCEEDED and info["finished_at"] == datetime(2025, 1, 1, 0, 0, 12)
        assert "time_to_first_token_secs" in s.scalars(select(ModelMeasurement)).one().measurements
    with session_scope(engine) as s:
        assert ingest(s, final) == "skipped"


def test_two_runs_are_separate(engine):
    a, b = make_result("run-a"), make_result("run-b")
    with session_scope(engine) as s:
        assert ingest(s, a) == "inserted"
        assert ingest(s, b) == "inserted"
    assert counts(engine)["benchmarks"] == 2
    assert counts(engine)["metrics"] == 12


def test_failed_transaction_leaves_nothing(engine):
    result = make_result()
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            ingest(s, result)
            raise RuntimeError("boom")
    assert counts(engine)["benchmarks"] == 0


def test_cpu_only_run_without_start_time(engine):
    result = make_result()
    result.started_at = result.finished_at = None
    result.environment = {"gpu_name": "cpu"}
    with session_scope(engine) as s:
        bid = save_run(s, result)
    with session_scope(engine) as s:
        b = s.get(Benchmark, bid)
        assert b.created_at is not None  # server default, naive UTC
        assert b.gpu_count is None and b.started_at is None


def test_result_json_round_trip(tmp_path):
    result = make_result()
    assert RunResult.from_dict(result.to_dict()) == result
    assert RunResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    path = tmp_path / "spool" / "run.json"
    result.dump(path)
    assert RunResult.load(path) == result
    assert not path.with_name("run.json.tmp").exists()
    with pytest.raises(ValueError):
        RunResult.from_dict({"format": "something else"})
