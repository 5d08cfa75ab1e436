"""Several commitbench processes on one database at once: parallel CI jobs on a runner
sharing a SQLite file, two `ingest` of one spool, two `db upgrade` at deploy time.

Each case starts real processes that begin their work at the same instant."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from db.migrate import current_revision, head_revision
from db.session import make_engine
from db.store import ALREADY_STORED
from helpers import IDENT, read_run, run_cli, run_uid, table_counts, upgrade_db
from results import make_result

SCRIPT = Path(__file__).resolve().parent / "concurrently.py"

pytestmark = pytest.mark.slow  # real processes started together, each waiting for the same instant


def together(n: int, action: str, url: str, arg: str | None = None, args=None) -> list[subprocess.CompletedProcess]:
    start = time.time() + 4  # every process has imported and connected by then
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), action, url, str(start),
                               *([args[i]] if args else [arg] if arg else [])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_concurrent_writers_on_one_sqlite_file(sqlite_url):
    """8 processes each storing 3 runs as the runner does (read the row, then write). With a
    deferred BEGIN two such transactions deadlock and SQLite fails one at once with
    "database is locked": 20 of 32 real runs exited 3. BEGIN IMMEDIATE queues them."""
    upgrade_db(sqlite_url)
    results = together(8, "runs", sqlite_url, args=[f"writer{i}" for i in range(8)])
    for r in results:
        assert r.returncode == 0 and r.stdout.strip() == "saved", r.stderr[-2000:]
    assert table_counts(sqlite_url) == {"benchmarks": 24, "scenario_runs": 72, "metrics": 144,
                                        "device_measurements": 120, "model_measurements": 24}


def test_concurrent_runs_on_one_sqlite_file(cb, tmp_path):
    """Real `commitbench run`s, 4 at a time, on one SQLite file: all stored, none spooled."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    upgrade_db(url)

    def one(i: int):
        return run_cli(["run", *IDENT, "--model", "micro-llama", "--repetitions", "1", "--scenarios", "load", "--db", url,
                        "--spool-dir", tmp_path / f"spool{i}"], cb.env)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(8)))
    for r in results:
        assert r.returncode == 0, r.stdout + r.stderr
    uids = {run_uid(r.stdout) for r in results}
    assert len(uids) == 8 and table_counts(url)["benchmarks"] == 8
    assert all(read_run(url, u)["benchmark"]["status"] == "succeeded" for u in uids)
    assert not list(tmp_path.glob("spool*/*.json"))


def test_two_ingests_of_one_result_store_it_once(db_url, tmp_path):
    """The loser exited 3 with UniqueViolation on PostgreSQL; now it says "already stored"."""
    upgrade_db(db_url)
    for attempt in range(3):
        result = make_result(f"twice-{attempt}")
        path = tmp_path / f"r{attempt}.json"
        path.write_text(result.to_json())
        outcomes = together(2, "ingest", db_url, str(path))
        for r in outcomes:
            assert r.returncode == 0, r.stderr[-2000:]
        assert sorted(r.stdout.strip() for r in outcomes) == sorted(["inserted", ALREADY_STORED])
    assert table_counts(db_url)["benchmarks"] == 3


def test_two_upgrades_at_once_both_end_at_head(pg_url):
    """One of two concurrent upgrades exited 3 (UniqueViolation creating a table) in 7 of 9
    tries; the advisory lock serializes them, and the second finds the schema at head."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(3):
            name = f"{make_url(pg_url).database}_up{attempt}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
            outcomes = together(2, "upgrade", url)
            for r in outcomes:
                assert r.returncode == 0 and r.stdout.strip() == head_revision(), r.stderr[-2000:]
            engine = make_engine(url)
            assert current_revision(engine) == head_revision()
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def test_two_detects_at_once_both_store_and_exit_0(pg_url):
    """Two `detect` over the same history at once stored the right rows, but one of them exited 3
    in about half the trials, with SQLAlchemy's autoflush note as its message (both inserted the
    same change point; the unique key refused the second). An advisory lock per series
    serializes them: the second finds the first one's points and changes nothing."""
    from sqlalchemy import text

    from verdict_data import history, store_all

    store_all(pg_url, history(40, step_at=20, step=0.10))
    engine = make_engine(pg_url)

    def stored() -> list[tuple]:
        with engine.connect() as conn:
            points = conn.execute(text("SELECT repository, branch, series_key, figure, detector, commit_id, state "
                                       "FROM change_points ORDER BY 1, 2, 3, 4, 5, 6")).all()
            reports = conn.execute(text("SELECT repository, branch, series_key, figure, commit_id, state "
                                        "FROM regression_reports ORDER BY 1, 2, 3, 4, 5")).all()
        return points + reports

    def forget() -> None:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM regression_reports"))
            conn.execute(text("DELETE FROM change_points"))

    try:
        alone = together(1, "detect", pg_url)[0]
        assert alone.returncode == 0 and "stored: 4 new" in alone.stdout, alone.stdout + alone.stderr
        expected = stored()
        assert len(expected) == 8  # 4 change points, 4 reports
        for _ in range(6):
            forget()
            outcomes = together(2, "detect", pg_url)
            for r in outcomes:
                assert r.returncode == 0, r.stdout + r.stderr[-2000:]
            assert sorted(r.stdout.splitlines()[0].split("; stored: ")[1] for r in outcomes) == [
                "0 new, 0 updated, 0 withdrawn; reports: 0 opened, 0 confirmed, 0 fixed, 0 withdrawn, 0 reopened",
                "4 new, 0 updated, 0 withdrawn; reports: 4 opened, 0 confirmed, 0 fixed, 0 withdrawn, 0 reopened"]
            assert stored() == expected
    finally:
        engine.dispose()


def _build(out: str) -> str:
    from benchmark.models import build_synthetic

    return str(build_synthetic("micro-llama", "float32", 0, "cpu", Path(out)))


def test_parallel_runs_on_a_fresh_machine_build_one_checkpoint(tmp_path):
    """Four runs that all find no checkpoint build it at once: the renames of the finished
    copies over the first one failed ("Directory not empty") and failed those runs."""
    import multiprocessing

    out = tmp_path / "micro-llama"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_build, [str(out)] * 4) == [str(out)] * 4
    assert [p.name for p in tmp_path.iterdir()] == ["micro-llama"]  # no half-built copies left
    assert (out / "config.json").is_file()
