"""What a person sees: progress lines on stderr while it runs, a table on stdout at the end."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

from .result import SEED_KEYS, SUCCEEDED, Metric, RunResult


class Progress:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()

    def line(self, message: str) -> None:
        elapsed = int(time.monotonic() - self.t0)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=self.stream, flush=True)


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1e3:.3f} ms" if value < 1 else f"{value:.3f} s"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    if unit == "tokens/s":
        return f"{value:.1f} tok/s"
    return f"{value:g}"


def metric_row(m: Metric) -> str:
    st = m.stats
    assert st is not None
    if st.n == 1:
        return f"    {m.name:<40} {fmt(st.median, m.unit):>14}"
    return (f"    {m.name:<40} {fmt(st.median, m.unit):>14}  p90 {fmt(st.p90, m.unit):>12}"
            f"  min {fmt(st.min, m.unit):>12}  sd {fmt(st.stdev, m.unit):>11}  n={st.n}")


def print_summary(result: RunResult, store, spool: Path | None, json_path: Path | None,
                  out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    w = lambda s="": print(s, file=out)  # noqa: E731
    w()
    w(f"commitbench run {result.run_uid}: {result.status.upper()}")
    w(f"  {result.branch} @ {result.commit_id}  model {result.model_id}"
      f"{' (synthetic weights)' if result.synthetic else ''}  on {result.environment.get('gpu_name')}")
    for s in result.scenarios:
        w()
        mark = "ok" if s.status == SUCCEEDED else s.status.upper()
        w(f"  {s.name}: {mark}" + (f" - {s.error}" if s.error else ""))
        for m in s.metrics:
            w(metric_row(m))
        if "sampler" in s.info and s.info["sampler"].get("achieved_hz"):
            st = s.info["sampler"]
            w(f"    {'device samples':<40} {st['n']:>14}  at {st['achieved_hz']:.1f} Hz"
              f" (target {1 / st['interval_s']:.1f} Hz, late {st['late_fraction']:.1%})")
        for flag in s.flags:
            w(f"    WARNING: {flag}")
    seed = result.seed_measurements()
    w()
    w(f"  seed figures ({sum(v is not None for v in seed.values())}/{len(SEED_KEYS)} filled):")
    for key in SEED_KEYS:
        w(f"    {key:<40} {fmt(seed[key], 's') if seed[key] is not None else '-':>14}")
    w()
    if spool is not None:
        w(f"  database unavailable: {store.error}")
        w(f"  result spooled to {spool}")
        w(f"  load it later with: commitbench ingest {spool}")
    else:
        w(f"  stored in {store.where()} (benchmark_id {store.benchmark_id})")
    if json_path is not None:
        w(f"  JSON written to {json_path}")
