"""Per-figure thresholds for `commitbench compare`: the relative change that matters.

A TOML (or JSON) file:

    default = 0.02                       # every figure without its own
    [figures]
    time_to_next_token_secs = 0.03       # pooled decode steps: p50 moves with the machine
    model_load_time = 0.10               # disk and page cache

A figure not in the registry, or a value outside (0, 1), is an error naming it.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..contracts.figures import FIGURES

DEFAULT_THRESHOLD = 0.02


class ThresholdError(ValueError):
    """A one-line message naming the field and what is allowed."""


@dataclass(frozen=True)
class Thresholds:
    default: float = DEFAULT_THRESHOLD
    figures: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check("default", self.default)
        for name, value in self.figures.items():
            if name not in FIGURES:
                raise ThresholdError(f"thresholds: unknown figure {name!r} (the README lists them)")
            check(f"figures.{name}", value)

    def of(self, figure: str) -> float:
        return self.figures.get(figure, self.default)


def check(name: str, value: object, where: str = "thresholds: ") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ThresholdError(f"{where}{name} must be a relative change in (0, 1), e.g. 0.02, got {value!r}")
    return float(value)


def from_options(threshold: float | None, path: Path | None) -> Thresholds:
    """`--threshold X` and `--thresholds FILE`, as compare and ab take them: X overrides
    the file's default."""
    if threshold is not None:
        check("--threshold", threshold, where="")
    if path is not None:
        return load(path, threshold)
    return Thresholds() if threshold is None else Thresholds(default=threshold)


def load(path: Path, default: float | None = None) -> Thresholds:
    """The file's thresholds; `default` (from --threshold) overrides the file's default."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ThresholdError(f"--thresholds {path}: {e.strerror or e}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ThresholdError(f"--thresholds {path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {e}") \
            from None
    unknown = set(data) - {"default", "figures"}
    if unknown:
        raise ThresholdError(f"thresholds: unknown key {sorted(unknown)[0]!r} (allowed: default, figures)")
    figures = data.get("figures", {})
    if not isinstance(figures, dict):
        raise ThresholdError("thresholds: figures must be a table of figure = threshold")
    return Thresholds(default=default if default is not None else data.get("default", DEFAULT_THRESHOLD),
                      figures=dict(figures))
