"""Correctness of a variant that need not match exactly (quantized weights, ONNX Runtime):
where its greedy tokens first leave the reference's, and how often its top-1 token agrees
when both see the same preceding tokens."""

from __future__ import annotations

from collections.abc import Callable

import torch


def first_divergence(tokens: torch.Tensor, reference: torch.Tensor) -> int:
    """Index of the first generated token that differs anywhere in the batch; the length when none does."""
    differs = (tokens != reference).any(dim=0).nonzero()
    return int(differs[0, 0]) if differs.numel() else tokens.shape[1]


def top1_agreement(logits_of: Callable[[torch.Tensor], torch.Tensor], prompt: torch.Tensor,
                   reference: torch.Tensor) -> float:
    """Share of positions where the variant's greedy next token, teacher-forced on the prompt
    and the reference tokens before it, equals the reference token. `logits_of(ids)` is the
    variant's logits for every position of `ids`."""
    sequence = torch.cat([prompt, reference], dim=1)[:, :-1]
    with torch.inference_mode():
        logits = logits_of(sequence)
    predicted = logits[:, prompt.shape[1] - 1:].argmax(dim=-1).to(reference.device)
    return float((predicted == reference).float().mean())


def torch_logits(model) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda ids: model(input_ids=ids, use_cache=False).logits
