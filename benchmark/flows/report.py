"""The HTML report `commitbench run` leaves beside its SQLite file (dashboards/html_report.py
draws it): written, or None where there is nothing to write (a server database, no runs), or
NotWritten with the reason, which costs the run a warning line, never its result.

Where a report goes unasked (`run`, and `commitbench report` without -o): beside the SQLite
file, named after it (`a.sqlite` -> `a-report.html`, so two databases in one folder keep
their own), and for a server database beside the default database; never the working
directory, which is usually a source tree."""

from __future__ import annotations

import re
from pathlib import Path

from dashboards import html_report
from dashboards.html_data import NothingToReport
from db.store import Store
from db.url import BadDatabaseURL, default_sqlite_path, parse_url, resolve_url

from ..run.keep import write_text
from .errors import bad_input
from .store import Unavailable, first_line, unavailable

SUFFIX = "-report.html"  # after the SQLite file's stem: commitbench.sqlite -> commitbench-report.html
DEFAULT_LIMIT = 20


class NotWritten(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"could not write the report {path}: {reason}")
        self.path, self.reason = path, reason


def report_path(db: str | None) -> Path:
    """Where the report of the database `--db` names (else $DATABASE_URL, ..., the default)
    goes when no file is named; bad input (Failure) for a URL that cannot be parsed."""
    try:
        url = parse_url(resolve_url(db)[0])
    except BadDatabaseURL as e:
        raise bad_input(str(e)) from None
    if url.get_backend_name() == "sqlite" and url.database:
        db_file = Path(url.database).expanduser().resolve()
        return db_file.parent / f"{db_file.stem}{SUFFIX}"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{url.get_backend_name()}-{url.database or 'default'}")
    return default_sqlite_path().expanduser().resolve().parent / f"{name}{SUFFIX}"


def write_beside(db_url: str, branch: str) -> Path | None:
    url = parse_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    path = report_path(db_url)
    store = Store(db_url)
    try:
        with unavailable(store.where(), schema_code=None):
            with store.reading() as session:
                page = html_report.build(session, branch=branch, limit=DEFAULT_LIMIT)
        write_text(path, page)
    except NothingToReport:
        return None
    except Unavailable as e:
        raise NotWritten(path, e.reason) from None
    except OSError as e:
        raise NotWritten(path, e.strerror or first_line(e)) from None
    finally:
        store.close()
    return path
