"""Series identity: which stored figures are the same measurement, commit after commit.

A series is one scenario measured on one model and one device. Its identity is the model,
the device kind and name (the GPU's, or the CPU's model name on CPU runs), the scenario
kind and the resolved values of the parameters that kind uses (see config.KINDS). What
does not change the measurement (branch, commit, matrix order, how a value was spelled,
warmup, repetitions, timeouts) is not part of it. `series_key` hashes the identity into a
short stable string that every scenario run and metric row carries.

A parameter added to a kind after identity v1 (config.PARAMS marks it `late`) is in the
identity only where it differs from its default: a new axis at its default is the
measurement that was made before the axis existed, so adding one renames no series.
Stored params that lack a late parameter are at its default.

Changing what goes into the identity breaks every history: it needs a new
IDENTITY_VERSION and a migration that recomputes the stored keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .config import DEFAULTS, KINDS, LATE, RUN_CONTROL

IDENTITY_VERSION = 1
KEY_CHARS = 20


def device_of(environment: dict[str, Any]) -> tuple[str, str]:
    """(device kind, device name) from a run's environment."""
    device = str(environment.get("device") or "cpu")
    kind = "cuda" if device.startswith("cuda") else "cpu"
    name = environment.get("gpu_name") if kind == "cuda" else environment.get("cpu_model")
    return kind, str(name or "unknown")


def model_key(model_id: str, environment: dict[str, Any]) -> str:
    """The model as identity: the source's key where the runner recorded one (a local
    checkpoint is keyed by its directory name and config, not by where it lies), else the id."""
    model = environment.get("model")
    return str(model.get("key") or model_id) if isinstance(model, dict) else model_id


def identity(model: str, environment: dict[str, Any], kind: str, params: dict[str, Any]) -> dict[str, Any]:
    device, device_name = device_of(environment)
    used = KINDS[kind].params if kind in KINDS else tuple(p for p in params if p not in RUN_CONTROL)
    late_set = {p for p in used if p in LATE and params.get(p, DEFAULTS[p]) != DEFAULTS[p]}
    return {"v": IDENTITY_VERSION, "model": model, "device": device, "device_name": device_name,
            "kind": kind, "params": {p: params.get(p) for p in used if p not in LATE or p in late_set}}


def series_key(ident: dict[str, Any]) -> str:
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_CHARS]


def key_of(model_id: str, environment: dict[str, Any], kind: str, params: dict[str, Any]) -> str:
    return series_key(identity(model_key(model_id, environment), environment, kind, params))
