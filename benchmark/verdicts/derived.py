"""Derived series: what compiling buys, computed on the read side from stored figures.

For every run that has an eager and a compiled_decode scenario measuring the same thing
(the same values of every parameter eager uses; a parameter compiled_decode lacks, such as
quantization, at its default), per run:

- compile_speedup_ttft = eager_time_to_first_token_secs / time_to_first_token_secs
- compile_speedup_ttnt = eager_time_to_next_token_secs / time_to_next_token_secs
  (eager / compiled time: above 1, compiling is faster; higher is better);
- compile_break_even_tokens = compile time / per-token saving, where compile time is
  compile_prefill_time_secs + compile_decode_step_time_secs (the first calls, which
  compile) and the saving is eager TTNT - compiled TTNT; none when compiling saves nothing
  (lower is better).

Each level is the run's level of its inputs (the median over repetitions of each
repetition's median), so a derived value is one observation per run, as compare tests runs.
A derived series is keyed by its two inputs' series keys; its history is the runs that
stored both. There is no compiled counterpart of the eager forward figure (the compiled
prefill is TTFT), so no forward speedup is derived.
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass

from db.figures_read import ScenarioPoints

from ..analysis.compare import Run
from ..contracts.config import DEFAULTS, KINDS
from ..contracts.figures import HIGHER, LOWER

SCENARIO = "derived"
SPEEDUPS = {"compile_speedup_ttft": ("eager_time_to_first_token_secs", "time_to_first_token_secs"),
            "compile_speedup_ttnt": ("eager_time_to_next_token_secs", "time_to_next_token_secs")}
BREAK_EVEN = "compile_break_even_tokens"
COMPILE_TIME = ("compile_prefill_time_secs", "compile_decode_step_time_secs")


@dataclass(frozen=True)
class DerivedFigure:
    name: str
    unit: str
    direction: str
    description: str


DERIVED = {f.name: f for f in (
    DerivedFigure("compile_speedup_ttft", "x", HIGHER, "eager / compiled time to first token"),
    DerivedFigure("compile_speedup_ttnt", "x", HIGHER, "eager / compiled time to next token"),
    DerivedFigure(BREAK_EVEN, "tokens", LOWER, "compile time / per-token saving (eager TTNT - compiled TTNT)"),
)}


def matched(eager: ScenarioPoints, compiled: ScenarioPoints) -> bool:
    """Same run, and the compiled scenario measures what the eager one does but for compiling."""
    return (eager.benchmark_id == compiled.benchmark_id and eager.kind == "eager"
            and compiled.kind == "compiled_decode"
            and all(eager.params.get(p, DEFAULTS.get(p)) == compiled.params.get(p, DEFAULTS.get(p))
                    for p in KINDS["eager"].params))


def key(eager: ScenarioPoints, compiled: ScenarioPoints) -> str:
    """A series key of the stored keys' length (change points store it in 32 characters)."""
    digest = hashlib.sha256(f"{eager.series_key}+{compiled.series_key}".encode()).hexdigest()
    return "derived-" + digest[:20]


def pairs(points: list[ScenarioPoints]) -> list[tuple[ScenarioPoints, ScenarioPoints]]:
    """Every (eager, compiled_decode) pair of succeeded scenarios of one run that match, in
    the order of `points` (runs grouped first, so a long history is linear in its runs)."""
    by_run: dict[int, list[ScenarioPoints]] = {}
    for sp in points:
        if sp.succeeded and sp.series_key and sp.kind in ("eager", "compiled_decode"):
            by_run.setdefault(sp.benchmark_id, []).append(sp)
    return [(e, c) for sps in by_run.values() for e in sps if e.kind == "eager" for c in sps if matched(e, c)]


def values(eager: ScenarioPoints, compiled: ScenarioPoints) -> dict[str, float]:
    """The derived figures one run gives (those whose inputs it stored, with positive levels)."""
    level = {n: _level(sp, n) for sp in (eager, compiled) for n in sp.figures}
    out: dict[str, float] = {}
    for name, (e, c) in SPEEDUPS.items():
        if level.get(e) and level.get(c):
            out[name] = level[e] / level[c]
    e_next, c_next = level.get("eager_time_to_next_token_secs"), level.get("time_to_next_token_secs")
    compile_time = [level.get(n) for n in COMPILE_TIME]
    if e_next and c_next and e_next > c_next and all(t is not None for t in compile_time):
        out[BREAK_EVEN] = sum(compile_time) / (e_next - c_next)
    return out


def runs(points: list[ScenarioPoints]) -> dict[str, dict[str, list[Run]]]:
    """derived series key -> derived figure -> one Run (one sample) per run that has it."""
    out: dict[str, dict[str, list[Run]]] = {}
    for e, c in pairs(points):
        for name, v in values(e, c).items():
            out.setdefault(key(e, c), {}).setdefault(name, []).append(Run(reps=((v,),)))
    return out


def _level(sp: ScenarioPoints, name: str) -> float | None:
    reps = [statistics.median(r) for r in sp.figures[name].reps if r]
    level = statistics.median(reps) if reps else None
    return level if level is not None and level > 0 else None
