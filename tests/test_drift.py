"""Output drift (#20 item 3): the mean KL divergence of next-token distributions against a
reference, teacher-forced on the reference's greedy tokens, with real torch on CPU and
micro-llama: identical models drift by nothing, a perturbed one by more the more it is
perturbed, and the decode path (KV cache, one token per step) gives what one forward gives."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from benchmark.models import build_synthetic, checkpoint_dir, load_model, resolve_model
from benchmark.worker.agreement import agreement, mean_kl, teacher_forced, teacher_forced_steps, torch_logits
from benchmark.worker.decode import decode_step, make_cache, timed_generate
from benchmark.trackers.timing import Timer


@pytest.fixture(scope="module")
def model(bench_cache):
    mp = pytest.MonkeyPatch()
    mp.setenv("COMMITBENCH_CACHE", str(bench_cache))
    try:
        path = build_synthetic("micro-llama", "float32", 0, "cpu",
                               checkpoint_dir(resolve_model("micro-llama", False), "float32", 0))
        yield load_model(str(path), "float32", "sdpa", "cpu")
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def greedy(model):
    """A prompt and the model's own greedy tokens for it (batch 2)."""
    gen = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, model.config.vocab_size, (2, 8), generator=gen)
    cache = make_cache(model, 2, 8 + 12, "dynamic")
    tokens, _ = timed_generate(model, prompt, cache, 12, decode_step, Timer(torch.device("cpu")))
    return prompt, tokens


def perturbed(model, scale: float):
    other = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale * p.abs().mean())
    return other


def test_the_same_model_drifts_by_nothing_and_agrees_everywhere(model, greedy):
    prompt, tokens = greedy
    logits = teacher_forced(torch_logits(model), prompt, tokens)
    assert logits.shape == (2, 12, model.config.vocab_size)
    assert mean_kl(logits, teacher_forced(torch_logits(model), prompt, tokens)) < 1e-6
    assert agreement(logits, tokens) == 1.0  # its own greedy tokens: the argmax at every position


def test_the_decode_path_gives_what_one_forward_gives(model, greedy):
    prompt, tokens = greedy
    stepped = teacher_forced_steps(model, prompt, tokens, make_cache(model, 2, 20, "dynamic"))
    assert stepped.shape == (2, 12, model.config.vocab_size)
    assert mean_kl(stepped, teacher_forced(torch_logits(model), prompt, tokens)) < 1e-6


def test_a_perturbed_model_drifts_and_more_perturbation_drifts_more(model, greedy):
    prompt, tokens = greedy
    reference = teacher_forced(torch_logits(model), prompt, tokens)
    small, large = (mean_kl(teacher_forced(torch_logits(perturbed(model, s)), prompt, tokens), reference)
                    for s in (0.05, 0.5))
    assert 1e-6 < small < large


def test_kl_of_known_distributions():
    """KL([.5, .5] || [.9, .1]) = .5 ln(.5/.9) + .5 ln(.5/.1), averaged over positions."""
    ref = torch.log(torch.tensor([[[0.5, 0.5], [0.5, 0.5]]]))
    var = torch.log(torch.tensor([[[0.9, 0.1], [0.5, 0.5]]]))
    expected = (0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(5.0)) / 2
    assert mean_kl(var, ref) == pytest.approx(expected, rel=1e-6)  # float32 inputs


def test_a_compiled_logits_function_through_the_decode_path_drifts_by_nothing(model, greedy):
    """compiled_decode's drift path (a compiled next_logits, teacher-forced step by step) on a
    backend that needs no C++ compiler: dynamo's graphs give the eager logits."""
    from benchmark.worker.decode import next_logits

    prompt, tokens = greedy
    compiled = torch.compile(next_logits, backend="aot_eager")
    cache = make_cache(model, 2, 20, "dynamic")
    got = teacher_forced_steps(model, prompt, tokens, cache, compiled)
    assert mean_kl(got, teacher_forced_steps(model, prompt, tokens, cache)) < 1e-6


def test_the_html_reports_axis_reaches_a_drift_of_1e_16():
    """nice_ticks once rounded to 12 decimals: a step of 1e-17 never advanced and the list grew
    until the run after `commitbench run` was killed for memory."""
    from dashboards.html_svg import nice_ticks

    assert nice_ticks(3.3e-16) == [0.0, 1e-16, 2e-16, 3e-16, 4e-16]
    assert nice_ticks(0.3) == [0.0, 0.1, 0.2, 0.3] and nice_ticks(1.0) == [0.0, 0.25, 0.5, 0.75, 1.0]
