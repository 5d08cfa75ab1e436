"""What a person sees: progress lines on stderr while it runs, a table on stdout at the end.

Figures are shown by their registered unit (contracts/figures.py): times in ms or s,
memory in MiB, checks as "yes 5/5" rather than as a percentile of ones and zeros. Every
line goes out through terminal.printable.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from ..contracts.escapes import printable
from ..contracts.figures import SEED_KEYS
from ..contracts.result import SKIPPED, SUCCEEDED, Metric, RunResult
from ..contracts.units import fmt, processes_note
from ..contracts.violations import line as invalid_line
from ..run.runner import RunOutcome


class Progress:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()

    def line(self, message: str) -> None:
        elapsed = int(time.monotonic() - self.t0)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {printable(message)}", file=self.stream, flush=True)


def metric_row(m: Metric) -> str:
    st = m.stats
    if st is None:  # stored as NULL: e.g. energy where NVML cannot read it
        return f"    {m.name:<40} {'not measured':>14}"
    procs = processes_note(m.processes)
    if m.unit == "bool":
        true = sum(1 for v in m.samples if v)
        return f"    {m.name:<40} {('yes' if true == st.n else 'NO') + f' {true}/{st.n}':>14}{procs}"
    if st.n == 1 or m.unit == "count":
        return f"    {m.name:<40} {fmt(st.median, m.unit):>14}" + (f"  n={st.n}{procs}" if st.n > 1 else "")
    return (f"    {m.name:<40} {fmt(st.median, m.unit):>14}  p90 {fmt(st.p90, m.unit):>12}"
            f"  min {fmt(st.min, m.unit):>12}  sd {fmt(st.stdev, m.unit):>11}  n={st.n}{procs}")


def print_result(result: RunResult, out: IO[str] | None = None, series: bool = False) -> None:
    """The run's table: every scenario and figure, then the 13 figures of transformers' v4.46 benchmark."""
    out = out or sys.stdout

    def w(s: str = "") -> None:
        print(printable(s), file=out)

    w()
    w(f"commitbench run {result.run_uid}: {result.status.upper()}")
    w(f"  {result.branch} @ {result.commit_id}  model {result.model_id}"
      f"{' (synthetic weights)' if result.synthetic else ''}  on {result.environment.get('gpu_name')}")
    w("  " + ", ".join(f"{lib} {result.environment.get(lib) or '-'}" for lib in ("torch", "transformers", "python")))
    if (k := result.config.get("processes", 1)) != 1:
        w(f"  each scenario in {k} worker processes, one after another (figures: all processes' samples)")
    for line in validity_lines(result):
        w(line)
    bandwidth, weights = result.memory_bandwidth_bytes_per_s, result.weight_bytes
    if bandwidth:
        bound = f"; weights {fmt(weights, 'bytes')}: decode bound {fmt(weights / bandwidth, 's')}/step" \
            if weights else ""
        w(f"  memory bandwidth {bandwidth / 1e9:.1f} GB/s (timed copy, bytes read + written){bound}")
    for s in result.scenarios:
        w()
        mark = "ok" if s.status == SUCCEEDED else s.status.upper()
        w(f"  {s.name}: {mark}" + (f" - {s.error}" if s.error else "")
          + (f"  (series {result.series_key(s)})" if series else ""))
        for m in s.metrics:
            w(metric_row(m))
        if "sampler" in s.info and s.info["sampler"].get("achieved_hz"):
            st = s.info["sampler"]
            label = f"device samples (process 1/{len(s.info['processes'])})" if "processes" in s.info \
                else "device samples"
            w(f"    {label:<40} {st['n']:>14}  at {st['achieved_hz']:.1f} Hz"
              f" (target {1 / st['interval_s']:.1f} Hz, late {st['late_fraction']:.1%})")
        for flag in s.flags:
            w(f"    WARNING: {flag}")
    skipped = [s for s in result.scenarios if s.status == SKIPPED]
    if skipped:
        w()
        w(f"  skipped ({len(skipped)}): what these libraries or this hardware cannot run")
        for s in skipped:
            w(f"    {s.name}: {s.error}")
    seed = result.seed_measurements()
    w()
    w(f"  transformers' benchmark figures ({sum(v is not None for v in seed.values())}/{len(SEED_KEYS)} filled):")
    for key in SEED_KEYS:
        w(f"    {key:<40} {fmt(seed[key], 's') if seed[key] is not None else '-':>14}")


def validity_lines(result: RunResult) -> list[str]:
    """Whether the run counts in compare and detect, and why not; what it replays."""
    out = [f"  replay of run {result.replay_of}"] if result.replay_of else []
    if result.valid is None:
        return out + ["  validity: not evaluated (no measured device samples)"]
    if result.valid:
        return out + ["  validity: valid (no rule broken)"]
    return out + ["  " + invalid_line(result.invalid_reasons)]  # once per rule, not once per phase


def print_outcome(outcome: RunOutcome, out: IO[str] | None = None) -> None:
    """The table, then where the result is: the database, the spool, the JSON file."""
    out = out or sys.stdout
    print_result(outcome.result, out)

    def w(s: str = "") -> None:
        print(printable(s), file=out)

    store, kept = outcome.store, outcome.kept
    w()
    if store.available:
        w(f"  stored in {store.where()} (benchmark_id {store.benchmark_id})")
    else:
        w(f"  database unavailable: {store.error}")
        for problem in kept.spool_errors:
            w(f"  could not spool to {problem}")
        if kept.spool_path is not None:
            w(f"  result spooled to {kept.spool_path}")
            w(f"  load it later with: commitbench ingest {kept.spool_path}")
        elif kept.json_path is not None:
            w(f"  load it later with: commitbench ingest {kept.json_path}")
        else:
            w("  nothing could be written to disk: the result is on stderr, as JSON")
    if kept.json_path is not None:
        w(f"  JSON written to {kept.json_path}")
    if kept.json_error is not None:
        w(f"  could not write the JSON file {kept.json_error}")
