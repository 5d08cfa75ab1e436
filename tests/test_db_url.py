"""Database URL resolution, validation and masking (no mocks: libpq is checked against a
real server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from db.session import make_engine
from db.url import BadDatabaseURL, default_sqlite_path, display_url, resolve_url, validate_url


def test_default_sqlite_path_prefers_commitbench_home(tmp_path):
    env = {"COMMITBENCH_HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert default_sqlite_path(env) == tmp_path / "home" / "commitbench.sqlite"


def test_default_sqlite_path_xdg_then_home(tmp_path, monkeypatch):
    assert default_sqlite_path({"XDG_DATA_HOME": str(tmp_path)}) == (
        tmp_path / "commitbench" / "commitbench.sqlite"
    )
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_sqlite_path({}) == tmp_path / "h/.local/share/commitbench/commitbench.sqlite"


def test_default_sqlite_path_reads_process_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMITBENCH_HOME", str(tmp_path))
    assert default_sqlite_path() == tmp_path / "commitbench.sqlite"


def test_resolution_order(tmp_path):
    env = {
        "DATABASE_URL": "postgresql://u:p@db.example/bench",
        "PGHOST": "pg.example",
        "COMMITBENCH_HOME": str(tmp_path),
    }
    assert resolve_url("sqlite:///x.sqlite", env) == ("sqlite:///x.sqlite", "--db")
    assert resolve_url(None, env) == ("postgresql+psycopg2://u:p@db.example/bench", "DATABASE_URL")
    del env["DATABASE_URL"]
    assert resolve_url(None, env) == ("postgresql+psycopg2:///metrics", "libpq")
    del env["PGHOST"]
    assert resolve_url(None, env) == (f"sqlite:///{tmp_path / 'commitbench.sqlite'}", "default")


@pytest.mark.parametrize("var", ["PGHOST", "PGUSER", "PGPASSWORD"])
def test_any_libpq_variable_selects_libpq(var):
    assert resolve_url(None, {var: "x"}) == ("postgresql+psycopg2:///metrics", "libpq")


def test_empty_environment_values_are_ignored(tmp_path):
    env = {"DATABASE_URL": "", "PGHOST": "", "COMMITBENCH_HOME": str(tmp_path)}
    assert resolve_url(None, env)[1] == "default"


def test_an_empty_db_option_is_an_error_not_the_default(tmp_path):
    """`--db ''` (an unset CI variable, say) silently wrote to the default SQLite file."""
    url, source = resolve_url("", {"COMMITBENCH_HOME": str(tmp_path)})
    assert source == "--db"
    with pytest.raises(BadDatabaseURL, match="empty database URL"):
        validate_url(url)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgresql://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("postgres://u:p@h:5433/d", "postgresql+psycopg2://u:p@h:5433/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
    ],
)
def test_bare_postgres_maps_to_psycopg2(given, expected):
    assert resolve_url(given, {})[0] == expected
    assert resolve_url(None, {"DATABASE_URL": given})[0] == expected


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative.sqlite",
        "sqlite:////abs/path/bench.sqlite",
        "sqlite+pysqlite:///x.db",
        "sqlite:///file:x.db?uri=true",
        "postgresql://user@localhost/metrics",
        "postgres://user:secret@localhost:5432/metrics",
        "postgresql+psycopg2:///metrics",
        "postgresql+psycopg2://u:p@h/db?sslmode=require",
    ],
)
def test_valid_urls(url):
    validate_url(url)


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("", "empty"),
        ("garbage", "cannot parse"),
        ("not a url at all", "cannot parse"),
        ("://x", "cannot parse"),
        ("mysql://x", "unsupported database 'mysql'"),
        ("oracle://u:p@h/db", "unsupported database 'oracle'"),
        ("nosuchdb://h/x", "unsupported database"),
        ("postgresql+asyncpg://u@h/db", "unsupported driver 'asyncpg'"),
        ("postgresql+nosuch://u@h/db", "unsupported driver"),
        ("sqlite+aiosqlite:///x", "unsupported driver"),
        ("postgresql://u@h", "no database name"),
        # in memory: the run "stored" its result in a database gone at exit
        ("sqlite://", "in-memory SQLite database"),
        ("sqlite:///:memory:", "in-memory SQLite database"),
        ("sqlite:///file:mem?mode=memory&uri=true", "in-memory SQLite database"),
    ],
)
def test_invalid_urls(url, fragment):
    with pytest.raises(BadDatabaseURL) as info:
        validate_url(url)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_validation_does_not_connect():
    # a server that does not exist: validation must return at once, without error
    validate_url("postgresql://nobody:pw@host.invalid:1/nothing")


@pytest.mark.parametrize("url", [
    "mysql://user:s3cret@h/db",
    "postgresql//user:s3cret@host/db",  # "://" mistyped: SQLAlchemy's own message repeats the URL
    "postgresql:/user:s3cret@host/db",
    "postgresql+psycopg2//user:s3cret@host:5432/db?x=1",
])
def test_errors_do_not_leak_passwords(url):
    with pytest.raises(BadDatabaseURL) as info:
        validate_url(url)
    assert "s3cret" not in str(info.value) and ":***@" in str(info.value)


def test_display_url_masks_password():
    shown = display_url("postgresql://bench:s3cret@db.example:5432/metrics")
    assert "s3cret" not in shown
    assert shown == "postgresql+psycopg2://bench:***@db.example:5432/metrics"
    assert display_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    assert "s3cret" not in display_url("weird://bench:s3cret@[bad")


def test_make_engine_rejects_bad_urls():
    with pytest.raises(BadDatabaseURL):
        make_engine("mysql://x")


def test_unreachable_postgres_fails_fast():
    from sqlalchemy.exc import OperationalError

    engine = make_engine("postgresql://nobody@127.0.0.1:1/metrics")
    with pytest.raises(OperationalError):
        engine.connect()
    engine.dispose()


def _libpq_env(pg_server, monkeypatch) -> None:
    for var in ("DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE",
                "PGHOSTADDR", "PGSERVICE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(pg_server.port))
    monkeypatch.setenv("PGUSER", "postgres")


def _query_via(url: str) -> tuple:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT current_database(), current_user, inet_server_port()")
            ).one()
    finally:
        engine.dispose()


def test_libpq_environment_is_honoured(pg_server, pg_url, monkeypatch):
    """psycopg2 really takes host/port/user from PG* with a host-less URL."""
    _libpq_env(pg_server, monkeypatch)
    url, source = resolve_url(None)
    assert (url, source) == ("postgresql+psycopg2:///metrics", "libpq")
    # same URL shape, pointed at this test's database
    dbname = pg_url.rsplit("/", 1)[1]
    db, user, port = _query_via(url.replace("/metrics", f"/{dbname}"))
    assert (db, user, port) == (dbname, "postgres", pg_server.port)


def test_libpq_resolved_url_reaches_metrics_database(pg_server, monkeypatch):
    """The exact resolved URL connects to database `metrics` (created here if absent)."""
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    created = False
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname='metrics'")).first():
                conn.execute(text("CREATE DATABASE metrics"))
                created = True
        _libpq_env(pg_server, monkeypatch)
        url, _ = resolve_url(None)
        assert _query_via(url)[0] == "metrics"
    finally:
        if created:
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE metrics WITH (FORCE)"))
        admin.dispose()


def test_libpq_unix_socket_host(pg_server, pg_url, monkeypatch):
    if getattr(pg_server, "sockdir", None) is None:
        pytest.skip("external server: no known socket directory")
    _libpq_env(pg_server, monkeypatch)
    monkeypatch.setenv("PGHOST", str(pg_server.sockdir))
    dbname = pg_url.rsplit("/", 1)[1]
    assert _query_via(f"postgresql+psycopg2:///{dbname}")[0] == dbname


def test_default_sqlite_url_is_usable(tmp_path):
    from db.migrate import head_revision, upgrade

    url, source = resolve_url(None, {"COMMITBENCH_HOME": str(tmp_path / "new" / "dir")})
    assert source == "default"
    engine = make_engine(url)
    try:
        assert upgrade(engine) == head_revision()  # creates the missing directory
    finally:
        engine.dispose()
    assert Path(tmp_path / "new" / "dir" / "commitbench.sqlite").exists()
