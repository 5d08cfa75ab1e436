"""What the database commands share: the --db option and opening the store."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.migrate import SchemaError
from db.session import session_scope
from db.store import Store
from db.url import BadDatabaseURL, display_url, resolve_url, validate_url

from ..analysis.validity import Rules, rules_from
from ..contracts import exitcodes
from ..contracts.config import ConfigError, load_config_file
from ..run.storage import embedded

RULES_ENV = "COMMITBENCH_VALIDITY"  # a file with a [validity] table: the rules where a config gives none


class CommandError(Exception):
    """A one-line error and the exit code it carries."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="database URL (same defaults as `commitbench run`)")


def store_for(args: argparse.Namespace) -> Store:
    url, _ = resolve_url(args.db)
    try:
        validate_url(url)
    except BadDatabaseURL as e:
        raise CommandError(str(e), exitcodes.BAD_INPUT) from None
    return Store(url)


@contextmanager
def reading(args: argparse.Namespace, write: bool = False) -> Iterator[Session]:
    """A read-only session on the database at head (with `write`, one that commits at the
    end, for what a read-side command stores, such as change points). A SQLite file that
    does not exist is an error (reading must not create one); an older one is migrated, as
    `run` would."""
    store = store_for(args)
    try:
        require_existing(store)
        try:
            store.open(auto_upgrade=embedded(store.url))
            with (session_scope(store.engine) if write else store.reading()) as session:
                yield session
        except SchemaError as e:
            raise CommandError(str(e), exitcodes.DB_UNAVAILABLE) from None
        except SQLAlchemyError as e:
            raise CommandError(f"database {display_url(store.url)} unavailable: {first_line(e)}",
                               exitcodes.DB_UNAVAILABLE) from None
    finally:
        store.close()


def require_existing(store: Store) -> None:
    """Commands that read (or close runs) never create a SQLite file, as connecting would."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and not Path(url.database).expanduser().is_file():
        raise CommandError(f"no results stored yet: {url.database} does not exist", exitcodes.BAD_INPUT)


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def output_problem(path: Path) -> str | None:
    """Why a file cannot be written at `path`, checked before anything is measured or read."""
    if path.is_dir():
        return "is a directory"
    parent = path.resolve().parent
    if parent.exists() and not parent.is_dir():
        return f"{parent} is not a directory"
    if not parent.is_dir():
        return f"directory {parent} does not exist"
    return None


def check_output(path: Path | None) -> None:
    """CommandError (bad input) when `-o/--output` cannot be written: before any work."""
    if path is not None and (problem := output_problem(path)):
        raise CommandError(f"--output {path}: {problem}", exitcodes.BAD_INPUT)


def write_output(path: Path | None, text: str) -> None:
    """A command's report to stdout, or to the file -o named (checked by output_problem first)."""
    import sys

    if path is None or str(path) == "-":
        sys.stdout.write(text)
    else:
        path.write_text(text)
        print(f"written: {path}", file=sys.stderr)


def read_input(path: Path) -> str:
    """The text of an --input FILE ("-": stdin)."""
    import sys

    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as e:
        raise CommandError(f"--input {path}: {e.strerror or e}", exitcodes.BAD_INPUT) from None


def rules_file(path: Path) -> Rules:
    """The `[validity]` table of a TOML or JSON file (a run's config file works as it is).
    ConfigError (one line) for a file without one or with a bad rule."""
    data = load_config_file(path)
    if "validity" not in data:
        raise ConfigError(f"{path} has no [validity] table")
    return rules_from(data["validity"], f"{path} [validity]")


def default_rules() -> Rules:
    """$COMMITBENCH_VALIDITY's rules, else the defaults (analysis/validity.Rules)."""
    path = os.environ.get(RULES_ENV)
    return rules_file(Path(path)) if path else Rules()
