"""Exit codes of `commitbench run` (and of `python benchmark/llama.py`).

When several apply, the first in this order wins: cancelled, database unavailable,
scenario failed. A bad input exits before anything runs or is written.
"""

OK = 0  # every scenario succeeded and the result is stored
SCENARIO_FAILED = 1  # at least one scenario failed; the others are stored
BAD_INPUT = 2  # invalid argument, config, model or database URL; nothing written
DB_UNAVAILABLE = 3  # database unreachable or not migrated: the complete result is in a spool file
CANCELLED_BASE = 128  # SIGTERM/SIGINT: 128 + signal number (143 / 130); what finished is stored
