"""Manage the database.

  upgrade      apply the migrations (a database made by the SQL file of transformers' v4.46
               benchmark is adopted with its data; two upgrades at once are serialized). On
               PostgreSQL also grant the read-only role commitbench_reader (Grafana's) SELECT on what
               the dashboards read, and set its password from $COMMITBENCH_READER_PASSWORD
  current      print the revision the database is at
  close-stale  close as failed the runs left `running` by a runner that died (killed,
               out of memory, a CI machine gone): on this host when its process is gone,
               anywhere when it has not sent a heartbeat for --older-than seconds
"""

from __future__ import annotations

import argparse
import os
import socket

from db.migrate import current_revision, head_revision, upgrade
from db.query import STALE_AFTER_S
from db.reader import PASSWORD_ENV, READER_ROLE, ensure_reader

from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..flows.store import unavailable
from ..flows.store import require_existing
from .common import READ_EXIT_CODES, CommandError, add_db_argument, pid_alive, store_for
from .errors import error

EXIT_CODES = READ_EXIT_CODES  # docs/reference/exit-codes.md


MAX_OLDER_THAN_S = 10 * 365 * 24 * 3600.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("upgrade", "current", "close-stale"))
    add_db_argument(p)
    p.add_argument("--older-than", type=float, default=STALE_AFTER_S, metavar="SECONDS",
                   help=f"close-stale: silence after which a runner counts as gone (default {STALE_AFTER_S:g})")


def _reader(store) -> str:
    """Grants for Grafana's read-only role, and its password from the environment."""
    with store.engine.begin() as conn:
        state = ensure_reader(conn, os.environ.get(PASSWORD_ENV) or None)
    if not state.exists:
        return (f"read-only role {READER_ROLE}: absent, and this user may not create it "
                "(an admin can: CREATE ROLE commitbench_reader NOLOGIN; then upgrade again)")
    login = "password set from $" + PASSWORD_ENV if state.password_set else \
        ("can log in" if state.can_login else f"cannot log in until ${PASSWORD_ENV} is set here")
    return f"read-only role {READER_ROLE}: SELECT granted; {login}"


def run(args: argparse.Namespace) -> int:
    if not 0 < args.older_than <= MAX_OLDER_THAN_S:  # nan and inf fail this too
        return error(f"--older-than must be a number of seconds in (0, {MAX_OLDER_THAN_S:g}], got {args.older_than:g}",
                     exitcodes.BAD_INPUT)
    try:
        store = store_for(args, read_only=args.action == "current")
        if args.action != "upgrade":
            require_existing(store)
    except CommandError as e:
        return error(str(e), e.code)
    where = store.where()
    try:
        with unavailable(where, schema_code=exitcodes.BAD_INPUT):
            _act(args, store, where)
    except CommandError as e:
        return error(str(e), e.code)
    finally:
        store.close()
    return exitcodes.OK


def _act(args: argparse.Namespace, store, where: str) -> None:
    if args.action == "upgrade":
        print(f"{where}: schema at {upgrade(store.engine)} (head)")
        if store.engine.dialect.name == "postgresql":
            print(_reader(store))
    elif args.action == "current":
        current = current_revision(store.engine)
        state = "head" if current == head_revision() else f"head is {head_revision()}"
        print(f"{where}: schema at {current or 'nothing'} ({state})")
    else:
        store.open(auto_upgrade=False)
        closed = store.close_stale(args.older_than, socket.gethostname(), pid_alive)
        for c in closed:
            print(printable(f"closed run {c.run_uid} ({c.branch} @ {(c.commit_id or '')[:12]}): {c.reason}"))
        print(f"{where}: {len(closed)} stale run(s) closed")
