"""The read-only role Grafana connects as (PostgreSQL only).

`commitbench_reader` may CONNECT to the database, use the schema and SELECT the tables
and views the dashboards read: nothing else (no alembic_version, no writes). Migration
0004 creates it (0005 adds change_points, 0006 regression_reports); `commitbench db
upgrade` calls `ensure_reader` after every upgrade, so grants follow new tables and the
password follows COMMITBENCH_READER_PASSWORD (the role stays NOLOGIN until one is given).
The password never appears in the repository, a log line of ours or an error: it is
quoted by the server (format %L) and sent as the statement's only text.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

READER_ROLE = "commitbench_reader"
PASSWORD_ENV = "COMMITBENCH_READER_PASSWORD"
READ_TABLES = ("benchmarks", "metrics", "scenario_runs", "device_measurements", "model_measurements",
               "run_figures")  # what migration 0004 grants (and its downgrade revokes): fixed
LATER_READ_TABLES = ("change_points", "regression_reports")  # 0005, 0006


@dataclass
class ReaderState:
    exists: bool
    can_login: bool
    password_set: bool  # by this call


def ensure_reader(conn: sa.Connection, password: str | None = None) -> ReaderState:
    """Create the role if absent and this user may, grant it the read tables, and set its
    password (and LOGIN) when one is given. Idempotent."""
    may_create = bool(conn.execute(sa.text(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar())
    if may_create:
        # Two databases of one cluster migrating at once race on the cluster-wide role.
        conn.execute(sa.text(f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
                BEGIN CREATE ROLE {READER_ROLE} NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
              END IF;
            END $$"""))
    if not _exists(conn):
        return ReaderState(exists=False, can_login=False, password_set=False)
    conn.execute(sa.text(f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {READER_ROLE}', "
                         "current_database()); END $$"))
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {READER_ROLE}"))
    # Only those that exist: a migration grants what the schema has at its revision.
    present = [t for t in READ_TABLES + LATER_READ_TABLES
               if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"public.{t}"}).scalar()]
    conn.execute(sa.text(f"GRANT SELECT ON {', '.join(present)} TO {READER_ROLE}"))
    if password:
        statement = conn.execute(sa.text(f"SELECT format('ALTER ROLE {READER_ROLE} WITH LOGIN PASSWORD %L', "
                                         ":pw)"), {"pw": password}).scalar()
        cursor = conn.connection.driver_connection.cursor()  # no parameters: nothing re-parses the text
        cursor.execute(statement)
        cursor.close()
    can_login = bool(conn.execute(sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"),
                                  {"r": READER_ROLE}).scalar())
    return ReaderState(exists=True, can_login=can_login, password_set=bool(password))


def _exists(conn: sa.Connection) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}).scalar() is not None
