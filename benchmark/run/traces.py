"""Where a profiled scenario's Chrome trace is kept (config `profile`, worker/profile.py).

The worker writes its trace into the scenario's scratch directory, which the runner removes
at the end of the run; `keep` moves it to `<profile dir>/<run uid>/` (by default `profiles/`
beside the SQLite file: `commitbench run --profile-dir`) and stores that path in the summary.
A trace that cannot be moved costs its path (the reason goes in info), never the result.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

from ..contracts.jobs import ScenarioJob
from ..contracts.profile import INFO_KEY
from ..contracts.result import ScenarioResult

TRACE_ERROR = "profile_trace_error"  # info key: why the trace was not kept


def asking(job: ScenarioJob, workdir: Path, process: int, profile: bool) -> ScenarioJob:
    """The job, asking for a profile where the run is profiled: of its first process only
    (the scenario's info is the first process's)."""
    return replace(job, profile_dir=str(workdir / "profile")) if profile and process == 1 else job


def keep(scenario: ScenarioResult, directory: Path, run_uid: str, index: int) -> Path | None:
    """Move the scenario's trace (if it has one) out of the scratch directory; its new path."""
    summary = scenario.info.get(INFO_KEY)
    if not isinstance(summary, dict) or not summary.get("trace"):
        return None
    source = Path(summary["trace"])
    target = directory / run_uid / f"{index:02d}-{re.sub(r'[^A-Za-z0-9_.=-]+', '_', scenario.name)}.trace.json.gz"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
    except OSError as e:
        summary["trace"] = None
        scenario.info[TRACE_ERROR] = f"{target}: {e.strerror or e}"
        return None
    summary["trace"] = str(target.resolve())
    return target
