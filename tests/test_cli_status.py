"""`commitbench status`: stale or failing branches/runners exit 10, healthy ones 0; no runs at
all is stale; bad options exit 2; an unreachable database 3."""

from __future__ import annotations

import json
import random
import time

import pytest

from benchmark.cli import main
from verdict_data import ENV, T0, run_of, sha, store_all


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def hours_ago(h: float) -> float:
    """run_of's hours (from T0) for a run that started `h` hours before now."""
    return (time.time() - T0) / 3600 - h


def ran(i: int, h: float, branch: str = "main", host: str = "runner-1", fails: bool = False):
    r = run_of(sha(i), hours_ago(h), branch=branch, rng=random.Random(i), eager_fails=fails)
    r.environment = ENV | {"hostname": host}
    return r


def by_key(doc: dict) -> dict[tuple, dict]:
    return {(r["branch"], r["runner_host"]): r for r in doc["runners"]}


def test_healthy_stale_and_failing_runners(db_url, capsys):
    store_all(db_url, [ran(1, 30), ran(2, 2),                                  # main on runner-1: fresh
                       ran(3, 24 * 9 + 0.5, host="runner-2"),                  # main on runner-2: 9 days ago
                       ran(4, 5, branch="nightly"), ran(5, 4, branch="nightly", fails=True),
                       ran(6, 3, branch="nightly", fails=True), ran(7, 2, branch="nightly", fails=True)])
    code, out, _ = cli(capsys, "status", "--format", "json", "--db", db_url)
    doc = json.loads(out)
    assert code == 10 and doc["healthy"] is False
    runners = by_key(doc)
    assert runners[("main", "runner-1")]["state"] == "ok" and runners[("main", "runner-1")]["newest_commit"] == sha(2)
    assert runners[("main", "runner-2")]["state"] == "stale"
    assert runners[("main", "runner-2")]["reasons"][0].startswith("newest finished run 9d 0h ago (allowed 7d 0h)")
    assert runners[("nightly", "runner-1")]["state"] == "failing"
    assert runners[("nightly", "runner-1")]["failures_in_a_row"] == 3

    code, out, _ = cli(capsys, "status", "--branch", "main", "--max-age", "10d", "--db", db_url)
    assert code == 0 and out.splitlines()[0].startswith("ok: 0 of 2 branch/runners stale or failing (max age 10d")
    code, out, _ = cli(capsys, "status", "--branch", "nightly", "--max-failures", "4", "--db", db_url)
    assert code == 0 and out.splitlines()[0].startswith("ok: 0 of 1")
    code, out, _ = cli(capsys, "status", "--branch", "main", "--max-age", "1h", "--db", db_url)
    assert code == 10 and out.splitlines()[0].startswith("stale: 2 of 2")


def test_the_default_max_age_comes_from_the_environment(sqlite_url, capsys, monkeypatch):
    store_all(sqlite_url, [ran(1, 30)])
    assert cli(capsys, "status", "--db", sqlite_url)[0] == 0  # 7d by default
    monkeypatch.setenv("COMMITBENCH_MAX_AGE", "1d")
    assert cli(capsys, "status", "--db", sqlite_url)[0] == 10
    monkeypatch.setenv("COMMITBENCH_MAX_AGE", "soon")
    code, out, err = cli(capsys, "status", "--db", sqlite_url)
    assert code == 2 and out == "" and "$COMMITBENCH_MAX_AGE: 'soon' is not an age" in err


def test_a_run_still_running_is_not_fresh(sqlite_url, capsys):
    stuck = ran(2, 1)
    stuck.status = "running"
    store_all(sqlite_url, [ran(1, 24 * 8), stuck])
    code, out, _ = cli(capsys, "status", "--format", "json", "--db", sqlite_url)
    (runner,) = json.loads(out)["runners"]
    assert code == 10 and runner["state"] == "stale" and runner["running"] == 1 and runner["newest_commit"] == sha(1)


def test_no_runs_is_stale_not_healthy(sqlite_url, tmp_path, capsys):
    missing = f"sqlite:///{tmp_path / 'none.sqlite'}"
    code, out, _ = cli(capsys, "status", "--db", missing)
    assert code == 10 and out == f"stale: no runs stored: {tmp_path / 'none.sqlite'} does not exist\n"
    assert not (tmp_path / "none.sqlite").exists()
    store_all(sqlite_url, [ran(1, 1)])
    code, out, _ = cli(capsys, "status", "--branch", "release", "--format", "json", "--db", sqlite_url)
    doc = json.loads(out)
    assert code == 10 and doc["healthy"] is False and doc["problem"] == "no runs stored for branch 'release'"


@pytest.mark.parametrize("args, message", [
    (["--max-age", "3x"], "--max-age: '3x' is not an age"),
    (["--max-failures", "0"], "--max-failures must be an integer from 1 to 1000, got 0"),
    (["-o", "/nonexistent/d/s.txt"], "--output /nonexistent/d/s.txt: directory /nonexistent/d does not exist"),
])
def test_bad_input(sqlite_url, capsys, args, message):
    store_all(sqlite_url, [ran(1, 1)])
    code, out, err = cli(capsys, "status", *args, "--db", sqlite_url)
    assert code == 2 and out == "" and message in err and len(err.splitlines()) == 1


def test_database_unavailable(capsys):
    code, out, err = cli(capsys, "status", "--db", "postgresql://u:p@127.0.0.1:1/metrics")
    assert code == 3 and out == "" and "unavailable" in err
