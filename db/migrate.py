"""Bring a database to the current schema with alembic, adopting seed-created databases.

A database made by the seed's plain SQL file (db/seed_schema.sql) has the three seed
tables but no alembic_version. It is checked, stamped at the baseline revision 0001
(which creates exactly those tables) and upgraded from there, so no row is touched.

Two upgrades at once (two CI jobs starting together) are serialized: on PostgreSQL by an
advisory lock taken first in the migration's transaction, on SQLite by its write lock
(BEGIN IMMEDIATE, see db.session). The second then finds the schema at head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
PG_MIGRATION_LOCK = 0x636F6D6D62  # pg_advisory_xact_lock key: any constant of ours

# The seed's tables and columns (db/seed_schema.sql).
SEED_COLUMNS: dict[str, set[str]] = {
    "benchmarks": {"benchmark_id", "branch", "commit_id", "commit_message", "gpu_name", "created_at"},
    "device_measurements": {
        "measurement_id",
        "benchmark_id",
        "cpu_util",
        "mem_megabytes",
        "gpu_util",
        "gpu_mem_megabytes",
        "time",
    },
    "model_measurements": {"measurement_id", "benchmark_id", "measurements", "time"},
}


class SchemaError(RuntimeError):
    """The database holds tables commitbench does not recognise; nothing was changed."""


# alembic is imported where it is used, not with this module: a read command that never
# reaches a database (a missing file, compare --input) starts without it.


def alembic_config() -> Config:
    """Alembic configuration built in code: works from an installed package and any cwd."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_current(engine: Engine) -> str:
    """The database's revision if it is at head; SchemaError with the way out otherwise."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return current
    if current is not None and not _known(current):
        raise SchemaError(f"database schema is at {current!r}, newer than this commitbench (its newest "
                          f"is {head!r}): upgrade commitbench")
    raise SchemaError(f"database schema is at {current or 'nothing'}, not {head}: run `commitbench db upgrade`")


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Apply migrations up to `revision` (default head) in one transaction; return the
    database's revision afterwards. Raises SchemaError for databases it must not touch."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    _ensure_sqlite_dir(engine)
    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None:
            if _check_unversioned(conn):
                command.stamp(cfg, BASELINE_REVISION)
        elif not _known(current):
            raise SchemaError(
                f"database is at schema revision {current!r}, unknown to this commitbench "
                f"(its newest is {script.get_current_head()!r}): upgrade commitbench")
        command.upgrade(cfg, revision)
        new = MigrationContext.configure(conn).get_current_revision()
    assert new is not None
    return new


def _check_unversioned(conn: Connection) -> bool:
    """For a database without alembic_version: True if it is a seed database to adopt,
    False if it has none of our tables (fresh); SchemaError if it is neither."""
    from db.models import Base  # the newest schema: anything in it beyond the seed is ours

    insp = sa.inspect(conn)
    tables = set(insp.get_table_names())
    ours = set(Base.metadata.tables)
    if not tables & ours:
        return False
    problems: list[str] = []
    for name in sorted(ours - set(SEED_COLUMNS)):
        if name in tables:
            problems.append(f"table {name} exists but the database has no schema version")
    for name, expected in SEED_COLUMNS.items():
        if name not in tables:
            problems.append(f"seed table {name} is missing")
            continue
        have = {c["name"] for c in insp.get_columns(name)}
        if missing := expected - have:
            problems.append(f"{name} lacks seed column(s) {', '.join(sorted(missing))}")
        added_later = set(Base.metadata.tables[name].columns.keys()) - expected
        if clash := added_later & have:
            problems.append(f"{name} already has column(s) {', '.join(sorted(clash))}")
    if problems:
        raise SchemaError(
            "not a commitbench or seed benchmark database, left unchanged: " + "; ".join(problems)
        )
    return True


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction that commits at the end, holding the migration
    lock (PostgreSQL: an advisory lock; SQLite: the write lock of BEGIN IMMEDIATE).

    On SQLite, foreign keys are switched off for the duration: batch-mode table copies
    (DROP + RENAME of a referenced table) would otherwise cascade or fail. The pragma
    only works outside a transaction, hence on the raw driver connection before BEGIN.
    Afterwards no foreign-key violation may have been added. The file is put in WAL mode
    here too (db.session says why), where commitbench makes it its own, and not on every
    connection: a command that only reads, or refuses an older schema, changes no byte.
    """
    with engine.connect() as conn:
        raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_MIGRATION_LOCK)))
                before = _fk_violations(conn) if raw is not None else 0
                yield conn
                if raw is not None and _fk_violations(conn) > before:
                    raise SchemaError("migration left foreign-key violations; rolled back")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def _fk_violations(conn: Connection) -> int:
    return len(conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall())


def _ensure_sqlite_dir(engine: Engine) -> None:
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return
    Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
