"""Per-figure settings for `commitbench compare`: the relative change that matters, and
whether a figure gates (a regression in it fails the check) or is informational (listed,
never changing the exit code), for a pull request (`--context pr`, the default) or for main
after merge (`--context main`).

A TOML (or JSON) file; the top level applies to both contexts, a `[pr]` or `[main]` section
overrides it for that context:

    default = 0.02                       # every figure without its own
    informational = ["model_load_time"]  # never gate (beside the registry's informational ones)
    gating = ["peak_rss_bytes"]          # gate although the registry says informational
    [figures]
    time_to_next_token_secs = 0.03       # pooled decode steps: p50 moves with the machine
    [main]                               # after merge: one run a commit, history as the noise
    default = 0.03
    [main.figures]
    model_load_time = 0.10

Without a file, a figure gates as benchmark/contracts/figures.py says (timings, throughput,
checks and tallies gate; memory, ratios, energy and model load time are informational); the
derived series (verdicts/derived.py) are informational and may be named like figures.
Correctness checks always gate. A figure not in the registry, a value outside (0, 1), a
figure both gating and informational, or an unknown key is an error naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..contracts.documents import json_value, utf8
from ..contracts.figures import FIGURES
from .derived import DERIVED

DEFAULT_THRESHOLD = 0.02
CONTEXTS = ("pr", "main")
DEFAULT_CONTEXT = "pr"
_SECTION_KEYS = ("default", "figures", "gating", "informational")


class ThresholdError(ValueError):
    """A one-line message naming the field and what is allowed."""


@dataclass(frozen=True)
class Thresholds:
    default: float = DEFAULT_THRESHOLD
    figures: dict[str, float] = field(default_factory=dict)
    gating: dict[str, bool] = field(default_factory=dict)  # overrides of the registry's gating
    context: str = DEFAULT_CONTEXT

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise ThresholdError(f"context must be one of {', '.join(CONTEXTS)}, got {self.context!r}")
        check("default", self.default)
        for name, value in self.figures.items():
            _known(name, "figures")
            check(f"figures.{name}", value)
        for name, gates in self.gating.items():
            _known(name, "gating" if gates else "informational")
            if not gates and FIGURES[name].unit == "bool":
                raise ThresholdError(f"thresholds: informational: {name} is a correctness check, which always gates")

    def of(self, figure: str) -> float:
        return self.figures.get(figure, self.default)

    def gates(self, figure: str) -> bool:
        """A regression in this figure fails the comparison (exit 8); else it is only listed."""
        if figure in self.gating:
            return self.gating[figure]
        fig = FIGURES.get(figure)
        # derived series are informational (their inputs gate); so is a figure this version does not know
        return fig.gating if fig is not None else False


def _known(name: str, where: str) -> None:
    if name not in FIGURES and name not in DERIVED:
        raise ThresholdError(f"thresholds: {where}: unknown figure {name!r} (docs/reference/figures.md lists them)")


def check(name: str, value: object, where: str = "thresholds: ") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ThresholdError(f"{where}{name} must be a relative change in (0, 1), e.g. 0.02, got {value!r:.40}")
    return float(value)


def from_options(threshold: float | None, path: Path | None, context: str = DEFAULT_CONTEXT) -> Thresholds:
    """`--threshold X`, `--thresholds FILE` and `--context`, as compare and ab take them: X
    overrides the file's default for the context."""
    if threshold is not None:
        check("--threshold", threshold, where="")
    if path is not None:
        return load(path, threshold, context)
    return Thresholds(context=context) if threshold is None else Thresholds(default=threshold, context=context)


def load(path: Path, default: float | None = None, context: str = DEFAULT_CONTEXT) -> Thresholds:
    """The file's settings for `context`; `default` (from --threshold) overrides the file's default."""
    kind = "JSON" if path.suffix == ".json" else "TOML"
    try:
        text = utf8(path.read_bytes())
    except OSError as e:
        raise ThresholdError(f"--thresholds {path}: {e.strerror or e}") from None
    except ValueError as e:  # naming the line
        raise ThresholdError(f"--thresholds {path}: {e}") from None
    try:
        data = json_value(text) if kind == "JSON" else tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ThresholdError(f"--thresholds {path}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib's, on arrays nested 100,000 deep
        raise ThresholdError(f"--thresholds {path}: not valid TOML: nested too deeply to be read") from None
    except ValueError as e:  # utf8's and json_value's, naming the line
        raise ThresholdError(f"--thresholds {path}: not valid {kind}: {e}") from None
    if not isinstance(data, dict):
        raise ThresholdError("thresholds: the file must be a table (a JSON object)")
    top = _section(data, "", extra=CONTEXTS)
    for name in CONTEXTS:  # both checked, whichever is used
        if name in data and not isinstance(data[name], dict):
            raise ThresholdError(f"thresholds: {name} must be a table of {', '.join(_SECTION_KEYS)}")
    sections = {name: _section(data.get(name, {}), f"{name}.") for name in CONTEXTS}
    chosen = sections[context]
    file_default = chosen.get("default", top.get("default", DEFAULT_THRESHOLD))
    return Thresholds(default=default if default is not None else file_default,
                      figures=top.get("figures", {}) | chosen.get("figures", {}),
                      gating=top.get("gating", {}) | chosen.get("gating", {}), context=context)


def _section(data: dict, prefix: str, extra: tuple[str, ...] = ()) -> dict:
    """One level of the file, checked: default, figures, and gating/informational as one map."""
    unknown = set(data) - set(_SECTION_KEYS) - set(extra)
    if unknown:
        allowed = ", ".join(_SECTION_KEYS + extra)
        raise ThresholdError(f"thresholds: unknown key {prefix}{sorted(unknown)[0]!r} (allowed: {allowed})")
    out: dict = {}
    if "default" in data:
        out["default"] = check(f"{prefix}default", data["default"])
    figures = data.get("figures", {})
    if not isinstance(figures, dict):
        raise ThresholdError(f"thresholds: {prefix}figures must be a table of figure = threshold")
    for name, value in figures.items():
        _known(name, f"{prefix}figures")
        check(f"{prefix}figures.{name}", value)
    out["figures"] = dict(figures)
    gating: dict[str, bool] = {}
    for key, gates in (("gating", True), ("informational", False)):
        names = data.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ThresholdError(f"thresholds: {prefix}{key} must be a list of figure names")
        for name in names:
            _known(name, f"{prefix}{key}")
            if not gates and FIGURES[name].unit == "bool":
                raise ThresholdError(f"thresholds: {prefix}{key}: {name} is a correctness check, which always gates")
            if name in gating:
                raise ThresholdError(f"thresholds: {prefix}{name} is both gating and informational")
            gating[name] = gates
    out["gating"] = gating
    return out
