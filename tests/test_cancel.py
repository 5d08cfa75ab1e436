"""SIGTERM / SIGINT during a run: 128 + signal, what finished is stored, the hanging
scenario is stored as cancelled, and no worker is left behind."""

from __future__ import annotations

import signal

import pytest

from helpers import IDENT, no_workers_left, read_run, run_uid, running_cli

pytestmark = pytest.mark.slow  # real runs, real signals


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_cancel_during_hang(cb, sig, code):
    args = ["run", *IDENT, "--model", "micro-llama", "--repetitions", "1", "--scenarios", "load,selftest_hang"]
    with running_cli(args, cb.env) as (proc, err, out):
        err.wait_for(r"\[2/2\] selftest_hang", timeout=120)
        err.wait_for(r"^\[\d\d:\d\d\]     - hang$", timeout=60)
        assert proc.poll() is None
        proc.send_signal(sig)
        proc.wait(timeout=60)
    stdout = out.text()
    assert proc.returncode == code, err.text()
    assert f"CANCELLED: cancelled by {sig.name}" in err.text()

    uid = run_uid(stdout)
    assert f"commitbench run {uid}: CANCELLED" in stdout
    got = read_run(cb.default_url, uid)
    assert got["benchmark"]["status"] == "cancelled"
    assert got["benchmark"]["error"] == f"cancelled by {sig.name}"
    assert got["benchmark"]["finished_at"] is not None
    assert got["scenarios"]["load"]["status"] == "succeeded"
    hang = got["scenarios"]["selftest_hang"]
    assert hang["status"] == "cancelled" and hang["error"] == f"cancelled by {sig.name}"
    assert [p["name"] for p in hang["phases"]] == ["hang"]
    assert ("load", "model_load_time") in got["metrics"]
    assert no_workers_left(cb.tmp) == []
    assert not list(cb.tmp.glob("commitbench-*"))
