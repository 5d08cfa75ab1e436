"""What the read commands (show, export, history) look up by the name a user gives: a run
(id, prefix, #N or `latest`) and a series (a scenario's name or a series key's prefix).
Bad input (Failure, exit 2) when the name fits none, or more than one series."""

from __future__ import annotations

from db import query

from ..contracts import exitcodes
from ..contracts.result import RunResult
from .errors import Failure


def run_named(session, ref: str, branch: str | None) -> RunResult:
    try:
        if ref == "latest":
            return query.latest_run(session, branch=branch)
        return query.get_run(session, ref)
    except query.NotFound as e:
        raise Failure(str(e), exitcodes.BAD_INPUT) from None


def series_named(session, *, branch: str | None, repository: str | None, scenario: str | None,
                 series: str | None) -> query.SeriesInfo:
    """--scenario NAME or --series KEY(-prefix) -> the one series it names here."""
    found = query.series(session, branch=branch, repository=repository, scenario=scenario or series)
    keys = {s.series_key: s for s in found}
    if not keys:
        what = f"scenario {scenario!r}" if scenario else f"series {series!r}"
        raise Failure(f"no {what} stored" + (f" on branch {branch}" if branch else ""), exitcodes.BAD_INPUT)
    if len(keys) > 1:
        options = "; ".join(f"{s.series_key} ({s.scenario}, {s.model_id} on {s.gpu_name})" for s in keys.values())
        raise Failure(f"{len(keys)} series match, give --series KEY: {options}", exitcodes.BAD_INPUT)
    return next(iter(keys.values()))
