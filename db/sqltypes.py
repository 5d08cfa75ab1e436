"""SQL constructs shared by the models and the migrations.

Migrations import these, so their rendered SQL must never change: add new constructs
instead of editing these.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

# jsonb on PostgreSQL (the seed's `measurements` column is jsonb), JSON text on SQLite.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class utcnow(FunctionElement):
    """Current time as a naive UTC timestamp, for server defaults.

    PostgreSQL renders the seed's exact default, `(current_timestamp AT TIME ZONE 'UTC')`
    (current_timestamp alone is timestamptz, which would be shifted to the session zone);
    SQLite's CURRENT_TIMESTAMP is already UTC text.
    """

    type = sa.DateTime()
    inherit_cache = True


@compiles(utcnow, "postgresql")
def _utcnow_pg(element, compiler, **kw):
    return "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"


@compiles(utcnow)
def _utcnow_default(element, compiler, **kw):
    return "CURRENT_TIMESTAMP"
