"""The runner's view of the database: write as the run goes, and if the database fails,
stop writing and remember why, so the run can finish and its result be kept elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from db.migrate import SchemaError
from db.store import Store

from ..contracts.result import RunResult, ScenarioResult

HEARTBEAT_S = 30.0  # db.query.STALE_AFTER_S counts missed beats of this


def embedded(url: str) -> bool:
    """SQLite files are the user's own: the runner migrates them itself. A server's schema is
    upgraded deliberately, with `commitbench db upgrade`."""
    return url.startswith("sqlite")


class RunStore:
    def __init__(self, url: str, auto_upgrade: bool) -> None:
        self.store = Store(url)
        self.auto_upgrade = auto_upgrade
        self.error: str | None = None  # why the database is not being written, once it is not
        self.benchmark_id: int | None = None
        self._heartbeat: threading.Event | None = None

    @property
    def available(self) -> bool:
        return self.error is None

    def where(self) -> str:
        return self.store.where()

    def _guard(self, action: Callable[[], None]) -> None:
        if not self.available:
            return
        try:
            action()
        # ValueError: a driver refusing a value (psycopg2 raises it, unwrapped, for text
        # it cannot send). Whatever the database refuses, the run goes on and is spooled.
        except (SQLAlchemyError, SchemaError, OSError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            self.error = f"{type(e).__name__}: {first}"
            self.store.close()

    def open(self) -> None:
        self._guard(lambda: self.store.open(self.auto_upgrade))

    def save_run(self, result: RunResult) -> None:
        def write() -> None:
            self.benchmark_id = self.store.save_run(result)

        self._guard(write)

    def save_scenario(self, result: RunResult, scenario: ScenarioResult) -> None:
        def write() -> None:
            self.benchmark_id = self.store.save_scenario(result, scenario)

        self._guard(write)

    def start_heartbeat(self, run_uid: str, interval_s: float = HEARTBEAT_S) -> None:
        """Beat while the run lasts, so a run whose runner died is told from a slow one."""
        stop = self._heartbeat = threading.Event()

        def beat() -> None:
            while not stop.wait(interval_s) and self.available:
                self._guard(lambda: self.store.heartbeat(run_uid))

        threading.Thread(target=beat, name="commitbench-heartbeat", daemon=True).start()

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.set()
        self.store.close()
