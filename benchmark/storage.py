"""The runner's view of the database: write as the run goes, and if the database fails,
stop writing and remember why, so the run can finish and spool its result instead."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from db.migrate import SchemaError, current_revision, head_revision, upgrade
from db.session import make_engine, session_scope
from db.store import save_run, save_scenario
from db.url import display_url

from .result import RunResult, ScenarioResult


def embedded(url: str) -> bool:
    """SQLite files are the user's own: the runner migrates them itself. A server's schema is
    upgraded deliberately, with `commitbench db upgrade`."""
    return url.startswith("sqlite")


class Store:
    def __init__(self, url: str, auto_upgrade: bool) -> None:
        self.url = url
        self.auto_upgrade = auto_upgrade
        self.error: str | None = None  # why the database is not being written, once it is not
        self.benchmark_id: int | None = None
        self._engine = None

    @property
    def available(self) -> bool:
        return self.error is None

    def where(self) -> str:
        return display_url(self.url)

    def _guard(self, action: Callable[[], None]) -> None:
        if not self.available:
            return
        try:
            action()
        except (SQLAlchemyError, SchemaError, OSError) as e:
            self.error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
            if self._engine is not None:
                self._engine.dispose()

    def open(self) -> None:
        def connect() -> None:
            self._engine = make_engine(self.url)
            if self.auto_upgrade:
                upgrade(self._engine)
                return
            current, head = current_revision(self._engine), head_revision()
            if current != head:
                raise SchemaError(f"database schema is at {current or 'nothing'}, not {head}: "
                                  "run `commitbench db upgrade`")

        self._guard(connect)

    def save_run(self, result: RunResult) -> None:
        def write() -> None:
            with session_scope(self._engine) as session:
                self.benchmark_id = save_run(session, result)

        self._guard(write)

    def save_scenario(self, result: RunResult, scenario: ScenarioResult) -> None:
        def write() -> None:
            with session_scope(self._engine) as session:
                self.benchmark_id = save_run(session, result)
                save_scenario(session, self.benchmark_id, scenario)

        self._guard(write)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
