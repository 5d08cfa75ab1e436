"""Words and values of the HTML report: short ids, values in their unit, which way
a change goes, and which figures are the key ones."""

from __future__ import annotations

from benchmark.contracts.figures import FIGURES, HIGHER, INFO, LOWER
from benchmark.contracts.result import CANCELLED, FAILED, SUCCEEDED, RunResult
from benchmark.contracts.units import fmt
from db.query import STALE, RunSummary

from .html_data import Value
from .html_svg import esc

KEY_FIGURES = (
    "time_to_first_token_secs", "eager_time_to_first_token_secs", "time_to_next_token_secs",
    "eager_time_to_next_token_secs", "time_to_next_token_mean_secs", "eager_forward_time_secs",
    "eager_generate_time_secs", "compiled_generate_time_secs",
    "decode_tokens_per_sec", "eager_decode_tokens_per_sec", "eager_generate_tokens_per_sec",
    "compiled_generate_tokens_per_sec", "decode_roofline_fraction", "energy_per_token_joules",
    "compile_prefill_time_secs", "compile_decode_step_time_secs", "first_compile_generate_time_secs",
    "model_load_time", "peak_rss_bytes", "peak_memory_allocated_bytes", "peak_memory_reserved_bytes",
    "tokens_match_eager", "decode_matches_generate",
)
PERCENTILES = ("time_to_next_token_secs", "eager_time_to_next_token_secs")  # pooled decode steps
BAD_STATES = (FAILED, CANCELLED, STALE)

def short(commit: str | None) -> str:
    return (commit or "?")[:8]


def uid(run: RunSummary | RunResult) -> str:
    ref = run.run_uid or f"#{getattr(run, 'benchmark_id', '?')}"
    return ref if ref.startswith("#") else ref[:8]


def first_line(text: str | None, width: int = 100) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[:width - 1] + "…"


def value_text(v: Value) -> str:
    if v.unit == "bool":
        return f"{'yes' if v.passed == v.n else 'NO'} {v.passed}/{v.n}"
    return fmt(v.median, v.unit)


def direction(name: str, v: Value | None) -> str:
    f = FIGURES.get(name)
    return f.direction if f else ((v.direction if v else None) or INFO)


def better_text(d: str) -> str:
    return {LOWER: "lower is better", HIGHER: "higher is better"}.get(d, "informational")


def badge(state: str | None) -> str:
    state = state or "unknown"
    cls = "ok" if state == SUCCEEDED else "bad" if state in BAD_STATES else "neutral"
    return f'<span class="badge {cls}">{esc(state)}</span>'


def figure_order(names: list[str]) -> list[str]:
    registry = list(FIGURES)
    return sorted(names, key=lambda n: (KEY_FIGURES.index(n) if n in KEY_FIGURES else len(KEY_FIGURES),
                                        registry.index(n) if n in registry else len(registry), n))


def is_key(name: str) -> bool:
    return name in KEY_FIGURES or name not in FIGURES
