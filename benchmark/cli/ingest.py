"""Load result files (spooled by a run whose database was unreachable, or written with
--json) into the database. A run already stored completely is skipped, so ingesting a
file twice, or two ingests of it at once, store it once. All files are read and checked
before any is stored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..contracts.result import RunResult
from ..run.storage import embedded
from ..flows.store import unavailable
from .common import READ_EXIT_CODES, CommandError, add_db_argument, store_for
from .errors import error

EXIT_CODES = READ_EXIT_CODES  # docs/reference/exit-codes.md


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        store = store_for(args)
        results = [_read(f) for f in args.files]
    except CommandError as e:
        return error(str(e), e.code)
    except ValueError as e:
        return error(str(e), exitcodes.BAD_INPUT)
    try:
        with unavailable(store.where(), schema_prefix=f"database {store.where()}: "):
            store.open(auto_upgrade=embedded(store.url))
            for path, result in zip(args.files, results):
                outcome = store.ingest(result)
                print(printable(f"{path}: {outcome} (run {result.run_uid}, {result.branch} @ {result.commit_id[:12]})"))
    except CommandError as e:
        return error(str(e), e.code)
    finally:
        store.close()
    return exitcodes.OK


def _read(path: Path) -> RunResult:
    try:
        result = RunResult.load(path)
        result.check_storable()
        return result
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    except ValueError as e:  # RunResult.from_dict names the field that is off
        raise ValueError(f"{path}: {e}") from None
