"""Run one store operation in its own process at a given wall-clock time, so several of them
start together: `python tests/concurrently.py ACTION URL START [FILE]`. Prints the outcome.

ACTION: upgrade | ingest (FILE: a result JSON) | runs (FILE: a run_uid prefix; saves 3 runs
the way the runner does: the run's row, then each scenario) | detect (`commitbench detect`:
its output, and its exit code as the process's)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(action: str, url: str, start: float, arg: str | None) -> None:
    from benchmark.contracts.result import RunResult
    from db.migrate import upgrade
    from db.session import make_engine
    from db.store import Store

    store = Store(url)
    store.engine.connect().close()  # connect before the start, so the start is the work
    if action == "detect":
        from benchmark.cli import command_module, main

        command_module("detect")  # imported before the start, too
        time.sleep(max(0.0, start - time.time()))
        sys.exit(main(["detect", "--db", url]))
    time.sleep(max(0.0, start - time.time()))
    if action == "upgrade":
        print(upgrade(make_engine(url)))
    elif action == "ingest":
        print(store.ingest(RunResult.load(Path(arg))))
    elif action == "runs":
        from results import make_result

        for i in range(3):
            result = make_result(f"{arg}-{i}")
            store.save_run(result)
            for scenario in result.scenarios:
                store.save_scenario(result, scenario)
            store.save_run(result)
        print("saved")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
