"""Which model to benchmark, and how to get its weights onto the disk.

`--model` takes a preset (built from a config with seeded random weights: the same
compute as the real model, since nothing can be downloaded on the machines we run on),
a local checkpoint directory, or a hub id. Presets are saved once as safetensors in a
cache directory, so the load scenario measures a real disk -> device load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contracts.config import ConfigError
from .contracts.inputs import model_id as check_model_id

# Shapes only; weights are random. Llama-2-7B is the seed's model.
PRESETS: dict[str, dict[str, Any]] = {
    "llama-2-7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                       num_attention_heads=32, num_key_value_heads=32, vocab_size=32000,
                       max_position_embeddings=4096),
    # The CPU default: 19.3 M parameters, Llama-shaped with grouped-query attention.
    "tiny-llama": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=2, vocab_size=32000,
                       max_position_embeddings=2048),
    # For tests: compiles in seconds rather than tens of seconds.
    "micro-llama": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, vocab_size=512,
                        max_position_embeddings=512),
}
GPU_DEFAULT, CPU_DEFAULT = "llama-2-7b", "tiny-llama"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


@dataclass(frozen=True)
class ModelSource:
    model_id: str  # what is stored: preset name, absolute path, or hub id
    kind: str  # "preset" | "local" | "hub"
    synthetic: bool  # random weights
    key: str  # the model in series identities: the same model wherever it lies
    max_positions: int | None = None  # the longest sequence it takes, where its config says

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "kind": self.kind, "synthetic": self.synthetic, "key": self.key}


def resolve_model(spec: str, cuda: bool) -> ModelSource:
    """Turn `--model` into a source, or raise ConfigError (nothing has been written yet)."""
    if spec == "auto":
        spec = GPU_DEFAULT if cuda else CPU_DEFAULT
    check_model_id(spec)
    if spec in PRESETS:
        # A preset's name is its identity: changing a preset's shape means a new name.
        return ModelSource(spec, "preset", True, spec, PRESETS[spec]["max_position_embeddings"])
    path = Path(spec).expanduser()
    if path.exists():
        config = path / "config.json"
        if not config.is_file():
            raise ConfigError(f"model directory {path} has no config.json")
        try:
            raw = config.read_bytes()
            data = json.loads(raw)
        except (OSError, ValueError, RecursionError) as e:
            raise ConfigError(f"model config {config} is unreadable: {str(e) or type(e).__name__}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"model config {config} is not a JSON object")
        # Keyed by directory name and architecture, not by where it lies: the same
        # checkpoint on two CI runners is one series.
        key = f"local:{path.resolve().name}@{hashlib.sha256(raw).hexdigest()[:12]}"
        return ModelSource(check_model_id(str(path.resolve())), "local", False, key, _positions(data))
    if spec.startswith((".", "/", "~")) or not _HUB_ID.match(spec):
        raise ConfigError(
            f"unknown model {spec!r}: not a preset ({', '.join(PRESETS)}), "
            "an existing checkpoint directory, or a hub id")
    config = _check_hub(spec)
    return ModelSource(spec, "hub", False, spec, _positions(config.to_dict()))


def _positions(config: dict[str, Any]) -> int | None:
    value = config.get("max_position_embeddings") or config.get("n_positions")
    return value if isinstance(value, int) and value > 0 else None


def _check_hub(model_id: str):
    """Resolve the config now, so a typo fails before anything is stored.

    The local hub cache first; the hub itself only if it answers, since an unreachable
    hub costs half a minute of retries and a screenful of warnings.
    """
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model_id, local_files_only=True)
    except (OSError, ValueError):
        pass
    if not _hub_reachable():
        raise ConfigError(f"unknown model {model_id!r}: not in the local hub cache, and the hub is unreachable")
    try:
        return AutoConfig.from_pretrained(model_id)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"unknown model {model_id!r}: {first}") from None


def _hub_reachable(timeout_s: float = 5.0) -> bool:
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def cache_root() -> Path:
    if os.environ.get("COMMITBENCH_CACHE"):
        return Path(os.environ["COMMITBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "commitbench"


def checkpoint_dir(source: ModelSource, dtype: str, seed: int) -> Path:
    """Where a preset's random-weight checkpoint lives: keyed by shape, dtype and seed."""
    key = json.dumps([PRESETS[source.model_id], dtype, seed], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_root() / "models" / f"{source.model_id}-{dtype}-seed{seed}-{digest}"


def build_synthetic(preset: str, dtype: str, seed: int, device: str, out: Path) -> Path:
    """Build a preset with seeded random weights on `device` and save it as safetensors.

    Runs in a worker subprocess. Writes into a temporary directory and renames it, so
    a crash never leaves a half-written checkpoint that later runs would trust.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if (out / "config.json").is_file():
        return out
    torch.manual_seed(seed)
    config = LlamaConfig(**PRESETS[preset], torch_dtype=dtype)
    torch_dtype = getattr(torch, dtype)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch_dtype)  # init directly in the target dtype: half the memory
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(prev)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp, safe_serialization=True)
    try:
        tmp.replace(out)
    except OSError:
        # Another run built the same checkpoint meanwhile (parallel jobs on a fresh machine):
        # same preset, dtype and seed, so the same weights. Keep theirs.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (out / "config.json").is_file():
            raise
    return out


def download(model_id: str) -> Path:
    """Fetch a hub model's config and weights into the hub cache, so `load` times disk -> device."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model_id, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"]))


def load_model(path_or_id: str, dtype: str, attn_implementation: str, device: str):
    """The seed's method: `from_pretrained` to CPU, then `.to(device)`."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        path_or_id, attn_implementation=attn_implementation, **{_dtype_kwarg(): getattr(torch, dtype)})
    return model.to(device).eval()


def resolve_class(path_or_id: str) -> type:
    """Import the model's class (transformers imports modeling code lazily)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    return MODEL_FOR_CAUSAL_LM_MAPPING[type(AutoConfig.from_pretrained(path_or_id))]


def _dtype_kwarg() -> str:
    import transformers

    return "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
