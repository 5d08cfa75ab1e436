"""`commitbench run` end to end: real subprocesses, real databases, selftest scenarios for
crash / error / hang isolation (all the slow tier)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmark.contracts.result import RunResult
from helpers import FAST, IDENT, no_workers_left, read_run, run_cli, run_uid, upgrade_db

LOAD = "load"  # load has no new_tokens: the override does not rename it
EAGER = "eager[new_tokens=6]"
EAGER_SEED_KEYS = {"model_load_time", "first_eager_forward_pass_time_secs", "second_eager_forward_pass_time_secs",
                   "first_eager_generate_time_secs", "second_eager_generate_time_secs"}
pytestmark = pytest.mark.slow

GPU_COLUMNS = ("gpu_util", "gpu_mem_megabytes", "sm_clock_mhz", "power_watts", "temperature_c", "throttle_reasons")


def test_run_on_postgresql_load_eager(cb, pg_url):
    upgrade_db(pg_url)
    out_json = cb.root / "result.json"
    r = run_cli(["run", *IDENT, *FAST, "--scenarios", "load,eager", "--db", pg_url, "--json", out_json],
                cb.env)
    assert r.returncode == 0, r.stderr
    uid = run_uid(r.stdout)

    # stdout: the table and where it went; stderr: progress lines
    assert f"commitbench run {uid}: SUCCEEDED" in r.stdout
    assert "stored in postgresql+psycopg2://" in r.stdout
    assert "model_load_time" in r.stdout and "transformers' benchmark figures (5/13 filled)" in r.stdout
    assert f"JSON written to {out_json}" in r.stdout
    assert "[1/2] load" in r.stderr and "[2/2] eager[new_tokens=6]" in r.stderr
    assert "    - eager_decode" in r.stderr
    assert "stored in" not in r.stderr

    got = read_run(pg_url, uid)
    b = got["benchmark"]
    assert b["status"] == "succeeded" and b["error"] is None
    assert b["run_uid"] == uid and b["synthetic"] is True and b["model_id"] == "micro-llama"
    assert b["gpu_name"] == "cpu" and b["gpu_count"] == 0
    assert (b["branch"], b["commit_id"], b["commit_message"]) == ("test-branch", "abcd1234", "test message")
    assert len(b["config_hash"]) == 64
    assert [s["kind"] for s in b["config"]["scenarios"]] == ["load", "eager"]
    for key in ("torch", "transformers", "python", "hostname"):
        assert b["environment"][key], key
    assert b["started_at"] <= b["finished_at"]

    sc = got["scenarios"]
    assert set(sc) == {LOAD, EAGER}
    for s in sc.values():
        assert s["status"] == "succeeded" and s["error"] is None and s["exit_code"] == 0
        assert s["phases"] and all(p["name"] and p["end"] >= p["start"] for p in s["phases"])
        assert s["params"]["dtype"] == "float32"  # auto resolved for CPU
    assert [p["name"] for p in sc[EAGER]["phases"]] == ["load", "eager_forward", "eager_generate", "eager_decode"]

    m = got["metrics"]
    load = m[(LOAD, "model_load_time")]
    assert load["n"] == 2 and len(load["samples"]) == 2 and load["min"] > 0
    first = m[(EAGER, "first_eager_forward_pass_time_secs")]
    assert first["n"] == 1 and first["samples"] == [first["median"]]
    ttnt = m[(EAGER, "eager_time_to_next_token_secs")]
    assert ttnt["n"] == 2 * (6 - 1) and len(ttnt["samples"]) == ttnt["n"]
    assert ttnt["min"] <= ttnt["median"] <= ttnt["max"]
    assert m[(EAGER, "decode_matches_generate")]["samples"] == [1.0]
    for row in m.values():
        assert row["n"] == len(row["samples"])

    (mm,) = got["model_measurements"]
    assert set(mm["measurements"]) == EAGER_SEED_KEYS
    assert mm["measurements"]["model_load_time"] == pytest.approx(load["median"])
    assert all(v > 0 for v in mm["measurements"].values())

    dev = got["devices"]
    assert dev
    assert {d["scenario"] for d in dev} == {LOAD, EAGER}
    phases = {d["phase"] for d in dev}
    assert "load" in phases and phases <= {"startup", "load", "eager_forward", "eager_generate", "eager_decode"}
    for d in dev:
        assert all(d[c] is None for c in GPU_COLUMNS)
        assert d["cpu_util"] is not None and d["mem_megabytes"] is not None
    # the sampler never records the exiting worker as 0 MiB (test_sampler.py::test_exited_child_is_not_sampled)
    for name in (LOAD, EAGER):
        assert max(d["mem_megabytes"] for d in dev if d["scenario"] == name) > 50

    # --json: the same run, the same figures
    res = RunResult.load(out_json)
    assert res.run_uid == uid and res.status == "succeeded"
    assert [s.name for s in res.scenarios] == [LOAD, EAGER]
    for s in res.scenarios:
        for metric in s.metrics:
            row = m[(s.name, metric.name)]
            assert metric.samples == pytest.approx(row["samples"])
            assert metric.stats.median == pytest.approx(row["median"])
    assert res.seed_measurements()["model_load_time"] == pytest.approx(mm["measurements"]["model_load_time"])
    assert sum(len(s.samples) for s in res.scenarios) == len(dev)


def test_run_not_migrated_postgresql_is_spooled(cb, pg_url):
    """A database given with --db is never migrated behind the user's back: exit 3, spooled."""
    spool = cb.root / "spool"
    r = run_cli(["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_error", "--db", pg_url,
                 "--spool-dir", spool], cb.env)
    assert r.returncode == 3, r.stderr
    assert "commitbench db upgrade" in r.stdout
    assert len(list(spool.glob("*.json"))) == 1
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("select count(*) from pg_tables where schemaname = 'public'")) == 0
    finally:
        engine.dispose()


@pytest.fixture
def libpq_env(cb, pg_server):
    """PGHOST/PGPORT/PGUSER pointing at the fixture's server, with its database `metrics`."""
    u = make_url(pg_server.url("postgres"))
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        created = not conn.scalar(text("select 1 from pg_database where datname = 'metrics'"))
        if created:
            conn.execute(text("CREATE DATABASE metrics"))
    url = pg_server.url("metrics")
    upgrade_db(url)
    env = dict(cb.env, PGHOST=u.host or "127.0.0.1", PGPORT=str(u.port or 5432), PGUSER=u.username or "postgres")
    if u.password:
        env["PGPASSWORD"] = u.password
    try:
        yield env, url
    finally:
        if created:
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS metrics WITH (FORCE)"))
        admin.dispose()


def test_run_with_libpq_variables(cb, libpq_env):
    env, url = libpq_env
    branch = "libpq-" + uuid.uuid4().hex[:8]
    r = run_cli(["run", "--branch", branch, "--commit", "feed", "--message", "via libpq",
                 "--model", "micro-llama", "--scenarios", "load", "--repetitions", "1"], env)
    assert r.returncode == 0, r.stderr
    assert "database: postgresql+psycopg2:///metrics" in r.stderr
    got = read_run(url, run_uid(r.stdout))
    assert got["benchmark"]["branch"] == branch and got["benchmark"]["status"] == "succeeded"
    assert got["metrics"][("load", "model_load_time")]["n"] == 1
    assert not cb.sqlite_path.exists()  # not the SQLite default


def test_crash_is_isolated(cb):
    r = run_cli(["run", *IDENT, *FAST, "--repetitions", "1", "--scenarios", "load,selftest_crash,eager"],
                cb.env)
    assert r.returncode == 1, r.stderr
    assert "FAILED: worker died of SIGSEGV" in r.stderr
    got = read_run(cb.default_url, run_uid(r.stdout))
    b = got["benchmark"]
    assert b["status"] == "failed" and "SIGSEGV" in b["error"]
    crash = got["scenarios"]["selftest_crash"]
    assert crash["status"] == "failed" and crash["signal"] == "SIGSEGV" and crash["exit_code"] is None
    assert "SIGSEGV" in crash["error"]
    assert [p["name"] for p in crash["phases"]] == ["crash"]
    assert got["scenarios"][LOAD]["status"] == "succeeded"
    assert got["scenarios"][EAGER]["status"] == "succeeded"
    assert (EAGER, "eager_time_to_next_token_secs") in got["metrics"]
    assert not any(k[0] == "selftest_crash" for k in got["metrics"])
    assert set(got["model_measurements"][0]["measurements"]) == EAGER_SEED_KEYS
    assert no_workers_left(cb.tmp) == []


def test_error_is_reported_with_stderr_tail(cb):
    r = run_cli(["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_error"], cb.env)
    assert r.returncode == 1, r.stderr
    got = read_run(cb.default_url, run_uid(r.stdout))
    s = got["scenarios"]["selftest_error"]
    assert s["status"] == "failed" and s["exit_code"] == 1 and s["signal"] is None
    assert "RuntimeError: selftest scenario raised on purpose" in s["stderr_tail"]
    assert "RuntimeError" in s["error"]
    assert got["benchmark"]["status"] == "failed"


def test_hang_times_out_and_leaves_no_worker(cb):
    r = run_cli(["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_hang", "--timeout", "3"],
                cb.env)
    assert r.returncode == 1, r.stderr
    got = read_run(cb.default_url, run_uid(r.stdout))
    s = got["scenarios"]["selftest_hang"]
    assert s["status"] == "failed" and "timed out" in s["error"]
    assert got["benchmark"]["status"] == "failed"
    assert no_workers_left(cb.tmp) == []
    assert not list(cb.tmp.glob("commitbench-*"))  # the runner's scratch dir is removed
