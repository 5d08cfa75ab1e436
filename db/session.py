"""Engines and sessions. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from db.url import parse_url

PG_CONNECT_TIMEOUT_S = 10  # an unreachable server must fail fast, not hang a CI job


def make_engine(url: str) -> Engine:
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        _sqlite_setup(engine)
        return engine
    return create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )


def _sqlite_setup(engine: Engine) -> None:
    # pysqlite's own transaction handling only BEGINs before DML, so DDL (migrations)
    # would run outside any transaction. Take over: no implicit transactions from the
    # driver, and emit BEGIN ourselves whenever SQLAlchemy starts one (SQLAlchemy's
    # documented recipe). This also lets PRAGMA foreign_keys be set outside a transaction.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success, rolls back (and re-raises) on error, always closes."""
    session = Session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
