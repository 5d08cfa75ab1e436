"""Run several commitbench commands in one process and print their outcomes as JSON:
`python tests/cli_batch.py` with a JSON list of argument lists on stdin, a JSON list of
{"returncode", "stdout", "stderr"} on stdout. One interpreter for many commands, so a test
can run them all as another user (tests/test_read_only_db.py) at the cost of one start."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from helpers import cli_in_process

    outcomes = [cli_in_process(args, dict(os.environ)) for args in json.load(sys.stdin)]
    json.dump([{"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr} for r in outcomes], sys.stdout)


if __name__ == "__main__":
    main()
