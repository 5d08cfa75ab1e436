"""A runner that dies without finishing (SIGKILL: an OOM kill, a CI machine gone) takes its
worker with it, and the run it leaves `running` is shown as stale and closed by a command."""

from __future__ import annotations

import socket

import pytest

from helpers import IDENT, no_workers_left, read_run, run_cli, running_cli, worker_processes

pytestmark = pytest.mark.slow  # real runners, killed for real


def test_sigkill_of_the_runner(cb):
    args = ["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_hang", "--timeout", "600"]
    with running_cli(args, cb.env) as (proc, err, out):
        err.wait_for(r"     - hang$", timeout=120)
        assert worker_processes(cb.tmp), "the hanging worker should be running"
        proc.kill()
        proc.wait(timeout=30)
    # the worker used to live on as an orphan, hanging forever
    assert no_workers_left(cb.tmp) == []

    b = read_run(cb.default_url)["benchmark"]
    assert b["status"] == "running"
    assert (b["runner_host"], b["runner_pid"]) == (socket.gethostname(), proc.pid)
    assert b["heartbeat_at"] is not None

    shown = run_cli(["history"], cb.env)
    assert shown.returncode == 0, shown.stderr
    (row,) = shown.stdout.splitlines()[1:]
    assert " stale " in row and "running" not in row  # never shown as in progress

    closed = run_cli(["db", "close-stale"], cb.env)
    assert closed.returncode == 0, closed.stderr
    assert f"closed run {b['run_uid']}" in closed.stdout and f"runner process {proc.pid}" in closed.stdout
    assert closed.stdout.rstrip().endswith("1 stale run(s) closed")
    b = read_run(cb.default_url)["benchmark"]
    assert b["status"] == "failed" and b["error"].startswith("abandoned: runner process")
    again = run_cli(["db", "close-stale"], cb.env)
    assert again.returncode == 0 and again.stdout.rstrip().endswith("0 stale run(s) closed")


def test_a_live_run_is_not_closed(cb):
    args = ["run", *IDENT, "--model", "micro-llama", "--scenarios", "selftest_hang", "--timeout", "600"]
    with running_cli(args, cb.env) as (proc, err, out):
        err.wait_for(r"     - hang$", timeout=120)
        closed = run_cli(["db", "close-stale"], cb.env)
        assert closed.returncode == 0 and closed.stdout.rstrip().endswith("0 stale run(s) closed")
        shown = run_cli(["history"], cb.env)
        assert " running " in shown.stdout
        proc.terminate()
        proc.wait(timeout=60)
    assert proc.returncode == 143
    assert read_run(cb.default_url)["benchmark"]["status"] == "cancelled"
