"""Exit codes of `commitbench run` (and of `python benchmark/llama.py`) and the other commands.

When several apply to a run, the first in this order wins: cancelled, database unavailable,
--json not written, scenario failed. A bad input exits before anything runs or is written,
with a one-line error naming what is wrong. `commitbench replay` exits as `run` does. An
invalid run (its telemetry broke a validity rule) still exits by these codes: it is stored
and marked, not failed. The other commands exit 0 on success, 2 on bad input (a run that
does not exist, an unknown figure) and 3 when the database is unavailable, and some have
codes of their own, below.
"""

OK = 0  # every scenario succeeded and the result is stored
SCENARIO_FAILED = 1  # at least one scenario failed; the others are stored
BAD_INPUT = 2  # invalid argument, config, model, database URL or commit id: one line names it; nothing written
DB_UNAVAILABLE = 3  # database unreachable, not migrated, or a write failed: the complete result is in a spool file
JSON_FAILED = 4  # the --json file could not be written; the result is stored (or spooled), as the output says
OUTPUT_FAILED = 4  # any other command's -o file could not be written (a change it made stays, and it says so)
# Commands that talk to a service: `dashboards push` (Grafana), `pr-comment` and `issue` (GitHub's API).
# A bad input is BAD_INPUT, with nothing sent.
SERVICE_UNREACHABLE = 5  # nothing answers at the URL, or what answers is not the service; nothing written
CREDENTIAL_REFUSED = 6  # the service refused the token (or user) it was given (401, or 403 for lack of permission)
SERVICE_REFUSED = 7  # the service refused a request; what was done before is printed
GRAFANA_UNREACHABLE, GRAFANA_AUTH_REFUSED, GRAFANA_REFUSED = SERVICE_UNREACHABLE, CREDENTIAL_REFUSED, SERVICE_REFUSED
# `commitbench compare` and `commitbench ab` (0: no regression); `bisect` exits 9 when it cannot decide:
REGRESSION = 8  # a gating figure regressed, a scenario failed on head that succeeded on base, or correctness broke
NOT_COMPARABLE = 9  # could not decide: no gating figure decided, no series on both sides, or no finished runs
# `commitbench status` (0: every runner benchmarked recently and its runs succeed):
STALE = 10  # a branch/runner's newest run is too old, none exists, or its runs keep failing
# Any command that runs benchmarks (`run`, `replay`, `ab`, `bisect`), when cancelled:
CANCELLED_BASE = 128  # SIGTERM/SIGINT: 128 + signal number (143 / 130); what finished is stored


def shown(code: int) -> str:
    """A code as people meet it: the cancellation base as the two codes it gives (SIGINT, SIGTERM)."""
    return f"{CANCELLED_BASE + 2}/{CANCELLED_BASE + 15}" if code == CANCELLED_BASE else str(code)


def for_run(cancelled_by: int | None, spooled: bool, json_failed: bool, all_succeeded: bool) -> int:
    if cancelled_by is not None:
        return CANCELLED_BASE + cancelled_by
    if spooled:
        return DB_UNAVAILABLE
    if json_failed:
        return JSON_FAILED
    return OK if all_succeeded else SCENARIO_FAILED
