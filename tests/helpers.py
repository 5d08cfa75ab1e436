"""Helpers shared by the runner / CLI tests: child environments, running the CLI as a real
subprocess or in this process, reading what a run stored, and finding leftover worker processes."""

from __future__ import annotations

import io
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
SHARED_MACHINE_RULES = Path(__file__).resolve().parent / "validity-shared-machine.toml"
COMMITBENCH = Path(sys.executable).parent / "commitbench"

# Small and quick: micro-llama, 6 tokens, 2 measured repetitions after 1 warmup call.
FAST = ["--model", "micro-llama", "--new-tokens", "6", "--repetitions", "2", "--warmup", "1"]
IDENT = ["--branch", "test-branch", "--commit", "abcd1234", "--message", "test message"]

RUN_UID = re.compile(r"^commitbench run ([0-9a-f-]{36}): ([A-Z]+)$", re.M)


def child_env(home: Path, cache: Path, tmpdir: Path | None = None, inductor: Path | None = None,
              **extra: str) -> dict[str, str]:
    """The environment of a commitbench subprocess, isolated from the developer's and CI's:
    no DATABASE_URL / PG* / GITHUB_* / COMMITBENCH_* from outside; the default SQLite under
    `home`; synthetic checkpoints in `cache`; `tmpdir` as TMPDIR (the runner's scratch dir,
    and so the worker spec paths, live there: that is how leftover workers are found)."""
    env = {k: v for k, v in os.environ.items()
           if not (k == "DATABASE_URL" or k.startswith(("PG", "GITHUB_", "COMMITBENCH_")))}
    env["COMMITBENCH_HOME"] = str(home)
    env["COMMITBENCH_CACHE"] = str(cache)
    env["HF_HUB_OFFLINE"] = "1"  # no network here: fail at once instead of retrying
    # The test machine is shared: other people's processes load its CPU, so by the default
    # rules most runs here would (rightly) be invalid, and a test comparing them would depend
    # on the neighbours. The CPU-load rule is off here; tests of it give their own rules.
    env["COMMITBENCH_VALIDITY"] = str(SHARED_MACHINE_RULES)
    env["PYTHONUNBUFFERED"] = "1"
    if tmpdir is not None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(tmpdir)
    if inductor is not None:
        env["TORCHINDUCTOR_CACHE_DIR"] = str(inductor)
    env.update(extra)
    return env


def run_cli(args: list[Any], env: dict[str, str], cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`commitbench ARGS` in a real subprocess; stdout/stderr decoded leniently."""
    return subprocess.run([str(COMMITBENCH), *args], env=env, cwd=cwd, capture_output=True,
                          timeout=timeout, text=True, errors="replace")


def cli_in_process(args: list[Any], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`commitbench ARGS` as `benchmark.cli.main(ARGS)` in this process: the same answer as
    `run_cli` (returncode, stdout, stderr) without a new interpreter importing torch each time.
    For bad input and the read side; a test whose point is the real process (signals, stdin,
    the console script, a run's workers) keeps `run_cli`.

    `env` replaces os.environ for the call and `cwd` the working directory; both come back
    afterwards, as do what a command may change for the rest of the process: tempfile's cached
    TMPDIR, signal handlers and logging (alembic's fileConfig gives the root logger a handler
    on the stderr of the moment, here the capture)."""
    from benchmark.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd, saved_tempdir = dict(os.environ), os.getcwd(), tempfile.tempdir
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    saved_logging = _logging_state()
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # read TMPDIR again, as a new process would
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse's own errors and --help
                if isinstance(e.code, str):
                    print(e.code, file=sys.stderr)
                code = 1 if isinstance(e.code, str) else (e.code or 0)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        tempfile.tempdir = saved_tempdir
        for s, handler in saved_signals.items():
            signal.signal(s, handler)
        _restore_logging(saved_logging)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def _logging_state() -> dict[str, tuple]:
    loggers = {"": logging.getLogger()} | {name: lg for name, lg in logging.Logger.manager.loggerDict.items()
                                           if isinstance(lg, logging.Logger)}
    return {name: (lg.handlers[:], lg.level, lg.propagate, lg.disabled) for name, lg in loggers.items()}


def _restore_logging(saved: dict[str, tuple]) -> None:
    """Loggers as they were; those the call created lose what it gave them."""
    for name, lg in [("", logging.getLogger()), *logging.Logger.manager.loggerDict.items()]:
        if not isinstance(lg, logging.Logger):
            continue
        handlers, level, propagate, disabled = saved.get(name, ([], logging.NOTSET, True, False))
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled


def run_uid(stdout: str) -> str:
    m = RUN_UID.search(stdout)
    assert m, f"no run line in stdout:\n{stdout}"
    return m.group(1)


def default_sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'commitbench.sqlite'}"


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}


def read_run(url: str, run_uid: str | None = None) -> dict[str, Any]:
    """Everything stored for one run (the only one when run_uid is None):
    {"benchmark": row, "scenarios": {name: row}, "metrics": {(scenario, name): row},
     "devices": [rows], "model_measurements": [rows]}."""
    from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun
    from db.session import make_engine, session_scope

    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            if run_uid is None:
                runs = s.scalars(select(Benchmark)).all()
                assert len(runs) == 1, f"expected one run, found {len(runs)}"
                bench = runs[0]
            else:
                bench = s.scalar(select(Benchmark).where(Benchmark.run_uid == run_uid))
                assert bench is not None, f"run {run_uid} not stored"
            bid = bench.benchmark_id
            return {
                "benchmark": _row(bench),
                "scenarios": {r.name: _row(r) for r in
                              s.scalars(select(ScenarioRun).where(ScenarioRun.benchmark_id == bid))},
                "metrics": {(r.scenario, r.name): _row(r) for r in
                            s.scalars(select(MetricRow).where(MetricRow.benchmark_id == bid))},
                "devices": [_row(r) for r in s.scalars(
                    select(DeviceMeasurement).where(DeviceMeasurement.benchmark_id == bid)
                    .order_by(DeviceMeasurement.time))],
                "model_measurements": [_row(r) for r in s.scalars(
                    select(ModelMeasurement).where(ModelMeasurement.benchmark_id == bid))],
            }
    finally:
        engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func

    from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun
    from db.session import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {m.__tablename__: conn.scalar(select(func.count()).select_from(m))
                    for m in (Benchmark, ScenarioRun, MetricRow, DeviceMeasurement, ModelMeasurement)}
    finally:
        engine.dispose()


def upgrade_db(url: str) -> None:
    from db.migrate import upgrade
    from db.session import make_engine

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def worker_processes(marker: Path | str) -> list[psutil.Process]:
    """Live `benchmark.worker` processes whose command line mentions `marker` (a test's TMPDIR:
    the spec file path is under it)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            cmd = p.info["cmdline"] or []
            if "benchmark.worker" in cmd and any(str(marker) in a for a in cmd) \
                    and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def no_workers_left(marker: Path | str, grace_s: float = 10.0) -> list[psutil.Process]:
    """The workers still alive after `grace_s` (an empty list is the expected answer)."""
    deadline = time.monotonic() + grace_s
    while True:
        left = worker_processes(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


class LineReader:
    """Reads a pipe line by line in a thread, so a test can wait for a line with a deadline."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._t = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._t.start()

    def _pump(self, stream) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern: str, timeout: float) -> str:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{self.text()}")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stream closed before a line matching {pattern!r}:\n{self.text()}")
            if rx.search(line):
                return line

    def join(self, timeout: float = 30) -> None:
        self._t.join(timeout)

    def text(self) -> str:
        return "".join(self.lines)


@contextmanager
def running_cli(args: list[str], env: dict[str, str]):
    """A `commitbench` process whose stderr and stdout are read line by line; yields
    (proc, err, out) and kills the process if it is still running at the end."""
    proc = subprocess.Popen([str(COMMITBENCH), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err, out = LineReader(proc.stderr), LineReader(proc.stdout)
    try:
        yield proc, err, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.join()
        out.join()


def report_states(url: str) -> dict[int, str]:
    """report id -> state, as stored."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT report_id, state FROM regression_reports")).all())
    finally:
        engine.dispose()
