"""Engines and sessions. Nothing here runs at import time.

SQLite: several commitbench processes may write one file at once (parallel CI jobs on a
runner). In WAL mode readers never block, and every write transaction starts with
`BEGIN IMMEDIATE`, taking the write lock before its first read: with a deferred BEGIN, two
transactions that both read and then write deadlock, and SQLite answers one of them
"database is locked" at once instead of letting it wait. Read-only sessions
(`read_scope`) keep a deferred BEGIN, so reading never waits for a writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from db.url import parse_url

PG_CONNECT_TIMEOUT_S = 10  # an unreachable server must fail fast, not hang a CI job
SQLITE_BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another's write lock
READ_ONLY = "commitbench_read_only"  # execution option: a deferred BEGIN on SQLite


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
    # documented recipe). This also lets PRAGMAs be set outside a transaction.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


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


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session for reading only: never takes SQLite's write lock; rolled back at the end."""
    session = Session(engine.execution_options(**{READ_ONLY: True}))
    try:
        yield session
    finally:
        session.rollback()
        session.close()
