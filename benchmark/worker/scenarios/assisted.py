"""Assisted (speculative) decoding: `generate(assistant_model=draft)` beside plain greedy
generate (worker/side_by_side.py). The draft is the main model cut to its first
`draft_layers` layers, sharing its weights: the same tokenizer by construction, and with
random weights the only draft whose proposals are not noise."""

from __future__ import annotations

import copy

from ..context import no_end_of_sequence
from ..side_by_side import plain_config, side_by_side


def run(ctx) -> None:
    p = ctx.params
    model, _ = ctx.load()
    layers = model.config.num_hidden_layers
    if p.draft_layers >= layers:
        raise ValueError(f"draft_layers {p.draft_layers} must be fewer than the model's {layers} layers")
    draft = truncated(model, p.draft_layers)
    prompt = ctx.prompt(model.config)
    r = side_by_side(ctx, model, prompt, plain_config(p), watch=(draft,), assistant_model=draft)
    forwards, draft_forwards = r.variant_forwards
    ctx.add("assisted_time_per_token_secs", [s / p.new_tokens for s in r.variant_s])
    ctx.add("assisted_tokens_per_sec", [p.new_tokens / s for s in r.variant_s])
    ctx.add("greedy_time_per_token_secs", [s / p.new_tokens for s in r.plain_s])
    ctx.add("tokens_match_eager", r.match)
    ctx.add("assisted_forwards", [forwards])
    # Each verifying forward yields its own token plus the draft tokens it accepted, and each
    # draft forward proposes one token: accepted = new tokens - main forwards.
    ctx.add("assisted_acceptance_rate", [max(0, p.new_tokens - forwards) / draft_forwards] if draft_forwards else [])
    ctx.info.update(greedy_forwards=r.plain_forwards, draft_forwards=draft_forwards, draft_layers=p.draft_layers,
                    model_layers=layers, tokens_per_forward=p.new_tokens / forwards,
                    eager_tokens=r.reference.cpu().tolist())
    if r.first_mismatch is not None:
        ctx.flags.append("assisted_tokens_mismatch")
        ctx.info["first_mismatch"] = r.first_mismatch


def truncated(model, n: int):
    """The model's first `n` layers as a model of its own. The copy shares every parameter
    and buffer (deepcopy's memo maps each to itself), so it costs no weight memory."""
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    draft = copy.deepcopy(model, memo=shared)
    draft.model.layers = draft.model.layers[:n]
    draft.config.num_hidden_layers = n
    if getattr(draft.config, "layer_types", None):
        draft.config.layer_types = draft.config.layer_types[:n]
    no_end_of_sequence(draft)
    return draft

