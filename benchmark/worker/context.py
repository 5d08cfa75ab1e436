"""What a scenario worker gets: its parameters, the model, a timer, and places to put figures."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from typing import Any

import torch

from ..contracts.config import ScenarioParams
from ..contracts.jobs import ScenarioOutput
from ..contracts.result import Metric
from ..models import load_model, resolve_class
from ..trackers.events import Reporter
from ..trackers.timing import Timer
from .decode import make_cache


@dataclass
class Context:
    params: ScenarioParams  # resolved: dtype is never "auto"
    model_path: str  # checkpoint directory or hub id
    device: torch.device
    seed: int
    events: Reporter
    profile_dir: str | None = None  # where worker/profile.record writes its trace; None: no profile
    metrics: list[Metric] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def phase(self, name: str) -> None:
        self.events.phase(name)

    def progress(self, message: str) -> None:
        self.events.progress(message)

    def add(self, name: str, samples: list[float]) -> None:
        """Report a registered figure (contracts/figures.py); no samples, no figure."""
        if samples:
            self.metrics.append(Metric.of(name, samples))

    def add_unmeasured(self, name: str, reason: str) -> None:
        """A figure this device cannot give: stored as NULL, with the reason in info."""
        self.metrics.append(Metric.of(name, []))
        self.info[f"{name}_unmeasured"] = reason

    def timer(self) -> Timer:
        return Timer(self.device)

    def load(self):
        """Load the model from disk onto the device; returns (model, seconds)."""
        self.phase("load")
        p = self.params
        resolve_class(self.model_path)  # a lazy module import is not load time
        if p.quantization == "none":
            model, seconds = self.timer().time(load_model, self.model_path, p.dtype, p.attn_implementation,
                                               str(self.device))
        else:
            from .quantization import load_quantized

            model, seconds = self.timer().time(load_quantized, self.model_path, p.dtype, p.attn_implementation,
                                               p.quantization, str(self.device))
        no_end_of_sequence(model)
        # what a decode step must read at least once: the roofline's numerator
        self.info["weight_bytes"] = sum(t.numel() * t.element_size() for t in model.parameters())
        return model, seconds

    def setup(self):
        """Load the model; returns it with the seeded prompt, a timer and a KV cache for the run."""
        model, _ = self.load()
        p = self.params
        cache = make_cache(model, p.batch_size, p.prompt_length + p.new_tokens, p.cache_implementation)
        return model, self.prompt(model.config), self.timer(), cache

    def prompt(self, config) -> torch.Tensor:
        """Seeded random token ids: the same prompt in every scenario and every run."""
        gen = torch.Generator().manual_seed(self.seed)
        p = self.params
        ids = torch.randint(0, config.vocab_size, (p.batch_size, p.prompt_length), generator=gen)
        return ids.to(self.device)

    def record_memory(self) -> None:
        """The peak memory figures, once each: a scenario that loads a reference model after its
        measurement records them before, so the reference's memory is not counted. A figure
        the scenario already reported (or reported unmeasured, with its reason) is kept."""
        peaks = {}
        if self.device.type == "cuda":
            peaks["peak_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(self.device)
            peaks["peak_memory_reserved_bytes"] = torch.cuda.max_memory_reserved(self.device)
        # ru_maxrss is in KiB on Linux
        peaks["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        reported = {m.name for m in self.metrics}
        for name, value in peaks.items():
            if name not in reported:
                self.add(name, [value])

    def output(self) -> ScenarioOutput:
        self.record_memory()
        self.info["torch_threads"] = torch.get_num_threads()
        self.info["torch_cuda"] = torch.version.cuda
        return ScenarioOutput(metrics=self.metrics, info=self.info, flags=self.flags)


def no_end_of_sequence(model) -> None:
    """Every path generates exactly `new_tokens` tokens by one rule: no token ends a
    sequence. Otherwise `generate` would stop at (or, with min_new_tokens, mask) the
    end-of-sequence id while the hand-written loop does neither, and a correct run would
    differ from it whenever the greedy argmax is that id."""
    model.config.eos_token_id = None
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.eos_token_id = None


def split_warm(samples: list, warmup: int) -> list:
    """The steady-state samples: all after the first call and `warmup` more."""
    return samples[1 + warmup:]


def calls_needed(p: ScenarioParams, seed_calls: int) -> int:
    """Enough calls for the seed's 1st/2nd/... figures and for `repetitions` steady-state ones."""
    return max(seed_calls, 1 + p.warmup + p.repetitions)


def generation_config(p: ScenarioParams, default_cache: bool = False):
    """Greedy, exactly `new_tokens` tokens (no end-of-sequence id: see no_end_of_sequence), with
    the scenario's cache implementation or (`default_cache`) transformers' default one."""
    from transformers import GenerationConfig

    from .compat import generation_cache

    cache = generation_cache(None if default_cache else p.cache_implementation, p.batch_size,
                             p.prompt_length + p.new_tokens)
    return GenerationConfig(max_new_tokens=p.new_tokens, do_sample=False, eos_token_id=None, pad_token_id=0,
                            **cache)


def tokens_match(a: torch.Tensor, b: torch.Tensor) -> tuple[bool, int | None]:
    """Equal? and, if not, the first differing position (over the batch)."""
    if a.shape != b.shape:
        return False, 0
    diff = (a != b).any(dim=0).nonzero()
    return (True, None) if diff.numel() == 0 else (False, int(diff[0, 0]))
