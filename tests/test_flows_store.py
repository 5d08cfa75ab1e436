"""benchmark/flows/store.py: the database as commands open it, and SQLAlchemy's and the
schema's errors as Failures with their exit codes (so no command imports SQLAlchemy)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from benchmark.flows.errors import Failure
from benchmark.flows.store import Unavailable, absolute_url, first_line, opened, reading, store_for, unavailable
from db.migrate import SchemaError


def test_a_bad_url_is_bad_input():
    with pytest.raises(Failure, match="in-memory SQLite") as e:
        store_for("sqlite://")
    assert e.value.code == 2


def test_reading_never_creates_a_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    for open_it in (lambda: reading(url), lambda: opened(url)):
        with pytest.raises(Failure, match="no results stored yet") as e:
            with open_it():
                pass
        assert e.value.code == 2 and not (tmp_path / "none.sqlite").exists()
    with opened(url, must_exist=False) as store:  # `db upgrade` may make one
        assert store.url == url


def test_reading_a_stored_database(sqlite_url):
    from verdict_data import history, store_all

    store_all(sqlite_url, history(2))
    from db import query

    with reading(sqlite_url) as session:
        assert len(query.runs(session)) == 2


def test_errors_become_failures_with_exit_codes():
    with pytest.raises(Unavailable) as e:
        with unavailable("db.example"):
            raise OperationalError("SELECT 1", {}, Exception("connection refused\nmore detail"))
    assert e.value.code == 3 and e.value.reason.endswith("connection refused")
    assert str(e.value) == f"database db.example unavailable: {e.value.reason}"
    with pytest.raises(Failure, match="^database x: foreign tables$") as f:
        with unavailable("x", schema_code=2, schema_prefix="database x: "):
            raise SchemaError("foreign tables")
    assert f.value.code == 2 and not isinstance(f.value, Unavailable)
    with pytest.raises(SchemaError):  # None: the caller handles it
        with unavailable("x", schema_code=None):
            raise SchemaError("foreign tables")
    with pytest.raises(ValueError):  # anything else is not the database's
        with unavailable("x"):
            raise ValueError("mine")


def test_a_server_that_is_not_there_is_unavailable():
    with pytest.raises(Unavailable) as e:
        with reading("postgresql+psycopg2://nobody@127.0.0.1:1/x"):
            pass
    assert e.value.code == 3 and "127.0.0.1" in str(e.value)


def test_runs_elsewhere_get_an_absolute_sqlite_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_url("sqlite:///rel/b.sqlite") == f"sqlite:///{tmp_path / 'rel' / 'b.sqlite'}"
    pg = "postgresql+psycopg2://u:secret@h:5432/d"
    assert absolute_url(pg) == pg  # the password stays: the runs need it (it goes by environment)


def test_first_line():
    assert first_line(ValueError("one\ntwo")) == "one" and first_line(KeyError()) == "KeyError"
