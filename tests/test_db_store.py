"""The store's write side on both backends: values round-trip, idempotent ingest, hostile
text, series keys, liveness."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from benchmark.contracts.result import ABANDONED, FAILED, RUNNING, SEED_KEYS, SUCCEEDED, DeviceSample, RunResult
from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun
from db.session import session_scope
from db.store import ALREADY_STORED, Store, counts
from results import MESSAGE, T0, make_result


def table_counts(store) -> dict[str, int]:
    with session_scope(store.engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Benchmark, ModelMeasurement, DeviceMeasurement, ScenarioRun, MetricRow)}


def save_all(store: Store, result: RunResult) -> int:
    bid = store.save_run(result)
    for sc in result.scenarios:
        assert store.save_scenario(result, sc) == bid
    return bid


def test_save_and_read_back_rows(store):
    result = make_result()
    bid = save_all(store, result)

    with session_scope(store.engine) as s:
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
        assert b.commit_time == datetime(2024, 12, 31, 23, 0, 0) and b.commit_parents == ["b" * 40]
        assert (b.runner_host, b.runner_pid) == ("test-host", 4242) and b.heartbeat_at is not None

        m = s.scalars(select(ModelMeasurement).where(ModelMeasurement.benchmark_id == bid)).one().measurements
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
        assert eager.phases == [{"name": "forward", "start": T0 + 1, "end": T0 + 2},
                                {"name": "generate", "start": T0 + 2, "end": T0 + 3}]
        assert eager.info == {"generated_tokens": [1, 2, 3]} and eager.flags == ["warm"]
        crashed = runs["compiled_generate[compile_mode=reduce-overhead]"]
        assert (crashed.status, crashed.signal, crashed.exit_code) == (FAILED, "SIGSEGV", -11)
        assert crashed.error == "subprocess died of SIGSEGV"
        assert crashed.stderr_tail.endswith("…")

        # every scenario and metric row carries its series key, the same for both
        for sc in result.scenarios:
            key = result.series_key(sc)
            assert runs[sc.name].series_key == key and len(key) == 20
            assert {r.series_key for r in s.scalars(select(MetricRow).where(
                MetricRow.scenario_run_id == runs[sc.name].scenario_run_id))} <= {key}
        assert len({r.series_key for r in runs.values()}) == 3

        tps = s.scalars(select(MetricRow).where(MetricRow.name == "eager_generate_tokens_per_sec")).one()
        assert tps.scenario_run_id == eager.scenario_run_id and tps.scenario == "eager"
        assert (tps.unit, tps.direction, tps.n) == ("tokens/s", "higher", 4)
        assert tps.samples == [100.0, 110.0, 105.0, 95.0]
        assert (tps.min, tps.max, tps.mean, tps.median) == (95.0, 110.0, 102.5, 102.5)
        assert tps.stdev == pytest.approx(6.454972243679028)
        assert s.scalars(select(MetricRow.direction).where(MetricRow.name == "time_to_first_token_secs")).one() \
            == "lower"
        assert s.scalar(select(func.count()).select_from(MetricRow)) == 6

        dev = s.scalars(select(DeviceMeasurement).order_by(DeviceMeasurement.time,
                                                           DeviceMeasurement.measurement_id)).all()
        assert len(dev) == 5
        assert [d.scenario for d in dev] == ["eager"] * 4 + ["compiled_decode[compile_mode=default]"]
        assert dev[0].phase == "generate" and dev[0].cpu_util == 50.0 and dev[0].mem_megabytes == 1024.5
        assert dev[0].time == datetime(2025, 1, 1, 0, 0, 1)
        assert dev[1].time == datetime(2025, 1, 1, 0, 0, 1, 500000)
        for d in dev:
            assert d.gpu_util is None and d.gpu_mem_megabytes is None
            assert d.sm_clock_mhz is None and d.power_watts is None
            assert d.temperature_c is None and d.throttle_reasons is None

    with session_scope(store.engine) as s:
        info = counts(s, result.run_uid)
        assert info["benchmark_id"] == bid and info["status"] == SUCCEEDED
        assert (info["scenario_runs"], info["metrics"], info["device_measurements"],
                info["model_measurements"]) == (3, 6, 5, 1)
        assert counts(s, "no-such-run") is None


def test_gpu_fields_are_stored(store):
    result = make_result()
    result.environment = {"gpu_name": "NVIDIA H100 80GB HBM3", "gpu_count": 1, "device": "cuda:0"}
    result.scenarios[0].samples = [
        DeviceSample(time=T0, scenario="eager", phase="load", cpu_util=1.0, mem_megabytes=2.0,
                     gpu_util=97.0, gpu_mem_megabytes=15000.0, sm_clock_mhz=1980.0,
                     power_watts=650.5, temperature_c=61.0, throttle_reasons=2**40)
    ]
    bid = store.save_scenario(result, result.scenarios[0])
    with session_scope(store.engine) as s:
        assert s.get(Benchmark, bid).gpu_name == "NVIDIA H100 80GB HBM3"
        d = s.scalars(select(DeviceMeasurement)).one()
        assert (d.gpu_util, d.gpu_mem_megabytes, d.sm_clock_mhz, d.power_watts, d.temperature_c,
                d.throttle_reasons) == (97.0, 15000.0, 1980.0, 650.5, 61.0, 2**40)


def test_save_scenario_replaces(store):
    result = make_result()
    save_all(store, result)
    before = table_counts(store)
    store.save_scenario(result, result.scenarios[0])
    store.save_run(result)
    assert table_counts(store) == before


def test_ingest_twice_skips(store):
    result = make_result()
    assert store.ingest(result) == "inserted"
    before = table_counts(store)
    assert before == {"benchmarks": 1, "model_measurements": 1, "device_measurements": 5,
                      "scenario_runs": 3, "metrics": 6}
    changed = make_result()
    changed.error = "should not be written"
    assert store.ingest(changed) == ALREADY_STORED
    assert table_counts(store) == before
    with session_scope(store.engine) as s:
        assert counts(s, result.run_uid)["error"] is None


def test_running_row_is_completed(store):
    # what a run leaves when the DB went away mid-run: header "running", one scenario
    partial = make_result(status=RUNNING)
    partial.finished_at = None
    partial.scenarios = partial.scenarios[:1]
    bid = save_all(store, partial)
    with session_scope(store.engine) as s:
        assert counts(s, partial.run_uid)["status"] == RUNNING

    final = make_result()
    assert store.ingest(final) == "completed"
    assert table_counts(store) == {"benchmarks": 1, "model_measurements": 1, "device_measurements": 5,
                                   "scenario_runs": 3, "metrics": 6}
    with session_scope(store.engine) as s:
        info = counts(s, final.run_uid)
        assert info["benchmark_id"] == bid
        assert info["status"] == SUCCEEDED and info["finished_at"] == datetime(2025, 1, 1, 0, 0, 12)
        assert "time_to_first_token_secs" in s.scalars(select(ModelMeasurement)).one().measurements
    assert store.ingest(final) == ALREADY_STORED


def test_two_runs_are_separate(store):
    assert store.ingest(make_result("run-a")) == "inserted"
    assert store.ingest(make_result("run-b")) == "inserted"
    assert table_counts(store)["benchmarks"] == 2
    assert table_counts(store)["metrics"] == 12


def test_cpu_only_run_without_start_time(store):
    result = make_result()
    result.started_at = result.finished_at = None
    result.environment = {"gpu_name": "cpu"}
    bid = store.save_run(result)
    with session_scope(store.engine) as s:
        b = s.get(Benchmark, bid)
        assert b.created_at is not None  # server default, naive UTC
        assert b.gpu_count is None and b.started_at is None


def test_nul_in_any_text_is_stored(store):
    """A crashed worker's stderr with NUL bytes: psycopg2 refused it with ValueError, which
    killed the runner and left the row `running`. Every text (jsonb too) is cleaned."""
    result = make_result()
    crashed = result.scenarios[2]
    crashed.stderr_tail = "before\x00after"
    crashed.error = "worker died: \x00"
    crashed.info = {"note\x00": ["a\x00b"]}
    result.error = "x\x00y"
    assert store.ingest(result) == "inserted"
    with session_scope(store.engine) as s:
        row = s.scalars(select(ScenarioRun).where(ScenarioRun.name == crashed.name)).one()
        assert row.stderr_tail == "before\ufffdafter" and row.error == "worker died: \ufffd"
        assert row.info == {"note\ufffd": ["a\ufffdb"]}
        assert s.scalars(select(Benchmark.error)).one() == "x\ufffdy"


def test_nul_in_a_scenario_name_is_stored_and_replaced_on_resave(store):
    """The name is matched when a scenario is saved again: it must be matched as stored."""
    result = make_result()
    scenario = result.scenarios[0]
    scenario.name = "eager\x00odd"
    for d in scenario.samples:
        d.scenario = scenario.name
    store.save_scenario(result, scenario)
    store.save_scenario(result, scenario)
    with session_scope(store.engine) as s:
        assert s.scalars(select(ScenarioRun.name)).all() == ["eager\ufffdodd"]
        assert s.scalar(select(func.count()).select_from(DeviceMeasurement)) == len(scenario.samples)


def test_heartbeat_and_close_stale(store):
    """A run left `running` by a dead runner is closed as failed: on this host when its pid
    is gone, anywhere when its heartbeat is older than the limit. A live one is left alone."""
    dead, silent, alive = make_result("run-dead", RUNNING), make_result("run-silent", RUNNING), \
        make_result("run-alive", RUNNING)
    dead.environment = dead.environment | {"hostname": "here", "runner_pid": 111}
    silent.environment = silent.environment | {"hostname": "elsewhere", "runner_pid": 222}
    alive.environment = alive.environment | {"hostname": "here", "runner_pid": 333}
    for r in (dead, silent, alive):
        store.save_run(r)
    store.heartbeat("run-silent")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert store.close_stale(300, "here", lambda pid: pid != 111, now=now)[0].run_uid == "run-dead"
    later = now + timedelta(seconds=301)
    closed = store.close_stale(300, "here", lambda pid: True, now=later)
    assert {c.run_uid for c in closed} == {"run-silent", "run-alive"}  # both silent for 301 s
    with session_scope(store.engine) as s:
        rows = {b.run_uid: b for b in s.scalars(select(Benchmark))}
        assert {b.status for b in rows.values()} == {FAILED}
        assert rows["run-dead"].error.startswith(ABANDONED) and "111" in rows["run-dead"].error
        assert "no heartbeat" in rows["run-silent"].error
    # the spool of an abandoned run still completes it
    assert store.ingest(make_result("run-dead")) == "completed"
    with session_scope(store.engine) as s:
        assert s.scalars(select(Benchmark.status).where(Benchmark.run_uid == "run-dead")).one() == SUCCEEDED


def test_failed_write_leaves_nothing(store):
    result = make_result()
    result.scenarios[2].info = {"unserializable": object()}  # fails on the last scenario's row
    with pytest.raises(StatementError):
        store.ingest(result)
    assert table_counts(store)["benchmarks"] == 0
