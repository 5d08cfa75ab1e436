"""One benchmark run: prepare the model, run each scenario in its own subprocess while
the sampler watches it, store as it goes, and never lose the result."""

from __future__ import annotations

import shutil
import signal
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import environment, exitcodes
from .config import BenchConfig, ScenarioParams
from .launcher import Cancel, Outcome, run_job, scratch_dir
from .models import ModelSource, checkpoint_dir
from .nvml import NvmlReader
from .report import Progress, print_summary
from .result import CANCELLED, FAILED, RUNNING, SUCCEEDED, Metric, RunResult, ScenarioResult, Stats
from .sampler import Sampler
from .storage import Store

PREPARE_TIMEOUT_S = 3600.0


@dataclass
class RunRequest:
    config: BenchConfig
    source: ModelSource
    device: str  # resolved: "cpu" or "cuda[:N]"
    branch: str
    commit: str
    message: str
    repository: str | None
    db_url: str
    auto_upgrade: bool  # SQLite files are migrated by the runner itself
    spool_dir: Path
    json_path: Path | None = None


def resolve_dtype(dtype: str, device: str) -> str:
    if dtype != "auto":
        return dtype
    return "float16" if device.startswith("cuda") else "float32"


def gpu_index(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    return int(device.split(":")[1]) if ":" in device else 0


class Runner:
    def __init__(self, req: RunRequest, progress: Progress | None = None) -> None:
        self.req = req
        self.progress = progress or Progress()
        self.cancel = Cancel()
        self.workroot = scratch_dir()
        self.store = Store(req.db_url, req.auto_upgrade)
        self._checkpoints: dict[str, tuple[str | None, str | None]] = {}  # dtype -> (path, error)

    # -- the run -----------------------------------------------------------------------
    def execute(self) -> int:
        previous = {s: signal.signal(s, lambda signum, _frame: self.cancel.request(signum))
                    for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._execute()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.store.close()
            shutil.rmtree(self.workroot, ignore_errors=True)

    def _execute(self) -> int:
        req, cfg = self.req, self.req.config
        say = self.progress.line
        say(f"commitbench: {req.branch} @ {req.commit[:12]} - model {req.source.model_id} on {req.device}")
        result = RunResult(
            run_uid=str(uuid.uuid4()), branch=req.branch, commit_id=req.commit, commit_message=req.message,
            repository=req.repository, model_id=req.source.model_id, synthetic=req.source.synthetic,
            config=cfg.to_dict(), config_hash=cfg.hash(),
            environment=environment.collect(req.device, gpu_index(req.device)) | {"model": req.source.to_dict()},
            status=RUNNING, started_at=time.time())
        say(f"database: {self.store.where()}")
        self.store.open()
        self.store.save_run(result)
        if not self.store.available:
            say(f"warning: database unavailable ({self.store.error}); the result will be spooled")

        total = len(cfg.scenarios)
        for i, params in enumerate(cfg.scenarios, 1):
            if self.cancel.requested is not None:
                break
            say(f"[{i}/{total}] {params.name()}")
            scenario = self._run_scenario(params, result)
            result.scenarios.append(scenario)
            self._report_scenario(scenario)
            self.store.save_scenario(result, scenario)

        result.finished_at = time.time()
        if self.cancel.requested is not None:
            result.status = CANCELLED
            result.error = f"cancelled by {signal.Signals(self.cancel.requested).name}"
        elif any(s.status != SUCCEEDED for s in result.scenarios):
            result.status = FAILED
            result.error = "; ".join(f"{s.name}: {s.error}" for s in result.scenarios if s.status != SUCCEEDED)
        else:
            result.status = SUCCEEDED
        self.store.save_run(result)
        return self._finish(result)

    def _finish(self, result: RunResult) -> int:
        req = self.req
        spool = None
        if not self.store.available:
            spool = req.spool_dir / f"{result.run_uid}.json"
            result.dump(spool)
        if req.json_path is not None:
            result.dump(req.json_path)
        print_summary(result, self.store, spool, req.json_path)
        if result.status == CANCELLED:
            return exitcodes.CANCELLED_BASE + int(self.cancel.requested or signal.SIGTERM)
        if spool is not None:
            return exitcodes.DB_UNAVAILABLE
        return exitcodes.OK if result.status == SUCCEEDED else exitcodes.SCENARIO_FAILED

    # -- one scenario ------------------------------------------------------------------
    def _run_scenario(self, params: ScenarioParams, result: RunResult) -> ScenarioResult:
        req = self.req
        dtype = resolve_dtype(params.dtype, req.device)
        resolved = replace(params, dtype=dtype)
        scenario = ScenarioResult(name=params.name(), kind=params.kind, params=resolved.to_dict())
        model_path, error = self._checkpoint(dtype)
        if error is not None:
            scenario.status, scenario.error = (CANCELLED if self.cancel.requested else FAILED), error
            return scenario
        spec = {"job": "scenario", "params": resolved.to_dict(), "model_path": model_path,
                "device": req.device, "dtype": dtype, "seed": req.config.seed}
        workdir = self.workroot / f"scenario{len(result.scenarios)}"
        sampler = self._sampler()
        outcome = run_job(spec, workdir=workdir, timeout_s=params.timeout_s, cancel=self.cancel,
                          on_event=self._on_event(scenario.name, sampler), env=self._job_env(workdir))
        if sampler is not None:
            scenario.samples = sampler.stop()
            scenario.info["sampler"] = sampler.stats()
        _apply(scenario, outcome)
        return scenario

    def _checkpoint(self, dtype: str) -> tuple[str | None, str | None]:
        """Path of the model for this dtype, building the synthetic checkpoint once."""
        src = self.req.source
        if src.kind == "local":
            return src.model_id, None
        key = dtype if src.kind == "preset" else "hub"  # hub weights are one download for every dtype
        if key in self._checkpoints:
            return self._checkpoints[key]
        if src.kind == "hub":
            self.progress.line(f"downloading {src.model_id} into the hub cache")
            spec: dict[str, Any] = {"job": "prepare", "hub_id": src.model_id}
        else:
            path = checkpoint_dir(src, dtype, self.req.config.seed)
            if (path / "config.json").is_file():
                self._checkpoints[key] = (str(path), None)
                return self._checkpoints[key]
            path.parent.mkdir(parents=True, exist_ok=True)
            self.progress.line(f"building {src.model_id} ({dtype}) with random weights -> {path}")
            spec = {"job": "prepare", "preset": src.model_id, "dtype": dtype, "seed": self.req.config.seed,
                    "device": self.req.device, "path": str(path)}
        outcome = run_job(spec, workdir=self.workroot / f"prepare-{key}", timeout_s=PREPARE_TIMEOUT_S,
                          cancel=self.cancel)
        if outcome.status == SUCCEEDED:
            self._checkpoints[key] = (outcome.output["path"], None)
        else:
            self._checkpoints[key] = (None, f"preparing the model failed: {outcome.error}")
        return self._checkpoints[key]

    def _sampler(self) -> Sampler | None:
        ms = self.req.config.sample_interval_ms
        if not ms:
            return None
        index = gpu_index(self.req.device)
        return Sampler(ms / 1000.0, NvmlReader.open(index) if index is not None else None)

    def _on_event(self, name: str, sampler: Sampler | None):
        last_phase = None

        def handle(event: dict[str, Any]) -> None:
            nonlocal last_phase
            if event["event"] == "started" and sampler is not None:
                sampler.start(event["pid"], name)
            elif event["event"] == "phase":
                if sampler is not None:
                    sampler.set_phase(event["name"])
                if event["name"] != last_phase:  # a repeated phase (each load of `load`) is news to nobody
                    self.progress.line(f"    - {event['name']}")
                last_phase = event["name"]
            elif event["event"] == "progress":
                self.progress.line(f"    - {event['message']}")
        return handle

    def _job_env(self, workdir: Path) -> dict[str, str]:
        if self.req.config.inductor_cache != "fresh":
            return {}
        # A cold cache per scenario: compile times stay comparable from commit to commit.
        return {"TORCHINDUCTOR_CACHE_DIR": str(workdir / "inductor"), "TRITON_CACHE_DIR": str(workdir / "triton")}

    def _report_scenario(self, s: ScenarioResult) -> None:
        took = (s.finished_at or 0) - (s.started_at or 0)
        if s.status == SUCCEEDED:
            flags = f" [{', '.join(s.flags)}]" if s.flags else ""
            self.progress.line(f"    ok in {took:.1f} s{flags}")
        else:
            self.progress.line(f"    {s.status.upper()}: {s.error}")


def _apply(scenario: ScenarioResult, outcome: Outcome) -> None:
    scenario.status = outcome.status
    scenario.error = outcome.error
    scenario.exit_code = outcome.exit_code
    scenario.signal = outcome.signal
    scenario.started_at, scenario.finished_at = outcome.started_at, outcome.finished_at
    scenario.phases = outcome.phases
    if outcome.status != SUCCEEDED:
        scenario.stderr_tail = outcome.stderr_tail
    if outcome.output is not None:
        scenario.metrics = [Metric(name=m["name"], unit=m["unit"], samples=m["samples"], stats=Stats(**m["stats"]))
                            for m in outcome.output["metrics"]]
        scenario.info.update(outcome.output["info"])
        scenario.flags = list(outcome.output["flags"])
