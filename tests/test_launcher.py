"""benchmark/run/launcher.py run_job with the selftest scenarios: real worker subprocesses."""

from __future__ import annotations

import signal
import threading

import psutil
import pytest

from benchmark.contracts.config import ScenarioParams
from benchmark.contracts.jobs import ScenarioJob
from benchmark.run.launcher import Cancel, run_job


def spec(kind: str) -> ScenarioJob:
    return ScenarioJob(params=ScenarioParams(kind=kind), model_path="unused", device="cpu", seed=0)


@pytest.mark.slow
def test_crash(tmp_path):
    out = run_job(spec("selftest_crash"), workdir=tmp_path, timeout_s=120, cancel=Cancel())
    assert out.status == "failed"
    assert out.signal == "SIGSEGV" and out.exit_code is None
    assert "SIGSEGV" in out.error
    assert [p.name for p in out.phases] == ["crash"]
    assert out.phases[0].end is not None and out.phases[0].end >= out.phases[0].start
    assert out.output is None
    assert out.started_at <= out.finished_at


@pytest.mark.slow
def test_error(tmp_path):
    out = run_job(spec("selftest_error"), workdir=tmp_path, timeout_s=120, cancel=Cancel())
    assert out.status == "failed" and out.exit_code == 1 and out.signal is None
    assert "RuntimeError: selftest scenario raised on purpose" in out.stderr_tail
    assert out.error == "worker exited with code 1: RuntimeError: selftest scenario raised on purpose"
    assert [p.name for p in out.phases] == ["error"]
    assert (tmp_path / "spec.json").is_file() and not (tmp_path / "out.json").exists()


@pytest.mark.slow
def test_hang_times_out(tmp_path):
    events = []
    out = run_job(spec("selftest_hang"), workdir=tmp_path, timeout_s=2, cancel=Cancel(), on_event=events.append)
    assert out.status == "failed"
    assert out.error == "timed out after 2 s (killed)"
    pid = next(e["pid"] for e in events if e["event"] == "started")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow
def test_cancel_from_another_thread(tmp_path):
    cancel = Cancel()
    events = []
    timers = []

    def on_event(e):
        events.append(e)
        if e["event"] == "phase" and e["name"] == "hang":
            t = threading.Timer(0.3, cancel.request, [signal.SIGTERM])
            timers.append(t)
            t.start()

    out = run_job(spec("selftest_hang"), workdir=tmp_path, timeout_s=120, cancel=cancel, on_event=on_event)
    for t in timers:
        t.join()
    assert timers, "the hang phase was never reported"
    assert out.status == "cancelled"
    assert out.error == "cancelled by SIGTERM"
    assert cancel.requested == signal.SIGTERM
    assert [p.name for p in out.phases] == ["hang"]
    started = [e for e in events if e["event"] == "started"]
    assert len(started) == 1 and isinstance(started[0]["pid"], int)
    assert not psutil.pid_exists(started[0]["pid"]) or \
        psutil.Process(started[0]["pid"]).status() == psutil.STATUS_ZOMBIE


def test_cancel_requested_before_the_job(tmp_path):
    cancel = Cancel()
    cancel.request(signal.SIGINT)
    out = run_job(spec("selftest_hang"), workdir=tmp_path, timeout_s=120, cancel=cancel)
    assert out.status == "cancelled" and out.error == "cancelled by SIGINT"


def test_events_in_order(tmp_path):
    events = []
    out = run_job(spec("selftest_error"), workdir=tmp_path, timeout_s=120, cancel=Cancel(), on_event=events.append)
    assert out.status == "failed"
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and events[0]["pid"] > 0
    assert {"event": "phase", "name": "error"} == {k: events[1][k] for k in ("event", "name")}
    assert all("t" in e for e in events)


@pytest.mark.slow
def test_extra_env_reaches_the_worker(tmp_path):
    """env= is added to the worker's environment (the runner's per-scenario inductor cache)."""
    out = run_job(spec("selftest_error"), workdir=tmp_path, timeout_s=120, cancel=Cancel(),
                  env={"PYTHONWARNINGS": "error::NotAWarningClass"})
    # an invalid PYTHONWARNINGS category makes the interpreter print a warning about it on stderr
    assert out.status == "failed"
    assert "NotAWarningClass" in (out.stderr_tail or "")
