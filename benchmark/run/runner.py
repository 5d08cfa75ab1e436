"""One benchmark run: prepare the model, run each scenario in its own subprocess (or in
`processes` of them, one after another: run/processes.py) while the sampler watches it,
store as it goes, and never lose the result.

The runner returns a RunOutcome; printing it and choosing the exit code's words belong
to the command (benchmark/cli/run.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analysis import validity
from ..contracts import exitcodes, roofline
from ..contracts.config import BenchConfig, ScenarioParams
from ..contracts.jobs import BANDWIDTH_BYTES, PrepareJob, ProbeJob, ProbeOutput, ScenarioJob
from ..contracts.result import CANCELLED, FAILED, RUNNING, SKIPPED, SUCCEEDED, Metric, RunResult, ScenarioResult
from ..contracts.secrets import masked_argv
from ..contracts.violations import line as invalid_line
from ..models import ModelSource, checkpoint_dir
from ..trackers import environment
from ..trackers.nvml import NvmlReader, nvml_target
from ..trackers.sampler import Sampler
from . import gitinfo, processes, traces
from .availability import unavailable
from .keep import Kept, keep
from .launcher import Cancel, run_job, scratch_dir
from .storage import RunStore

PREPARE_TIMEOUT_S = 3600.0
PROBE_TIMEOUT_S = 300.0


@dataclass
class RunRequest:
    config: BenchConfig  # resolved: concrete device, no "auto" values
    source: ModelSource
    branch: str
    commit: str
    message: str
    repository: str | None
    db_url: str
    auto_upgrade: bool  # SQLite files are migrated by the runner itself
    spool_dir: Path
    json_path: Path | None = None
    commit_time: float | None = None
    commit_parents: tuple[str, ...] = ()
    rules: validity.Rules = validity.Rules()  # validity, judged at the end: [validity] of the config, else defaults
    command: tuple[str, ...] = ()  # the command line, for provenance: stored only through masked_argv
    replay_of: str | None = None  # the run_uid this run replays
    profile_dir: Path | None = None  # where the profiled scenarios' traces are kept (config `profile`)

    @property
    def device(self) -> str:
        return self.config.device


@dataclass
class RunOutcome:
    result: RunResult
    store: RunStore  # where the result went, or why the database did not get it
    kept: Kept
    cancelled_by: int | None  # the signal number

    @property
    def spooled(self) -> bool:
        return not self.store.available

    @property
    def exit_code(self) -> int:
        return exitcodes.for_run(self.cancelled_by, self.spooled, self.kept.json_error is not None,
                                 self.result.status == SUCCEEDED)


def gpu_index(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    return int(device.split(":")[1]) if ":" in device else 0


class Runner:
    def __init__(self, req: RunRequest, progress: Callable[[str], None] = lambda line: None) -> None:
        self.req = req
        self.say = progress
        self.cancel = Cancel()
        self.workroot = scratch_dir()
        self.store = RunStore(req.db_url, req.auto_upgrade)
        self.gpu: NvmlReader | None = None  # one NVML reader for the whole run
        self._checkpoints: dict[str, tuple[str | None, str | None]] = {}  # dtype -> (path, error)
        self.bandwidth: float | None = None  # the probe's, bytes read + written per second

    # -- the run -----------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        previous = {s: signal.signal(s, lambda signum, _frame: self.cancel.request(signum))
                    for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._execute()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.store.close()
            if self.gpu is not None:
                self.gpu.close()
            shutil.rmtree(self.workroot, ignore_errors=True)

    def _execute(self) -> RunOutcome:
        req, cfg = self.req, self.req.config
        self.say(f"commitbench: {req.branch} @ {req.commit[:12]} - model {req.source.model_id} on {req.device}")
        env = self._environment()  # probes the device: sets self.bandwidth
        result = RunResult(
            run_uid=str(uuid.uuid4()), branch=req.branch, commit_id=req.commit, commit_message=req.message,
            repository=req.repository, model_id=req.source.model_id, synthetic=req.source.synthetic,
            config=cfg.to_dict(), config_hash=cfg.hash(), environment=env,
            status=RUNNING, started_at=time.time(), commit_time=req.commit_time,
            commit_parents=list(req.commit_parents), memory_bandwidth_bytes_per_s=self.bandwidth,
            replay_of=req.replay_of)
        self.say(f"database: {self.store.where()}")
        self.store.open()
        self.store.save_run(result)
        if self.store.available:
            self.store.start_heartbeat(result.run_uid)
        else:
            self.say(f"warning: database unavailable ({self.store.error}); the result will be spooled")

        total = len(cfg.scenarios)
        for i, params in enumerate(cfg.scenarios, 1):
            if self.cancel.requested is not None:
                break
            self.say(f"[{i}/{total}] {params.name(req.device)}")
            scenario = self._run_scenario(params, result)
            self._add_roofline(scenario, result)
            result.scenarios.append(scenario)
            self._report_scenario(scenario)
            self.store.save_scenario(result, scenario)

        result.finished_at = time.time()
        if self.cancel.requested is not None:
            result.status = CANCELLED
            result.error = f"cancelled by {signal.Signals(self.cancel.requested).name}"
        elif any(s.status not in (SUCCEEDED, SKIPPED) for s in result.scenarios):
            result.status = FAILED
            result.error = "; ".join(f"{s.name}: {s.error}" for s in result.scenarios
                                     if s.status not in (SUCCEEDED, SKIPPED))
        else:
            result.status = SUCCEEDED
        verdict = validity.judge(result.scenarios, req.rules, env.get("cpu_count"))
        result.valid, result.invalid_reasons, result.validity_rules = verdict.stored(req.rules)
        if verdict.violations:
            self.say(invalid_line(verdict.violations, "INVALID run"))  # once per rule, not per phase
        self.store.save_run(result)
        kept = keep(result, req.json_path, None if self.store.available else req.spool_dir)
        return RunOutcome(result=result, store=self.store, kept=kept, cancelled_by=self.cancel.requested)

    def _environment(self) -> dict[str, Any]:
        """Software and hardware, with the GPU found once for the whole run (see trackers/nvml),
        and the memory bandwidth measured once when a scenario decodes (the roofline's)."""
        device = self.req.device
        probe = None
        index = gpu_index(device)
        decodes = any(p.kind in roofline.THROUGHPUT_FIGURE for p in self.req.config.scenarios)
        if index is not None or decodes:
            self.say(f"probing {device}" + (f" (memory bandwidth: a {BANDWIDTH_BYTES / 2**30:g} GiB copy)"
                                            if decodes else ""))
            job = ProbeJob(device=device, bandwidth_bytes=BANDWIDTH_BYTES if decodes else 0)
            outcome = run_job(job, workdir=self.workroot / "probe", timeout_s=PROBE_TIMEOUT_S, cancel=self.cancel)
            probe = outcome.output if isinstance(outcome.output, ProbeOutput) else None
            if probe is None:
                self.say(f"warning: the device probe failed ({outcome.error}); GPU facts come from NVML alone, "
                         "and no decode roofline")
            else:
                self.bandwidth = probe.memory_bandwidth_bytes_per_s
        if index is not None:
            self.gpu = NvmlReader.open(nvml_target(index, os.environ.get("CUDA_VISIBLE_DEVICES"),
                                                   probe.uuid if probe else None))
        own = gitinfo.own_revision()
        # ab and bisect run each revision from outside its worktree, and name the worktree here
        checkout = gitinfo.checkout()
        return environment.collect(device, self.gpu, probe) | {
            "model": self.req.source.to_dict(), "command": list(masked_argv(self.req.command)),
            "commitbench_commit": own.commit if own else None, "commitbench_dirty": own.dirty if own else None,
            # the packages built from the checkout: their version change is the code change
            "code_under_test": environment.code_under_test(checkout) if checkout else []}

    # -- one scenario ------------------------------------------------------------------
    def _run_scenario(self, params: ScenarioParams, result: RunResult) -> ScenarioResult:
        req = self.req
        scenario = ScenarioResult(name=params.name(req.device), kind=params.kind, params=params.to_dict())
        scenario.series_key = result.series_key(scenario)
        if reason := unavailable(params, req.device):
            scenario.status, scenario.error = SKIPPED, reason
            scenario.started_at = scenario.finished_at = time.time()
            return scenario
        model_path, error = self._checkpoint(params.dtype)
        if error is not None:
            scenario.status, scenario.error = (CANCELLED if self.cancel.requested else FAILED), error
            return scenario
        job = ScenarioJob(params=params, model_path=model_path, device=req.device, seed=req.config.seed)
        workdir = self.workroot / f"scenario{len(result.scenarios)}"
        k = req.config.processes
        runs: list[processes.ProcessRun] = []
        for i in range(1, k + 1):  # one after another; the first that does not measure ends the scenario
            if k > 1:
                self.say(f"    scenario {scenario.name} process {i}/{k}")
            with self._sampler() as sampler:  # started by the worker's "started" event, stopped on leaving
                outcome = run_job(traces.asking(job, workdir, i, req.config.profile), workdir=workdir / f"process{i}" if k > 1 else workdir,
                                  timeout_s=params.timeout_s, cancel=self.cancel,
                                  on_event=self._on_event(scenario.name, sampler),
                                  env=self._job_env(workdir))  # the processes share the scenario's cache
            runs.append(processes.ProcessRun(outcome, sampler.samples if sampler else [],
                                             sampler.stats() if sampler else None))
            if not processes.goes_on(outcome) or self.cancel.requested is not None:
                break
        processes.apply(scenario, runs, k)
        traces.keep(scenario, req.profile_dir or req.spool_dir.parent / "profiles", result.run_uid,
                    len(result.scenarios))
        return scenario

    def _add_roofline(self, scenario: ScenarioResult, result: RunResult) -> None:
        """The fraction of the decode roofline a decoding scenario reached (contracts/roofline)."""
        weight_bytes = scenario.info.get("weight_bytes")
        if result.weight_bytes is None and isinstance(weight_bytes, int):
            result.weight_bytes = weight_bytes  # the run's: the first scenario that loaded the model
        throughput = scenario.metric(roofline.THROUGHPUT_FIGURE.get(scenario.kind, ""))
        if throughput is None or not throughput.samples or not weight_bytes or not self.bandwidth:
            return
        batch = scenario.params["batch_size"]
        if why := roofline.unbounded(weight_bytes, self.bandwidth, throughput.samples, batch):
            scenario.metrics.append(Metric.of(roofline.FIGURE, []))  # NULL, as a worker's add_unmeasured
            scenario.info[f"{roofline.FIGURE}_unmeasured"] = why
            self.say(f"    decode roofline: not stored: {why}")
            return
        metric = Metric.of(roofline.FIGURE, roofline.fractions(weight_bytes, self.bandwidth, throughput.samples, batch))
        metric.processes = throughput.processes  # a fraction per throughput sample: the same shares
        scenario.metrics.append(metric)
        bound = roofline.step_bound_s(weight_bytes, self.bandwidth)
        self.say(f"    decode roofline: {metric.value:.1%} of the {bound * 1e3:.3f} ms/step bound")

    def _checkpoint(self, dtype: str) -> tuple[str | None, str | None]:
        """Path of the model for this dtype, building the synthetic checkpoint once."""
        src = self.req.source
        if src.kind == "local":
            return src.model_id, None
        key = dtype if src.kind == "preset" else "hub"  # hub weights are one download for every dtype
        if key in self._checkpoints:
            return self._checkpoints[key]
        if src.kind == "hub":
            self.say(f"downloading {src.model_id} into the hub cache")
            job = PrepareJob(source=src.model_id, source_kind="hub")
        else:
            path = checkpoint_dir(src, dtype, self.req.config.seed)
            if (path / "config.json").is_file():
                self._checkpoints[key] = (str(path), None)
                return self._checkpoints[key]
            path.parent.mkdir(parents=True, exist_ok=True)
            self.say(f"building {src.model_id} ({dtype}) with random weights -> {path}")
            job = PrepareJob(source=src.model_id, source_kind="preset", dtype=dtype, seed=self.req.config.seed,
                             device=self.req.device, path=str(path))
        outcome = run_job(job, workdir=self.workroot / f"prepare-{key}", timeout_s=PREPARE_TIMEOUT_S,
                          cancel=self.cancel)
        if outcome.status == SUCCEEDED:
            self._checkpoints[key] = (outcome.output.path, None)
        else:
            self._checkpoints[key] = (None, f"preparing the model failed: {outcome.error}")
        return self._checkpoints[key]

    def _sampler(self) -> AbstractContextManager[Sampler | None]:
        ms = self.req.config.sample_interval_ms
        return Sampler(ms / 1000.0, self.gpu) if ms else nullcontext()

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
                    self.say(f"    - {event['name']}")
                last_phase = event["name"]
            elif event["event"] == "progress":
                self.say(f"    - {event['message']}")
        return handle

    def _job_env(self, workdir: Path) -> dict[str, str]:
        if self.req.config.inductor_cache != "fresh":
            return {}
        # A cold cache per scenario: compile times stay comparable from commit to commit. Its
        # later processes (--processes) find it warm: their compile figures are not kept.
        return {"TORCHINDUCTOR_CACHE_DIR": str(workdir / "inductor"), "TRITON_CACHE_DIR": str(workdir / "triton")}

    def _report_scenario(self, s: ScenarioResult) -> None:
        took = (s.finished_at or 0) - (s.started_at or 0)
        if s.status == SUCCEEDED:
            flags = f" [{', '.join(s.flags)}]" if s.flags else ""
            self.say(f"    ok in {took:.1f} s{flags}")
        elif s.status == SKIPPED:
            self.say(f"    skipped: {s.error}")
        else:
            self.say(f"    {s.status.upper()}: {s.error}")

