"""Correctness of a variant that need not match exactly (quantized weights, ONNX Runtime, a
forced SDPA kernel, another attention implementation, the compiled decode step): where its
greedy tokens first leave the reference's, how often its top-1 token agrees when both see
the same preceding tokens, and how far its next-token distributions drift from the
reference's (the mean KL divergence, teacher-forced on the reference tokens). All of it is
computed after the timed repetitions."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .decode import next_logits, reset_cache

KL_FIGURE = "next_token_kl_divergence"


def first_divergence(tokens: torch.Tensor, reference: torch.Tensor) -> int:
    """Index of the first generated token that differs anywhere in the batch; the length when none does."""
    differs = (tokens != reference).any(dim=0).nonzero()
    return int(differs[0, 0]) if differs.numel() else tokens.shape[1]


def teacher_forced(logits_of: Callable[[torch.Tensor], torch.Tensor], prompt: torch.Tensor,
                   reference: torch.Tensor) -> torch.Tensor:
    """(batch, new tokens, vocab), float32 on the CPU: the logits that predict each reference
    token, from one forward over the prompt and the reference tokens before it.
    `logits_of(ids)` is the variant's logits for every position of `ids`."""
    sequence = torch.cat([prompt, reference], dim=1)[:, :-1]
    with torch.inference_mode():
        logits = logits_of(sequence)
    return logits[:, prompt.shape[1] - 1:].float().cpu()


def teacher_forced_steps(model, prompt: torch.Tensor, reference: torch.Tensor, cache,
                         logits_fn: Callable = next_logits, before_step: Callable | None = None) -> torch.Tensor:
    """As teacher_forced, through the decode path: prefill the prompt, then one reference
    token per step with the KV cache (`logits_fn(model, ids, positions, cache)`: the last
    position's logits, e.g. a compiled next_logits; `before_step` as in timed_generate)."""
    out = []
    with torch.inference_mode():
        cache = reset_cache(cache)
        positions = torch.arange(prompt.shape[1], device=prompt.device).unsqueeze(0)
        if before_step is not None:
            before_step()
        out.append(logits_fn(model, prompt, positions, cache).float().cpu())  # copied out of graph memory
        position = torch.full((1, 1), prompt.shape[1], device=prompt.device, dtype=torch.long)
        for i in range(reference.shape[1] - 1):
            if before_step is not None:
                before_step()
            out.append(logits_fn(model, reference[:, i:i + 1], position, cache).float().cpu())
            position += 1
    return torch.stack(out, dim=1)


def agreement(logits: torch.Tensor, reference: torch.Tensor) -> float:
    """Share of positions where the greedy token of `logits` (teacher_forced's) is the reference token."""
    return float((logits.argmax(dim=-1) == reference.cpu()).float().mean())


def mean_kl(logits: torch.Tensor, reference_logits: torch.Tensor) -> float:
    """KL(reference || variant) of the next-token distributions, in nats, averaged over the
    batch and the positions: what the variant loses in describing the reference's choices."""
    ref = torch.log_softmax(reference_logits.double(), dim=-1)
    var = torch.log_softmax(logits.double(), dim=-1)
    kl = (ref.exp() * (ref - var)).sum(dim=-1)
    return max(0.0, float(kl.mean()))  # rounding can leave -1e-17 where both are the same


def torch_logits(model) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda ids: model(input_ids=ids, use_cache=False).logits
