"""The example configurations in benchmark/configs/ run end to end on CPU (on micro-llama,
shortened by command-line overrides), with real torch.compile."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import IDENT, read_run, run_cli, run_uid

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "benchmark" / "configs").glob("*.toml"))
SHORT = ["--model", "micro-llama", "--prompt-length", "8", "--new-tokens", "6", "--repetitions", "1", "--warmup",
         "0", "--inductor-cache", "shared"]

# What these configurations cannot run on a CPU with torch 2.13 (docs/configuration.md: the optimization axes)
SKIPPED_ON_CPU = {"axes": {"eager[attn_implementation=flash_attention_2,new_tokens=6,cache_implementation=dynamic]",
                           "eager[new_tokens=6,sdpa_kernel=efficient]"}}


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_example_runs(cb, config):
    r = run_cli(["run", *IDENT, "--config", config, *SHORT], cb.env, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = read_run(cb.default_url, run_uid(r.stdout))
    skipped = {name: s["error"] for name, s in got["scenarios"].items() if s["status"] == "skipped"}
    assert set(skipped) == SKIPPED_ON_CPU.get(config.stem, set()), skipped
    assert all(skipped.values())  # each with its reason
    assert got["scenarios"] and all(s["status"] == "succeeded" for n, s in got["scenarios"].items() if n not in skipped)
    assert len({s["series_key"] for s in got["scenarios"].values()}) == len(got["scenarios"])
    for (scenario, name), m in got["metrics"].items():
        if name in ("tokens_match_eager", "decode_matches_generate"):
            assert set(m["samples"]) == {1.0}, (scenario, name)
