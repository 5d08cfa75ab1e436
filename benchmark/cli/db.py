"""Manage the schema: `upgrade` applies the migrations (a database made by the seed's SQL
file is adopted with its data); `current` prints the revision a database is at."""

from __future__ import annotations

import argparse

from sqlalchemy.exc import SQLAlchemyError

from db.migrate import SchemaError, current_revision, head_revision, upgrade
from db.session import make_engine
from db.url import BadDatabaseURL, display_url, resolve_url, validate_url

from .. import exitcodes
from .errors import error

HELP = "upgrade or inspect the database schema"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("upgrade", "current"))
    p.add_argument("--db", help="database URL (same defaults as `commitbench run`)")


def run(args: argparse.Namespace) -> int:
    url, _ = resolve_url(args.db)
    try:
        validate_url(url)
    except BadDatabaseURL as e:
        return error(str(e), exitcodes.BAD_INPUT)
    engine = make_engine(url)
    try:
        if args.action == "upgrade":
            revision = upgrade(engine)
            print(f"{display_url(url)}: schema at {revision} (head)")
        else:
            current = current_revision(engine)
            state = "head" if current == head_revision() else f"head is {head_revision()}"
            print(f"{display_url(url)}: schema at {current or 'nothing'} ({state})")
    except SchemaError as e:
        return error(str(e), exitcodes.BAD_INPUT)
    except SQLAlchemyError as e:
        return error(f"database {display_url(url)} unavailable: {str(e).strip().splitlines()[0]}",
                     exitcodes.DB_UNAVAILABLE)
    finally:
        engine.dispose()
    return exitcodes.OK
