"""The database as commands open it: a store from --db, a read (or one-transaction write)
session at head, and SQLAlchemy's and the schema's errors turned into `Failure`s that carry
an exit code, so no command needs SQLAlchemy to say what went wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.migrate import SchemaError
from db.session import session_scope
from db.store import Store
from db.url import BadDatabaseURL, display_url, resolve_url, validate_url

from ..contracts import exitcodes
from .errors import Failure


class Unavailable(Failure):
    """The database could not be reached or refused a statement; `reason` is its first line."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"database {where} unavailable: {reason}", exitcodes.DB_UNAVAILABLE)
        self.reason = reason


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def store_for(db: str | None, read_only: bool = False) -> Store:
    """The store --db names (else $DATABASE_URL, ...); a bad URL is bad input. `read_only`:
    a SQLite file opened so that nothing can change it (db.session.make_engine)."""
    url, _ = resolve_url(db)
    try:
        validate_url(url)
    except BadDatabaseURL as e:
        raise Failure(str(e), exitcodes.BAD_INPUT) from None
    return Store(url, read_only=read_only)


@contextmanager
def unavailable(where: str, schema_code: int | None = exitcodes.DB_UNAVAILABLE,
                schema_prefix: str = "") -> Iterator[None]:
    """SQLAlchemy's errors as Unavailable; a schema that cannot be used (SchemaError) as a
    Failure with `schema_code` (None: let it through)."""
    try:
        yield
    except SchemaError as e:
        if schema_code is None:
            raise
        raise Failure(f"{schema_prefix}{e}", schema_code) from None
    except SQLAlchemyError as e:
        raise Unavailable(where, first_line(e)) from None


@contextmanager
def reading(db: str | None, write: bool = False) -> Iterator[Session]:
    """A read-only session on the database at head (with `write`, one that commits at the
    end, for what a read-side command stores, such as change points). A SQLite file that
    does not exist is an error (reading must not create one). Without `write` a SQLite file
    is opened read-only, so a read-only file or directory reads as well as any. A database at
    an older schema is never migrated here, on either backend: the command exits 3 with the
    way out, `commitbench db upgrade` (only `run`, `ingest` and `db upgrade` migrate)."""
    store = store_for(db, read_only=not write)
    try:
        require_existing(store)
        with unavailable(display_url(store.url)):
            store.open(auto_upgrade=False)
            with (session_scope(store.engine) if write else store.reading()) as session:
                yield session
    finally:
        store.close()


@contextmanager
def opened(db: str | None, must_exist: bool = True) -> Iterator[Store]:
    """The store --db names, not yet connected (a missing SQLite file is bad input when
    `must_exist`); closed afterwards."""
    store = store_for(db)
    try:
        if must_exist:
            require_existing(store)
        yield store
    finally:
        store.close()


def require_existing(store: Store) -> None:
    """Commands that read (or close runs) never create a SQLite file, as connecting would."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and not Path(url.database).expanduser().is_file():
        raise Failure(f"no results stored yet: {url.database} does not exist", exitcodes.BAD_INPUT)


def absolute_url(db: str | None) -> str:
    """--db's URL for runs that start in other directories: a relative SQLite path made
    absolute. BadDatabaseURL (bad input) for one that cannot be used."""
    url, _ = resolve_url(db)
    validate_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        url = parsed.set(database=str(Path(parsed.database).expanduser().resolve())) \
            .render_as_string(hide_password=False)
    return url


def is_postgresql(store: Store) -> bool:
    return store.engine.dialect.name == "postgresql"
