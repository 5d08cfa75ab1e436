"""Which database to use, and checking a URL before anything connects to it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# Drivers we ship (psycopg2-binary) or that come with Python (sqlite3 = pysqlite).
ALLOWED_DRIVERS = {"sqlite": {"pysqlite"}, "postgresql": {"psycopg2"}}
DEFAULT_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg2"}

# The seed connected through libpq's environment to this database.
LIBPQ_DATABASE = "metrics"
LIBPQ_TRIGGERS = ("PGHOST", "PGUSER", "PGPASSWORD")


class BadDatabaseURL(ValueError):
    """A database URL that commitbench cannot use; the message is one line."""


def default_sqlite_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("COMMITBENCH_HOME"):
        return Path(env["COMMITBENCH_HOME"]).expanduser() / "commitbench.sqlite"
    data = env.get("XDG_DATA_HOME") or str(Path("~/.local/share").expanduser())
    return Path(data).expanduser() / "commitbench" / "commitbench.sqlite"


def normalize_url(url: str) -> str:
    """Map bare `postgresql://` and Heroku-style `postgres://` to the psycopg2 driver."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    if url.startswith("postgres+"):
        return "postgresql+" + url[len("postgres+") :]
    return url


def resolve_url(cli_url: str | None, env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """Return (url, source): --db, then DATABASE_URL, then libpq's PG* variables, then SQLite.
    An empty --db is an empty URL (parse_url refuses it), never "use the default"."""
    if cli_url is not None:
        return normalize_url(cli_url), "--db"
    if env.get("DATABASE_URL"):
        return normalize_url(env["DATABASE_URL"]), "DATABASE_URL"
    if any(env.get(k) for k in LIBPQ_TRIGGERS):
        # No host/user/password in the URL: libpq reads PGHOST, PGPORT, PGUSER,
        # PGPASSWORD (and PGSSLMODE, ...) from the environment itself, as the seed did.
        return f"postgresql+psycopg2:///{LIBPQ_DATABASE}", "libpq"
    return f"sqlite:///{default_sqlite_path(env)}", "default"


def parse_url(url: str) -> URL:
    """Parse and check a URL (no connection); raises BadDatabaseURL."""
    if not isinstance(url, str) or not url.strip():
        raise BadDatabaseURL("empty database URL")
    text = normalize_url(url)
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):
        # not the exception's text: SQLAlchemy's message repeats the URL, password and all
        raise BadDatabaseURL(f"cannot parse database URL {_mask_text(text)!r}: expected "
                             "sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
    # from the name alone: get_driver_name() would import the dialect (and fail oddly)
    backend, _, driver = parsed.drivername.partition("+")
    driver = driver or DEFAULT_DRIVERS.get(backend, "")
    if backend not in ALLOWED_DRIVERS:
        raise BadDatabaseURL(
            f"unsupported database {backend!r} in {display_url(text)!r}: use sqlite or postgresql"
        )
    if driver not in ALLOWED_DRIVERS[backend]:
        allowed = ", ".join(sorted(ALLOWED_DRIVERS[backend]))
        raise BadDatabaseURL(
            f"unsupported driver {driver!r} for {backend} in {display_url(text)!r} (use {allowed})"
        )
    if backend == "postgresql" and not parsed.database:
        raise BadDatabaseURL(f"no database name in {display_url(text)!r}")
    if backend == "sqlite" and _in_memory(parsed):
        raise BadDatabaseURL(f"{text!r} is an in-memory SQLite database, gone when the command exits: "
                             "give a file, e.g. sqlite:///results.sqlite")
    return parsed


def _in_memory(parsed: URL) -> bool:
    db = parsed.database or ""
    return db in ("", ":memory:") or (db.startswith("file:") and ("mode=memory" in db or ":memory:" in db)) \
        or parsed.query.get("mode") == "memory"


def validate_url(url: str) -> None:
    parse_url(url)


def display_url(url: str) -> str:
    """The URL with its password replaced by ***, safe for logs."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _mask_text(url)


_USERINFO = re.compile(r"(?P<user>[^\s:/@]*):[^\s@]*@")


def _mask_text(text: str) -> str:
    """Fallback for unparsable URLs: hide whatever stands between "user:" and "@", with or
    without a well-formed "://" before it (`postgresql//user:pw@host/db` too)."""
    return _USERINFO.sub(lambda m: f"{m.group('user')}:***@", text)
