"""Shared fixtures. Database tests run against real servers: a throwaway PostgreSQL
cluster (or $COMMITBENCH_TEST_PG_URL) and SQLite files."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# tests/ has no __init__.py; make its helper modules importable under any import mode
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_server import PgServer, PostgresUnavailable  # noqa: E402


class _ExternalServer:
    """COMMITBENCH_TEST_PG_URL: an existing server where we may CREATE/DROP databases."""

    def __init__(self, url: str) -> None:
        from db.url import normalize_url

        self._url = make_url(normalize_url(url))
        self.port = self._url.port or 5432
        self.sockdir = None

    def url(self, database: str = "postgres") -> str:
        return self._url.set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server():
    external = os.environ.get("COMMITBENCH_TEST_PG_URL")
    if external:
        yield _ExternalServer(external)
        return
    try:
        server = PgServer().start()
    except PostgresUnavailable as e:
        pytest.fail(f"cannot start a test PostgreSQL server: {e}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    name = "cb_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield pg_server.url(name)
        with admin.connect() as conn:
            # FORCE: tests may leave pooled connections open
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'bench.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    # getfixturevalue: the SQLite case must not start a PostgreSQL server
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def store(db_url):
    """db.store.Store on a migrated database, on both backends."""
    from db.store import Store

    s = Store(db_url)
    s.open(auto_upgrade=True)
    yield s
    s.close()


# --- runner / CLI tests ------------------------------------------------------------------


@pytest.fixture(scope="session")
def bench_cache(tmp_path_factory):
    """COMMITBENCH_CACHE shared by the whole session: micro-llama's checkpoint is built once."""
    return tmp_path_factory.mktemp("commitbench-cache")


@pytest.fixture(scope="session")
def inductor_cache(tmp_path_factory):
    """TORCHINDUCTOR_CACHE_DIR shared by the session (runs use --inductor-cache shared)."""
    return tmp_path_factory.mktemp("inductor-cache")


class CbEnv:
    """One test's isolated commitbench state: COMMITBENCH_HOME, TMPDIR and the child env."""

    def __init__(self, root: Path, cache: Path, inductor: Path) -> None:
        from helpers import child_env, default_sqlite_url

        self.root = root
        self.home = root / "home"  # not created: a bad-input run must leave it absent
        self.tmp = root / "tmp"
        self.cache = cache
        self.inductor = inductor
        self.env = child_env(self.home, cache, self.tmp, inductor)
        self.sqlite_path = self.home / "commitbench.sqlite"
        self.default_url = default_sqlite_url(self.home)


@pytest.fixture
def cb(tmp_path, bench_cache, inductor_cache):
    return CbEnv(tmp_path, bench_cache, inductor_cache)
