"""Runs one worker job in its own subprocess and says how it ended.

The worker gets its own session (process group), so a timeout or a cancel kills it and
every compile worker it spawned. Waiting is event-driven: a waiter thread and the cancel
signal both set one Event; nothing polls. The job goes to the worker, and its output comes
back, through contracts.codec.

If the runner itself is killed (SIGKILL), the worker dies with it (PR_SET_PDEATHSIG, set
by the worker against the pid passed here). Linux sends that signal when the *thread* that
started the worker exits, so jobs are started from the runner's main thread.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contracts import codec
from ..contracts.jobs import RUNNER_PID_ENV, encode_job, output_type
from ..contracts.result import CANCELLED, FAILED, SUCCEEDED, Phase
from ..trackers import events as ev

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # so `-m benchmark.worker` imports uninstalled
STDERR_TAIL_LINES = 20
KILL_GRACE_S = 5.0


@dataclass
class Outcome:
    status: str
    started_at: float
    finished_at: float
    exit_code: int | None = None
    signal: str | None = None
    error: str | None = None
    stderr_tail: str | None = None
    phases: list[Phase] = field(default_factory=list)
    output: Any = None  # the job's output dataclass, when it succeeded


class Cancel:
    """Set from a signal handler; wakes whichever job is waiting."""

    def __init__(self) -> None:
        self.requested: int | None = None  # the signal number
        self._wake: threading.Event | None = None

    def request(self, signum: int) -> None:
        self.requested = signum
        if self._wake is not None:
            self._wake.set()


def run_job(job: Any, *, workdir: Path, timeout_s: float, cancel: Cancel,
            on_event: Callable[[dict[str, Any]], None] = lambda e: None,
            env: dict[str, str] | None = None) -> Outcome:
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, out_path = workdir / "spec.json", workdir / "out.json"
    spec_path.write_text(json.dumps(encode_job(job)))
    out_path.unlink(missing_ok=True)
    phases: list[Phase] = []

    def handle(event: dict[str, Any]) -> None:
        if event["event"] == "phase":
            if phases:
                phases[-1].end = event["t"]
            phases.append(Phase(name=event["name"], start=event["t"]))
        on_event(event)

    read_fd, write_fd = os.pipe()
    child_env = {**os.environ, **(env or {}), ev.ENV_FD: str(write_fd), "PYTHONUNBUFFERED": "1",
                 RUNNER_PID_ENV: str(os.getpid()),
                 "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.time()
    with open(workdir / "stdout.log", "wb") as out_log, open(workdir / "stderr.log", "wb") as err_log:
        proc = subprocess.Popen([sys.executable, "-m", "benchmark.worker", str(spec_path), str(out_path)],
                                stdin=subprocess.DEVNULL, stdout=out_log, stderr=err_log, env=child_env,
                                pass_fds=(write_fd,), start_new_session=True)
    os.close(write_fd)
    reader = threading.Thread(target=ev.read_events, args=(os.fdopen(read_fd), handle), daemon=True)
    reader.start()
    on_event({"event": "started", "pid": proc.pid, "t": started})

    wake = threading.Event()
    cancel._wake = wake
    threading.Thread(target=lambda: (proc.wait(), wake.set()), daemon=True).start()
    if cancel.requested is None:
        wake.wait(timeout_s)
    cancel._wake = None
    timed_out = proc.poll() is None and cancel.requested is None
    if proc.poll() is None:
        _kill_group(proc)
    else:
        _reap_group(proc)
    reader.join(timeout=5)
    finished = time.time()
    if phases and phases[-1].end is None:
        phases[-1].end = finished

    tail = _tail(workdir / "stderr.log")
    outcome = Outcome(status=FAILED, started_at=started, finished_at=finished, exit_code=proc.returncode,
                      stderr_tail=tail or None, phases=phases)
    if proc.returncode is not None and proc.returncode < 0:
        outcome.signal = signal.Signals(-proc.returncode).name
        outcome.exit_code = None
    if cancel.requested is not None:
        outcome.status = CANCELLED
        outcome.error = f"cancelled by {signal.Signals(cancel.requested).name}"
    elif timed_out:
        outcome.error = f"timed out after {timeout_s:g} s (killed)"
    elif proc.returncode == 0 and out_path.is_file():
        try:
            outcome.output = codec.loads(output_type(job), out_path.read_text(), "worker output")
            outcome.status = SUCCEEDED
        except ValueError as e:
            outcome.error = f"the worker's output is malformed: {e}"
    elif outcome.signal:
        outcome.error = f"worker died of {outcome.signal}" + _last_line_suffix(tail)
    else:
        outcome.error = f"worker exited with code {proc.returncode}" + _last_line_suffix(tail)
    return outcome


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the worker's process group, SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _reap_group(proc: subprocess.Popen) -> None:
    """Kill what the worker left behind in its group (e.g. compile workers of a crashed one)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path) -> str:
    lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    # tqdm-style progress bars rewrite one line with \r; keep what a person would see last
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines[-STDERR_TAIL_LINES:])


def _last_line_suffix(tail: str) -> str:
    lines = [line for line in tail.splitlines() if line.strip()]
    return f": {lines[-1].strip()[:300]}" if lines else ""


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="commitbench-"))
