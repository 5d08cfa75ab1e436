"""What a run request is checked against before anything is measured, shared by `run` and
`replay`: the device that exists, prompt lengths that fit the model, a spool directory that
can be written. ConfigError (bad input) for each."""

from __future__ import annotations

import os
from pathlib import Path

from ..contracts.config import KINDS, ConfigError
from ..models import ModelSource


def concrete_device(requested: str) -> str:
    # Ask NVML, not the CUDA runtime, whether there is a GPU: the runner stays free of CUDA.
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {requested} requested but CUDA is not available")
        index = int(requested.split(":")[1]) if ":" in requested else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {requested}: only {torch.cuda.device_count()} CUDA device(s)")
    return requested


def check_lengths(scenarios, model: ModelSource, device: str) -> None:
    """A prompt plus its new tokens must fit the model's positions: beyond them a model
    computes garbage (or fails on the GPU) and the figures would mean nothing."""
    if model.max_positions is None:
        return
    for s in scenarios:
        if "prompt_length" in KINDS[s.kind].params and s.prompt_length + s.new_tokens > model.max_positions:
            raise ConfigError(
                f"{s.name(device)}: prompt_length {s.prompt_length} + new_tokens {s.new_tokens} exceeds the "
                f"{model.max_positions} positions of model {model.model_id}")


def check_spool_dir(path: Path) -> None:
    """The spool must be creatable before anything is measured (a run spools only at the
    end, when a mistake here would cost the result; keep.py still has a fallback)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"--spool-dir {path}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--spool-dir {path}: {probe} is not writable")
