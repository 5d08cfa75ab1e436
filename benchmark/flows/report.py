"""The HTML report `commitbench run` leaves beside its SQLite file (dashboards/html_report.py
draws it): written, or None where there is nothing to write (a server database, no runs), or
NotWritten with the reason, which costs the run a warning line, never its result."""

from __future__ import annotations

from pathlib import Path

from dashboards import html_report
from dashboards.html_data import NothingToReport
from db.store import Store
from db.url import parse_url

from ..run.keep import write_text
from .store import Unavailable, first_line, unavailable

BESIDE_SQLITE = "report.html"  # what `commitbench run` writes next to its SQLite file
DEFAULT_LIMIT = 20


class NotWritten(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"could not write the report {path}: {reason}")
        self.path, self.reason = path, reason


def write_beside(db_url: str, branch: str) -> Path | None:
    url = parse_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    path = Path(url.database).expanduser().resolve().parent / BESIDE_SQLITE
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
