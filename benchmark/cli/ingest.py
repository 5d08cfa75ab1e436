"""Load result files (spooled by a run whose database was unreachable, or written with
--json) into the database. A run already stored completely is skipped, so ingesting a
file twice creates no duplicates. All files are read and checked before any is stored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from db.migrate import SchemaError
from db.store import ingest
from db.url import BadDatabaseURL, display_url, resolve_url, validate_url

from .. import exitcodes
from ..result import RunResult
from ..storage import Store, embedded
from .errors import error

HELP = "store spooled or --json result files in the database"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--db", help="database URL (same defaults as `commitbench run`)")


def run(args: argparse.Namespace) -> int:
    url, _ = resolve_url(args.db)
    try:
        validate_url(url)
        results = [_read(f) for f in args.files]
    except (BadDatabaseURL, ValueError) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    store = Store(url, auto_upgrade=embedded(url))
    store.open()
    if not store.available:
        return error(f"database {display_url(url)} unavailable: {store.error}", exitcodes.DB_UNAVAILABLE)
    from db.session import session_scope

    try:
        for path, result in zip(args.files, results):
            with session_scope(store._engine) as session:
                outcome = ingest(session, result)
            print(f"{path}: {outcome} (run {result.run_uid}, {result.branch} @ {result.commit_id[:12]})")
    except (SQLAlchemyError, SchemaError) as e:
        return error(f"database {display_url(url)} failed: {str(e).strip().splitlines()[0]}",
                     exitcodes.DB_UNAVAILABLE)
    finally:
        store.close()
    return exitcodes.OK


def _read(path: Path) -> RunResult:
    try:
        return RunResult.load(path)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    except ValueError as e:  # RunResult.from_dict names the field that is off
        raise ValueError(f"{path}: {e}") from None
