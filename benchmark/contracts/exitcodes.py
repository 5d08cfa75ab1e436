"""Exit codes of `commitbench run` (and of `python benchmark/llama.py`) and the other commands.

When several apply, the first in this order wins: cancelled, database unavailable,
--json not written, scenario failed. A bad input exits before anything runs or is written.
"""

OK = 0  # every scenario succeeded and the result is stored
SCENARIO_FAILED = 1  # at least one scenario failed; the others are stored
BAD_INPUT = 2  # invalid argument, config, model or database URL; nothing written
DB_UNAVAILABLE = 3  # database unreachable, not migrated, or a write failed: the complete result is in a spool file
JSON_FAILED = 4  # the --json file could not be written; the result is stored (or spooled), as the output says
# `commitbench dashboards push` (a bad input is BAD_INPUT, with nothing sent):
GRAFANA_UNREACHABLE = 5  # nothing answers at the Grafana URL, or what answers is not a Grafana; nothing written
GRAFANA_AUTH_REFUSED = 6  # Grafana refused the token (or user) it was given (401, or 403 for lack of permission)
GRAFANA_REFUSED = 7  # Grafana refused the datasource, the folder or a dashboard; what was done before is printed
CANCELLED_BASE = 128  # SIGTERM/SIGINT: 128 + signal number (143 / 130); what finished is stored


def for_run(cancelled_by: int | None, spooled: bool, json_failed: bool, all_succeeded: bool) -> int:
    if cancelled_by is not None:
        return CANCELLED_BASE + cancelled_by
    if spooled:
        return DB_UNAVAILABLE
    if json_failed:
        return JSON_FAILED
    return OK if all_succeeded else SCENARIO_FAILED
