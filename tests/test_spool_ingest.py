"""Database unreachable -> the result is spooled (exit 3); `commitbench ingest` loads it once;
bad files and unreachable databases are refused without writing anything. Real runs are the
slow tier; ingest of written files and bad input run in process."""

from __future__ import annotations

import json
import signal
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from benchmark.contracts.result import RunResult
from helpers import (child_env, cli_in_process, IDENT, no_workers_left, read_run, run_cli, run_uid, running_cli,
                     table_counts, upgrade_db)

UNREACHABLE = "postgresql+psycopg2://nobody@127.0.0.1:1/x"
ZERO = {"benchmarks": 0, "scenario_runs": 0, "metrics": 0, "device_measurements": 0, "model_measurements": 0}


@pytest.fixture(scope="module")
def spooled(tmp_path_factory, bench_cache):
    """One real run against an unreachable database, shared by this module's tests:
    (its spool file, the finished process, its COMMITBENCH_HOME)."""
    root = tmp_path_factory.mktemp("spooled")
    home, spool = root / "home", root / "spool"
    env = child_env(home, bench_cache, root / "tmp")
    r = run_cli(["run", *IDENT, "--model", "micro-llama", "--scenarios", "load", "--repetitions", "2",
                 "--db", UNREACHABLE, "--spool-dir", spool], env)
    assert r.returncode == 3, r.stderr
    files = list(spool.iterdir())
    assert len(files) == 1 and files[0].suffix == ".json", files
    return files[0], r, home


@pytest.mark.slow
def test_unreachable_database_spools(spooled):
    path, r, home = spooled
    uid = run_uid(r.stdout)
    assert path.name == f"{uid}.json"
    assert f"result spooled to {path}" in r.stdout
    assert f"commitbench ingest {path}" in r.stdout
    assert "database unavailable" in r.stdout
    assert "result will be spooled" in r.stderr
    assert "nobody@127.0.0.1:1/x" in r.stderr
    res = RunResult.load(path)
    assert res.run_uid == uid and res.status == "succeeded"
    (sc,) = res.scenarios
    assert sc.status == "succeeded" and sc.metric("model_load_time").stats.n == 2
    assert sc.samples  # device samples are spooled too
    assert not home.exists()  # nothing went to the SQLite default


@pytest.mark.slow
def test_ingest_twice(cb, spooled, pg_url):
    path, _, _ = spooled
    r = run_cli(["db", "upgrade", "--db", pg_url], cb.env)
    assert r.returncode == 0, r.stderr
    assert table_counts(pg_url) == ZERO

    first = run_cli(["ingest", path, "--db", pg_url], cb.env)
    assert first.returncode == 0, first.stderr
    assert f"{path}: inserted" in first.stdout
    after_first = table_counts(pg_url)
    second = run_cli(["ingest", path, "--db", pg_url], cb.env)
    assert second.returncode == 0, second.stderr
    assert f"{path}: skipped" in second.stdout
    assert table_counts(pg_url) == after_first

    res = RunResult.load(path)
    (sc,) = res.scenarios
    assert after_first == {"benchmarks": 1, "scenario_runs": 1, "metrics": len(sc.metrics),
                           "device_measurements": len(sc.samples), "model_measurements": 1}
    got = read_run(pg_url, res.run_uid)
    assert got["benchmark"]["status"] == "succeeded"
    assert got["benchmark"]["config_hash"] == res.config_hash
    assert got["scenarios"]["load"]["status"] == "succeeded"
    for m in sc.metrics:
        row = got["metrics"][("load", m.name)]
        assert row["samples"] == pytest.approx(m.samples)
        assert (row["n"], row["median"], row["stdev"]) == (m.stats.n, pytest.approx(m.stats.median),
                                                            pytest.approx(m.stats.stdev))
    assert got["model_measurements"][0]["measurements"] == {
        k: pytest.approx(v) for k, v in res.seed_measurements().items() if v is not None}
    assert sorted(d["cpu_util"] for d in got["devices"]) == pytest.approx(sorted(s.cpu_util for s in sc.samples))


def _valid_result(**changes) -> str:
    res = RunResult(run_uid="11111111-2222-3333-4444-555555555555", branch="b", commit_id="abcd",
                    commit_message="m", repository=None, model_id="micro-llama", synthetic=True, config={},
                    config_hash="0" * 64, environment={"gpu_name": "cpu"}, status="succeeded",
                    started_at=1.0e9, finished_at=1.0e9 + 1)
    return json.dumps(res.to_dict() | changes)


BAD_FILES = {
    "missing": None,
    "malformed": "{not json",
    "wrong-format": json.dumps({"format": "something/else"}),
    "incomplete": json.dumps({"format": "commitbench.result/1", "run_uid": "x"}),
    # a JSON array used to give an AttributeError traceback, exit 1
    "not-an-object": "[]",
    # wrongly typed fields used to pass the read check and crash in the store: exit 1
    "wrong-type": _valid_result(started_at="yesterday"),
}


def test_valid_result_helper_is_accepted(cb, sqlite_url):
    """The control for the wrong-type case: the same file, well typed, is ingested."""
    upgrade_db(sqlite_url)
    good = cb.root / "good.json"
    good.write_text(_valid_result())
    r = cli_in_process(["ingest", good, "--db", sqlite_url], cb.env)
    assert r.returncode == 0, r.stderr
    assert table_counts(sqlite_url)["benchmarks"] == 1


@pytest.mark.parametrize("content", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_ingest_bad_file_writes_nothing(cb, pg_url, content):
    upgrade_db(pg_url)
    bad = cb.root / "bad.json"
    if content is not None:
        bad.write_text(content)
    r = cli_in_process(["ingest", bad, "--db", pg_url], cb.env)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("commitbench: error:") and str(bad) in lines[0]
    assert table_counts(pg_url) == ZERO


def test_ingest_checks_all_files_before_storing_any(cb, pg_url):
    path = _write(cb.root / "good.json", _valid_result())  # a well-formed result
    upgrade_db(pg_url)
    bad = cb.root / "bad.json"
    bad.write_text("{not json")
    r = cli_in_process(["ingest", path, bad, "--db", pg_url], cb.env)
    assert r.returncode == 2
    assert table_counts(pg_url) == ZERO


def test_ingest_into_unreachable_database(cb):
    path = _write(cb.root / "good.json", _valid_result())  # a well-formed result
    r = cli_in_process(["ingest", path, "--db", UNREACHABLE], cb.env)
    assert r.returncode == 3, r.stdout + r.stderr
    assert r.stderr.startswith("commitbench: error: database")
    assert path.exists()


def test_spool_dir_under_a_file_is_refused_up_front(cb):
    """--spool-dir under a regular file was accepted; with the database unreachable the run
    then died at the end (NotADirectoryError traceback, exit 1), nothing spooled, and --json
    (written after the spool) not written either: the result was lost."""
    not_a_dir = cb.root / "afile"
    not_a_dir.write_text("")
    r = cli_in_process(["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_error",
                 "--db", UNREACHABLE, "--spool-dir", not_a_dir / "spool"], cb.env)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"commitbench: error: --spool-dir {not_a_dir / 'spool'}: {not_a_dir} is not a directory\n"
    assert r.stdout == "" and not list(cb.tmp.iterdir())


@pytest.mark.slow
def test_spool_dir_lost_mid_run_falls_back_and_json_comes_first(cb):
    """The spool directory becomes unusable while the run measures: the JSON is written
    first, the spool goes to the fallback under the temporary directory, and the output
    says where both are."""
    spool = cb.root / "spool"
    out_json = cb.root / "result.json"
    # the hang's 10 s leave room to see its phase line on a busy machine (3 s fired first)
    args = ["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_hang", "--timeout", "10",
            "--db", UNREACHABLE, "--spool-dir", str(spool), "--json", str(out_json)]
    with running_cli(args, cb.env) as (proc, err, out):
        err.wait_for(r"     - hang$", timeout=120)
        spool.write_text("now a regular file")
        proc.wait(timeout=60)
    assert proc.returncode == 3, err.text()
    fallback = cb.tmp / "commitbench-spool"
    (kept,) = list(fallback.glob("*.json"))
    text = out.text()
    assert f"could not spool to {spool}/{kept.name}" in text
    assert f"result spooled to {kept}" in text and f"commitbench ingest {kept}" in text
    assert f"JSON written to {out_json}" in text
    assert RunResult.load(kept).run_uid == RunResult.load(out_json).run_uid == run_uid(text)
    assert spool.read_text() == "now a regular file"


def test_nothing_writable_puts_the_result_on_stderr(tmp_path, capsys):
    """Last resort: no spool location and no --json file can be written."""
    from benchmark.run.keep import STDERR_MARKER, keep

    blocker = tmp_path / "file"
    blocker.write_text("")
    result = RunResult.load(_write(tmp_path / "r.json", _valid_result()))
    kept = keep(result, None, blocker / "spool", fallback_dir=blocker / "fallback")
    assert kept.spool_path is None and kept.on_stderr and len(kept.spool_errors) == 2
    marker, payload = capsys.readouterr().err.split("\n", 1)
    assert marker == STDERR_MARKER
    assert RunResult.from_dict(json.loads(payload)) == result


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.slow
def test_nul_in_a_crashed_scenarios_stderr_is_stored(cb, pg_url, tmp_path):
    """On PostgreSQL a NUL byte in a failing scenario's stderr made psycopg2 raise ValueError:
    the runner died, the row stayed `running`, the next scenario never ran, nothing was
    spooled. Now the failure is stored (NUL as U+FFFD) and the run goes on."""
    upgrade_db(pg_url)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text('import sys\nsys.stderr.write("before\\x00after\\n")\n')
    env = dict(cb.env, PYTHONPATH=str(site))
    r = run_cli(["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_error,load", "--repetitions",
                 "1", "--db", pg_url], env)
    assert r.returncode == 1, r.stderr
    got = read_run(pg_url, run_uid(r.stdout))
    assert got["benchmark"]["status"] == "failed"
    failed = got["scenarios"]["selftest_error"]
    assert failed["status"] == "failed" and "before\ufffdafter" in failed["stderr_tail"]
    assert got["scenarios"]["load"]["status"] == "succeeded"  # the next scenario ran

    # a result file with NUL in it (an older spool, say) ingests too
    res = RunResult.load(_write(tmp_path / "nul.json", _valid_result()))
    res.error = "a\x00b"
    res.run_uid = "nul-run"
    path = _write(tmp_path / "nul2.json", res.to_json())
    r = run_cli(["ingest", path, "--db", pg_url], cb.env)
    assert r.returncode == 0 and "inserted" in r.stdout, r.stderr
    assert read_run(pg_url, "nul-run")["benchmark"]["error"] == "a\ufffdb"


def test_ingest_refuses_a_file_it_could_never_store(cb, tmp_path, sqlite_url):
    """A result whose repository is longer than its column (written by an older commitbench)
    failed every ingest with exit 3, forever; now exit 2 names the field. Credentials in a
    repository URL are dropped on the way in."""
    upgrade_db(sqlite_url)
    res = RunResult.load(_write(tmp_path / "r.json", _valid_result()))
    res.repository = "r" * 600
    r = cli_in_process(["ingest", _write(tmp_path / "long.json", res.to_json()), "--db", sqlite_url], cb.env)
    assert r.returncode == 2 and "invalid repository" in r.stderr, r.stderr
    assert table_counts(sqlite_url)["benchmarks"] == 0
    res.repository = "https://user:s3cret-token@github.com/o/r.git"
    r = cli_in_process(["ingest", _write(tmp_path / "token.json", res.to_json()), "--db", sqlite_url], cb.env)
    assert r.returncode == 0, r.stderr
    assert read_run(sqlite_url, res.run_uid)["benchmark"]["repository"] == "https://github.com/o/r.git"


@pytest.mark.slow
def test_database_goes_away_mid_run(cb, pg_server, pg_url):
    """The database disappears while the second scenario runs: the run finishes, spools the
    complete result, and ingest completes the partly written run once the database is back."""
    upgrade_db(pg_url)
    name = make_url(pg_url).database
    gone = name + "_gone"
    spool = cb.root / "spool"
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    args = ["run", *IDENT, "--model", "micro-llama", "--repetitions", "1", "--scenarios", "load,selftest_hang",
            "--db", pg_url, "--spool-dir", str(spool)]
    renamed = False
    try:
        with running_cli(args, cb.env) as (proc, err, out):
            err.wait_for(r"     - hang$", timeout=120)
            with admin.connect() as conn:  # the load scenario is stored by now: a partly written run
                for attempt in range(5):  # an autovacuum worker may connect in between: try again
                    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                    try:
                        conn.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{gone}"'))
                        renamed = True
                        break
                    except OperationalError:
                        if attempt == 4:
                            raise
                        time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    finally:
        if renamed:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{gone}" RENAME TO "{name}"'))
        admin.dispose()
    assert proc.returncode == 143, err.text()  # cancelled wins over "database unavailable"
    files = list(spool.glob("*.json"))
    assert len(files) == 1
    assert f"commitbench ingest {files[0]}" in out.text()
    res = RunResult.load(files[0])
    assert res.status == "cancelled"
    assert [(s.name, s.status) for s in res.scenarios] == [("load", "succeeded"), ("selftest_hang", "cancelled")]

    before = read_run(pg_url, res.run_uid)
    assert before["benchmark"]["status"] == "running"
    assert set(before["scenarios"]) == {"load"}

    r = run_cli(["ingest", files[0], "--db", pg_url], cb.env)
    assert r.returncode == 0, r.stderr
    assert f"{files[0]}: completed" in r.stdout
    got = read_run(pg_url, res.run_uid)
    assert got["benchmark"]["status"] == "cancelled"
    assert {n: s["status"] for n, s in got["scenarios"].items()} == {"load": "succeeded",
                                                                     "selftest_hang": "cancelled"}
    assert len(got["devices"]) == sum(len(s.samples) for s in res.scenarios)
    assert no_workers_left(cb.tmp) == []

