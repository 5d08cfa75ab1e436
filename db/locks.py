"""Serializing writers of one thing on PostgreSQL: a transaction-scoped advisory lock whose key
is a hash of the thing's name. SQLite needs none: every write transaction there takes the
file's write lock first (BEGIN IMMEDIATE, db.session)."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def serialize(session: Session, *name: str) -> None:
    """Wait until no other transaction holds the lock of `name`, then hold it until this
    transaction ends. A process that takes several takes them in one order (sorted), so two
    processes never wait for each other."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256("\x1f".join(name).encode()).digest()
        session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))
