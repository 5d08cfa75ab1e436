"""A stored-result fixture shared by the store and read-side tests: three scenarios (one
crashed), metrics with raw samples, device samples, and hostile text."""

from __future__ import annotations

from benchmark.contracts.result import FAILED, SUCCEEDED, DeviceSample, Metric, Phase, RunResult, ScenarioResult

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z
MESSAGE = (
    "Fix \"quoted\" and 'single' café 🚀 handling'; DROP TABLE benchmarks; -- "
    "and then a much longer explanation\nsecond line ✓"
)


def make_result(run_uid: str = "0b6f8a4e-6a51-4f39-9a53-3c1f7f2f0e11", status: str = SUCCEEDED) -> RunResult:
    """Two scenarios with metrics and device samples (GPU fields None), plus a failed one."""
    samples = [
        DeviceSample(time=T0 + 1 + i * 0.5, scenario="eager", phase="generate",
                     cpu_util=50.0 + i, mem_megabytes=1024.5 + i)
        for i in range(4)
    ]
    eager = ScenarioResult(
        name="eager",
        kind="eager",
        params={"batch_size": 1, "new_tokens": 20},
        status=SUCCEEDED,
        exit_code=0,
        started_at=T0 + 1,
        finished_at=T0 + 3,
        phases=[Phase("forward", T0 + 1, T0 + 2), Phase("generate", T0 + 2, T0 + 3)],
        metrics=[
            Metric("first_eager_forward_pass_time_secs", "s", [0.5]),
            Metric("second_eager_forward_pass_time_secs", "s", [0.1, 0.12, 0.11]),
            Metric("first_eager_generate_time_secs", "s", [1.5, 1.25]),
            Metric("eager_generate_tokens_per_sec", "tokens/s", [100.0, 110.0, 105.0, 95.0]),
        ],
        info={"generated_tokens": [1, 2, 3]},
        flags=["warm"],
        samples=samples,
    )
    compiled = ScenarioResult(
        name="compiled_decode[compile_mode=default]",
        kind="compiled_decode",
        params={"compile_mode": "default"},
        status=SUCCEEDED,
        exit_code=0,
        started_at=T0 + 4,
        finished_at=T0 + 9,
        metrics=[
            Metric("time_to_first_token_secs", "s", [2.5]),
            Metric("time_to_next_token_mean_secs", "s", [0.02, 0.021, 0.019, 0.02]),
        ],
        samples=[
            DeviceSample(time=T0 + 5, scenario="compiled_decode[compile_mode=default]", phase="decode", cpu_util=99.0,
                         mem_megabytes=2048.0, gpu_util=None, gpu_mem_megabytes=None,
                         throttle_reasons=None)
        ],
    )
    crashed = ScenarioResult(
        name="compiled_generate[compile_mode=reduce-overhead]",
        kind="compiled_generate",
        params={"compile_mode": "reduce-overhead"},
        status=FAILED,
        error="subprocess died of SIGSEGV",
        exit_code=-11,
        signal="SIGSEGV",
        stderr_tail="Fatal Python error: Segmentation fault\n…",
        started_at=T0 + 10,
        finished_at=T0 + 11,
    )
    return RunResult(
        run_uid=run_uid,
        branch="feature/ünïcode-branch",
        commit_id="a" * 40,
        commit_message=MESSAGE,
        repository="https://github.com/huggingface/transformers",
        model_id="synthetic-llama-tiny",
        synthetic=True,
        config={"warmup": 1, "repeats": 3},
        config_hash="f" * 64,
        environment={"gpu_name": "cpu", "gpu_count": 0, "torch": "2.11.0", "device": "cpu",
                     "cpu_model": "Test CPU", "hostname": "test-host", "runner_pid": 4242},
        status=status,
        started_at=T0,
        finished_at=T0 + 12,
        commit_time=T0 - 3600,
        commit_parents=["b" * 40],
        scenarios=[eager, compiled, crashed],
    )
