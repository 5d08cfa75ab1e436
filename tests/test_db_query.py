"""The store's read side (db/query.py) on both backends: a run back whole, history in commit
order with raw samples, the latest run of a branch, the runs of a commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from db import query
from db.store import Store
from results import T0, make_result

HOUR = 3600.0


def commit(store: Store, uid: str, commit_id: str, commit_time: float, started: float, ttnt: float,
           branch: str = "main"):
    r = make_result(uid)
    r.branch, r.commit_id, r.commit_time, r.started_at, r.finished_at = branch, commit_id, commit_time, started, \
        started + 5
    r.scenarios[1].metrics[1].samples = [ttnt, ttnt * 1.1, ttnt * 0.9]
    r.scenarios[1].metrics[1].stats = None
    r.scenarios[1].metrics[1].__post_init__()
    assert store.ingest(r) == "inserted"
    return r


def test_a_run_comes_back_whole(store):
    result = make_result()
    store.ingest(result)
    with store.reading() as s:
        back = query.get_run(s, result.run_uid[:8])
    expected = replace(result, scenarios=[replace(sc, series_key=result.series_key(sc)) for sc in result.scenarios])
    assert back == expected  # every field, raw samples and device samples included


def test_history_is_in_commit_order(store):
    """Runs reach the database in another order than their commits (a backlog, a re-run):
    history follows the commits."""
    commit(store, "run-c2", "c2c2", T0 + 2 * HOUR, started=T0 + 10 * HOUR, ttnt=0.020)
    commit(store, "run-c1", "c1c1", T0 + 1 * HOUR, started=T0 + 20 * HOUR, ttnt=0.010)
    commit(store, "run-c3", "c3c3", T0 + 3 * HOUR, started=T0 + 5 * HOUR, ttnt=0.030)
    commit(store, "run-pr", "ffff", T0 + 9 * HOUR, started=T0 + 9 * HOUR, ttnt=0.5, branch="pr")
    key = make_result().series_key(make_result().scenarios[1])
    with store.reading() as s:
        assert [r.commit_id for r in query.runs(s, branch="main")] == ["c3c3", "c2c2", "c1c1"]
        assert [r.commit_id for r in query.runs(s)] == ["ffff", "c3c3", "c2c2", "c1c1"]
        assert [r.commit_id for r in query.runs(s, limit=2)] == ["ffff", "c3c3"]
        points = query.series_history(s, key, "time_to_next_token_mean_secs", branch="main")
        assert [p.commit_id for p in points] == ["c1c1", "c2c2", "c3c3"]
        assert [p.stats.median for p in points] == pytest.approx([0.010, 0.020, 0.030])
        assert points[0].samples == pytest.approx([0.010, 0.011, 0.009])
        assert (points[0].unit, points[0].direction, points[0].scenario) == (
            "s", "lower", "compiled_decode[compile_mode=default]")
        assert [p.commit_id for p in query.series_history(s, key, "time_to_next_token_mean_secs", limit=2)] == [
            "c3c3", "ffff"]  # the newest two, oldest first
        assert query.latest_run(s, branch="main").commit_id == "c3c3"
        assert query.latest_run(s).commit_id == "ffff"
        assert [r.run_uid for r in query.runs_of_commit(s, "C2")] == ["run-c2"]
        assert {i.scenario for i in query.series(s, branch="main")} == {sc.name for sc in make_result().scenarios}
        assert query.series_metrics(s, key) == ["time_to_first_token_secs", "time_to_next_token_mean_secs"]


def test_runs_without_commit_time_sort_by_start(store):
    commit(store, "run-a", "aaaa", None, started=T0 + 2 * HOUR, ttnt=0.02)
    commit(store, "run-b", "bbbb", T0 + 1 * HOUR, started=T0 + 3 * HOUR, ttnt=0.02)
    with store.reading() as s:
        assert [r.commit_id for r in query.runs(s)] == ["aaaa", "bbbb"]


def test_refs_that_name_no_run(store):
    store.ingest(make_result("0b6f8a4e-1111"))
    store.ingest(make_result("0b6f8a4e-2222"))
    with store.reading() as s:
        for ref, message in (("zzzz", "no run 'zzzz'"), ("0b6", "too short"), ("0b6f8a4e", "ambiguous"),
                             ("#999", "no run with benchmark_id 999")):
            with pytest.raises(query.NotFound, match=message):
                query.get_run(s, ref)
        with pytest.raises(query.NotFound, match="no runs stored for branch 'nope'"):
            query.latest_run(s, branch="nope")


def test_a_run_the_seed_stored_can_be_shown(store):
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO benchmarks (branch, commit_id, commit_message, gpu_name) "
                          "VALUES ('main', 'abcd', 'seed run', 'NVIDIA A10G')"))
    with store.reading() as s:
        (row,) = query.runs(s)
        seed = query.get_run(s, f"#{row.benchmark_id}")
    assert (seed.branch, seed.commit_message, seed.gpu_name, seed.scenarios) == ("main", "seed run", "NVIDIA A10G", [])


def test_a_running_run_whose_runner_is_gone_is_stale(store):
    result = make_result("run-x", status="running")
    store.save_run(result)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with store.reading() as s:
        assert query.runs(s)[0].state == "running"
        assert query.runs(s, host="test-host", alive=lambda pid: False)[0].state == query.STALE
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE benchmarks SET heartbeat_at = :t"), {"t": now - timedelta(hours=1)})
    with store.reading() as s:
        assert query.runs(s)[0].state == query.STALE
