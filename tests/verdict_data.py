"""Stored histories with known answers, for compare and detect: runs built as the runner
would store them (an eager and a compiled_decode scenario), with a level per commit, a
per-process offset shared by a run's repetitions, and per-sample noise, all seeded."""

from __future__ import annotations

import random
import uuid

from benchmark.contracts.profile import OUTSIDE, OperatorCost, ProfileSummary
from benchmark.contracts.result import FAILED, SKIPPED, SUCCEEDED, DeviceSample, Metric, RunResult, ScenarioResult
from db.store import Store

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
REPS, STEPS = 5, 6
ENV = {"gpu_name": "cpu", "gpu_count": 0, "device": "cpu", "cpu_model": "Test CPU", "hostname": "runner-1"}


def run_of(commit: str, hours: float, level: float = 0.010, branch: str = "main", rng: random.Random | None = None,
           process_cv: float = 0.003, sample_cv: float = 0.003, eager_fails: bool = False,
           tokens_match: bool = True, graph_breaks: int = 0, repository: str | None = None,
           offset: float | None = None, cpu_model: str = "Test CPU", compiled_skipped: str | None = None,
           gpu_util: float | None = None, drop: tuple[str, ...] = (), compiled_slowdown: float = 1.0,
           compile_time: float | None = None, weight_bytes: float | None = None) -> RunResult:
    """One run of `commit`: decode steps around `level` seconds (eager 2x slower). `gpu_util`:
    the compiled scenario's sampler readings in its decode phase (CPU at 100 %); `drop`: figures
    this run does not store; `compiled_slowdown`: the compiled decode steps' factor alone;
    `compile_time`: the compiled scenario also stores its first (compiling) calls, half each;
    `weight_bytes`: the eager scenario also stores model_weight_bytes (informational), as the runner does."""
    rng = rng or random.Random(commit)
    offset = 1 + (rng.gauss(0, process_cv) if offset is None else offset)

    def reps(base: float) -> list[list[float]]:
        return [[base * offset * (1 + rng.gauss(0, sample_cv)) for _ in range(STEPS)] for _ in range(REPS)]

    eager_steps = reps(2 * level)
    eager = ScenarioResult(
        name="eager", kind="eager", params={"repetitions": REPS, "new_tokens": STEPS + 1}, status=SUCCEEDED,
        exit_code=0, started_at=T0, finished_at=T0 + 1,
        metrics=[Metric.of("eager_time_to_next_token_secs", [v for r in eager_steps for v in r]),
                 Metric.of("eager_decode_tokens_per_sec", [1 / (sum(r) / len(r)) for r in eager_steps])])
    if weight_bytes is not None:
        eager.metrics.append(Metric.of("model_weight_bytes", [weight_bytes]))
    if eager_fails:
        eager.status, eager.error, eager.exit_code, eager.metrics = FAILED, "RuntimeError: boom", 1, []
    steps = reps(level * compiled_slowdown)
    compiled = ScenarioResult(
        name="compiled_decode", kind="compiled_decode", params={"repetitions": REPS, "new_tokens": STEPS + 1},
        status=SUCCEEDED, exit_code=0, started_at=T0 + 1, finished_at=T0 + 2,
        metrics=[Metric.of("time_to_next_token_mean_secs", [sum(r) / len(r) for r in steps]),
                 Metric.of("time_to_next_token_secs", [v for r in steps for v in r]),
                 Metric.of("tokens_match_eager", [1.0 if tokens_match else 0.0] * REPS),
                 Metric.of("graph_breaks", [float(graph_breaks)])])
    if compile_time is not None:
        compiled.metrics += [Metric.of("compile_prefill_time_secs", [compile_time / 2 * offset]),
                             Metric.of("compile_decode_step_time_secs", [compile_time / 2 * offset])]
    if gpu_util is not None:
        compiled.samples = [DeviceSample(time=T0 + hours * 3600 + i, scenario="compiled_decode", phase="decode",
                                         cpu_util=100.0, mem_megabytes=500.0, gpu_util=gpu_util + (i % 3 - 1))
                            for i in range(6)]
    if compiled_skipped:
        compiled.status, compiled.error, compiled.metrics = SKIPPED, compiled_skipped, []
    for scenario in (eager, compiled):
        scenario.metrics = [m for m in scenario.metrics if m.name not in drop]
    return RunResult(
        run_uid=str(uuid.UUID(int=rng.getrandbits(128))), branch=branch, commit_id=commit,
        commit_message=f"commit {commit}", repository=repository, model_id="micro-llama", synthetic=True,
        config={}, config_hash="0" * 64, environment=ENV | {"cpu_model": cpu_model}, status=FAILED if eager_fails else SUCCEEDED,
        started_at=T0 + hours * 3600, finished_at=T0 + hours * 3600 + 10, commit_time=T0 + hours * 3600,
        scenarios=[eager, compiled])


def sha(i: int, prefix: str = "c") -> str:
    return (prefix + f"{i:07x}" * 6)[:40]


def store_all(url: str, results: list[RunResult]) -> None:
    store = Store(url)
    store.open(auto_upgrade=True)
    try:
        for r in results:
            store.ingest(r)
    finally:
        store.close()


def history(n: int, step_at: int | None = None, step: float = 0.0, seed: int = 1, **kw) -> list[RunResult]:
    """`n` commits of main, one run each; from commit `step_at` on, the level is (1 + step) times higher."""
    rng = random.Random(seed)
    return [run_of(sha(i), i, level=0.010 * (1 + step if step_at is not None and i >= step_at else 1), rng=rng,
                   **kw) for i in range(n)]


# Profiles (`run --profile`) as a scenario stores them: an eager decode step's operators, per token.
OPS = [(OUTSIDE, 0, 900.0), ("aten::mm", 15, 300.0), ("aten::matmul", 15, 20.0), ("aten::mul", 23, 35.0)]


def profile(*extra: tuple, mm: tuple = (15, 300.0), trace: str = "/somewhere/trace.json.gz") -> dict:
    """A profile's info entry: OPS, aten::mm's (calls, self us) per token as `mm`, `extra` operators."""
    ops = [(n, *mm) if n == "aten::mm" else (n, c, t) for n, c, t in OPS] + list(extra)
    return ProfileSummary(tokens=31, batch_size=1, device="cpu", wall_us_per_token=1400.0,
                          operators=[OperatorCost(n, c, t, t) for n, c, t in ops], trace=trace).to_info()


def profiled_run(commit: str, hours: float, level: float, branch: str, info: dict | None) -> RunResult:
    """run_of's run whose eager scenario stored the profile `info` (None: not profiled)."""
    run = run_of(commit, hours, level=level, branch=branch, process_cv=0, sample_cv=0)
    eager = next(s for s in run.scenarios if s.name == "eager")
    if info is not None:
        eager.info["profile"] = info
    return run
