"""A regression report's moves as commands ask for them: one move per transaction on the
database --db names (a refused move raises before the commit: nothing is written), and the
two `bisect --report` needs: may the report become bisected (checked before anything is
measured), and record what bisect found. The lifecycle itself is db/reports.py's."""

from __future__ import annotations

import os
from collections.abc import Callable

from db import reports as store
from db.reports import NoSuchReport, ReportView, TransitionError

from ..contracts import exitcodes, inputs
from .errors import Failure
from .store import reading

MAX_WHO = 255


def report_id_of(value: str) -> int:
    """`3` or `#3` -> 3; bad input otherwise."""
    v = value.strip().removeprefix("#")
    if not (v.isascii() and v.isdigit()) or not 0 < int(v) < 2**31:  # "³".isdigit(), but int("³") fails
        raise Failure(f"report id must be a number such as 3 or #3, got {value!r}", exitcodes.BAD_INPUT)
    return int(v)


def line(value: str, option: str, limit: int) -> str:
    """One line of printable text (whitespace folded), 1 to `limit` characters; bad input otherwise."""
    v = " ".join(inputs.text(value).split())
    if not v or len(v) > limit:
        raise Failure(f"{option} must be 1-{limit} characters of text, got {value[:40]!r}", exitcodes.BAD_INPUT)
    return v


def who(value: str | None) -> str:
    """--by, else $GITHUB_ACTOR, else $USER."""
    return line(value or os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "unknown", "--by", MAX_WHO)


def get(session, report_id: int, repository: str | None) -> ReportView:
    try:
        return store.get(session, report_id, repository)
    except NoSuchReport as e:
        raise Failure(str(e), exitcodes.BAD_INPUT) from None


def moved(db: str | None, report_id: int, repository: str | None, change: Callable[..., ReportView]) -> ReportView:
    """One move (`change(session)`, e.g. db/reports.fix) in one transaction; a move the
    lifecycle refuses is bad input and writes nothing."""
    with reading(db, write=True) as session:
        get(session, report_id, repository)
        try:
            return change(session)
        except TransitionError as e:
            raise Failure(str(e), exitcodes.BAD_INPUT) from None


def check_bisectable(db: str | None, report_id: int) -> None:
    """Before `bisect --report` measures anything: the report exists and may become bisected."""
    with reading(db) as session:
        r = get(session, report_id, None)
    if not store.may_become(r, store.BISECTED):
        raise Failure(f"--report: report #{report_id} is {r.state}: it cannot become bisected", exitcodes.BAD_INPUT)


def record_bisected(db: str | None, report_id: int, commit: str, evidence: object) -> ReportView:
    """What `bisect --report` found, as `reports bisected` would record it."""
    return moved(db, report_id, None, lambda s: store.bisected(s, report_id, commit, evidence, who(None)))
