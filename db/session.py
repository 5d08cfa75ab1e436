"""Engines and sessions. Nothing here runs at import time.

SQLite: several commitbench processes may write one file at once (parallel CI jobs on a
runner). In WAL mode (set by every migration, db.migrate, so by `run`, `ingest` and `db
upgrade`: a connection alone changes nothing in the file) readers never block, and every
write transaction starts with `BEGIN IMMEDIATE`, taking the write lock before its first
read: with a deferred BEGIN, two transactions that both read and then write deadlock, and
SQLite answers one of them "database is locked" at once instead of letting it wait. Read-only sessions
(`read_scope`) keep a deferred BEGIN, so reading never waits for a writer.

Read commands open SQLite read-only (`make_engine(url, read_only=True)`): the file's bytes
never change, even its journal mode stays, and SQLite itself refuses a write ("attempt to
write a readonly database"). Where the file and its directory are writable the connection is
an ordinary one with `PRAGMA query_only`, so SQLite removes its -wal/-shm files when the last
connection closes, as after any reader (a `mode=ro` connection would leave them behind).
Elsewhere (a mounted artifact, a CI cache, another user's file) it is a `mode=ro` URI, and
where the directory is not writable also `immutable=1`: SQLite cannot create the -shm file a
WAL database needs there, and `mode=ro` alone fails with "unable to open database file".
Immutable skips locking and ignores a -wal file, so it is not used where a -wal file holds
writes: those need the -shm beside it (a writer is then at work, or one crashed).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from db.url import parse_url

PG_CONNECT_TIMEOUT_S = 10  # an unreachable server must fail fast, not hang a CI job
SQLITE_BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another's write lock
READ_ONLY = "commitbench_read_only"  # execution option: a deferred BEGIN on SQLite


def make_engine(url: str, read_only: bool = False) -> Engine:
    """`read_only`: SQLite opened so that nothing can change the file (see above); on a server
    every transaction of the connection is READ ONLY, so the server itself refuses a write
    ("cannot execute INSERT in a read-only transaction"); advisory locks still work."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        _sqlite_setup(engine, read_only)
        return engine
    connect_args: dict[str, object] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    if read_only:  # after the URL's own options, if any (connect_args would replace them)
        connect_args["options"] = " ".join(filter(None, [parsed.query.get("options"),
                                                          "-c default_transaction_read_only=on"]))
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def read_only_target(path: str) -> tuple[str, bool]:
    """How to open SQLite file `path` for reading only: (what to pass sqlite3.connect, whether
    it is a URI). An ordinary path where the file and its directory are writable (the
    connection then sets query_only), else a `file:` URI with mode=ro, and immutable=1 where
    the directory is not writable and no -wal file holds writes."""
    file = Path(path)
    directory = file.parent
    if os.access(file, os.W_OK) and os.access(directory, os.W_OK):
        return path, False
    query = "mode=ro"
    wal = Path(f"{path}-wal")
    if not os.access(directory, os.W_OK):
        if not (wal.is_file() and wal.stat().st_size > 0):
            query += "&immutable=1"
        elif not Path(f"{path}-shm").is_file():
            raise sqlite3.OperationalError(
                f"{wal} holds writes that are not yet in {file.name}, and SQLite cannot read them in a "
                "directory it may not write: copy the database and its -wal file to a writable directory")
    return f"file:{quote(str(file.resolve()))}?{query}", True


def _sqlite_setup(engine: Engine, read_only: bool = False) -> None:
    # pysqlite's own transaction handling only BEGINs before DML, so DDL (migrations)
    # would run outside any transaction. Take over: no implicit transactions from the
    # driver, and emit BEGIN ourselves whenever SQLAlchemy starts one (SQLAlchemy's
    # documented recipe). This also lets PRAGMAs be set outside a transaction.
    if read_only:
        @event.listens_for(engine, "do_connect")
        def _open_read_only(_dialect, _record, cargs, cparams):
            cargs[0], cparams["uri"] = read_only_target(cargs[0])

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # query_only also on mode=ro connections: one way for every read-only connection. WAL
        # mode is a change to the file: the migration sets it (db.migrate), never a connection.
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        deferred = read_only or conn.get_execution_options().get(READ_ONLY)  # IMMEDIATE is a write
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


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
