"""Benchmark one commit: every scenario of the matrix in its own subprocess; figures,
device samples and the outcome go to the database (or a spool file if it is unreachable).

Exit codes: 0 all scenarios succeeded (or were skipped: what these libraries or this
hardware cannot run is stored as skipped, with its reason); 1 a scenario failed (the rest is stored);
2 bad input (nothing written); 3 database unavailable (result spooled: see
`commitbench ingest`); 4 the --json file could not be written (the result is stored);
130/143 cancelled by SIGINT/SIGTERM (what finished is stored)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from db.url import BadDatabaseURL, default_sqlite_path, resolve_url, validate_url

from ..contracts import exitcodes, inputs
from ..contracts.config import (COMPILE_MODES, KINDS, QUANTIZATIONS, SDPA_KERNELS, ConfigError, build_config,
                                load_config_file)
from ..models import ModelSource, resolve_model
from ..run import gitinfo
from ..run.runner import RunRequest, Runner
from ..analysis.validity import rules_from
from ..run.storage import embedded
from .common import default_rules, output_problem
from .errors import error
from .table import Progress, print_outcome


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what is benchmarked (default: read from the git checkout)")
    g.add_argument("--branch")
    g.add_argument("--commit", help="commit id (hex)")
    g.add_argument("--message", help="commit message, any length (benchmarks.commit_message keeps the first 70 "
                   "characters, commit_message_full all of it)")
    g.add_argument("--repository", help="repository name or URL (default: git remote origin, without credentials)")
    g.add_argument("--commit-time", help="when the commit was made, unix seconds or ISO 8601 (default: its "
                   "committer date from git); history is ordered by it")
    g.add_argument("--parents", help="the commit's parent ids, comma-separated (default: from git)")
    m = p.add_argument_group("benchmark")
    m.add_argument("--config", type=Path, help="TOML or JSON file: run keys, [defaults], [[scenarios]] "
                   "(default: $COMMITBENCH_CONFIG, else the default suite: load, eager, compiled_decode, "
                   "compiled_generate; examples in benchmark/configs/)")
    m.add_argument("--model", help="preset (llama-2-7b, tiny-llama, micro-llama), checkpoint directory or hub "
                   "id; default auto: llama-2-7b shape on CUDA, tiny-llama on CPU")
    m.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    m.add_argument("--scenarios", type=lambda s: [k.strip() for k in s.split(",")], dest="kinds",
                   help=f"comma-separated kinds to run: {','.join(KINDS)}")
    m.add_argument("--dtype", help="auto (float16 on CUDA, float32 on CPU), float32, float16, bfloat16")
    m.add_argument("--batch-size", type=int)
    m.add_argument("--prompt-length", type=int)
    m.add_argument("--new-tokens", type=int)
    m.add_argument("--compile-mode", help=f"one of {', '.join(COMPILE_MODES)} (default reduce-overhead)")
    m.add_argument("--attn-implementation", help="eager, sdpa (default), flash_attention_2, flex_attention")
    m.add_argument("--cache-implementation", help="static (default) or dynamic")
    m.add_argument("--sdpa-kernel", help=f"force one SDPA kernel: {', '.join(SDPA_KERNELS)} (default auto: "
                   "torch chooses); with --attn-implementation sdpa")
    m.add_argument("--quantization", help=f"bitsandbytes weights for load and eager: {', '.join(QUANTIZATIONS)} "
                   "(default none)")
    m.add_argument("--warmup", type=int, help="uncounted calls after the first (default 1)")
    m.add_argument("--repetitions", type=int, help="measured repetitions (default 5)")
    m.add_argument("--timeout", type=float, dest="timeout_s", help="seconds before a scenario is killed")
    m.add_argument("--sample-interval-ms", type=float, help="device sampler interval, 0 = off (default 100)")
    m.add_argument("--seed", type=int, help="random seed of the synthetic weights and the prompt (default 0)")
    m.add_argument("--inductor-cache", help="fresh (default: cold compile in every scenario) or shared")
    o = p.add_argument_group("output")
    o.add_argument("--db", help="database URL (default: $DATABASE_URL, else libpq PG* variables with "
                   f"database metrics, else SQLite at {default_sqlite_path()})")
    o.add_argument("--json", type=Path, help="also write the whole result to this JSON file")
    o.add_argument("--spool-dir", type=Path, help="where results go when the database is unreachable "
                   f"(default {default_sqlite_path().parent / 'spool'})")


OVERRIDES = ("model", "device", "seed", "sample_interval_ms", "inductor_cache", "kinds", "dtype", "batch_size",
             "prompt_length", "new_tokens", "compile_mode", "attn_implementation", "cache_implementation",
             "sdpa_kernel", "quantization", "warmup", "repetitions", "timeout_s")


def run(args: argparse.Namespace) -> int:
    try:
        request = _request(args)
    except (ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    outcome = Runner(request, Progress().line).execute()
    print_outcome(outcome)
    if outcome.store.available and outcome.cancelled_by is None:
        from .report import after_run  # a picture after the first run: beside a SQLite file only

        after_run(request.db_url, request.branch)
    return outcome.exit_code


def _request(args: argparse.Namespace) -> RunRequest:
    """Everything validated before anything is written."""
    url, _ = resolve_url(args.db)
    validate_url(url)
    config_path = args.config or (Path(os.environ["COMMITBENCH_CONFIG"]) if os.environ.get("COMMITBENCH_CONFIG")
                                  else None)
    data = load_config_file(config_path) if config_path else {}
    # [validity] says how the run is judged, not what is measured: outside the config and its hash
    rules = rules_from(data.pop("validity"), f"{config_path} [validity]") if "validity" in data \
        else default_rules()
    cfg = build_config(data, {k: getattr(args, k) for k in OVERRIDES})
    cfg = cfg.resolve(concrete_device(cfg.device))
    model = resolve_model(cfg.model, cfg.device.startswith("cuda"))
    check_lengths(cfg.scenarios, model, cfg.device)
    git = gitinfo.read() if None in (args.branch, args.commit, args.message, args.repository) else None
    branch = inputs.branch(args.branch if args.branch is not None else git.branch)
    commit = inputs.commit_id(args.commit if args.commit is not None else git.commit)
    facts = gitinfo.commit_facts(commit) if args.commit_time is None or args.parents is None \
        or args.message is None else None
    if args.message is not None:
        message = inputs.message(args.message, explicit=True)
    else:
        message = inputs.message(facts.message if facts else git.message)
    commit_time = inputs.commit_time(args.commit_time if args.commit_time is not None
                                     else (facts.time if facts else None))
    parents = inputs.parents(args.parents if args.parents is not None else (facts.parents if facts else None))
    repository = inputs.repository(args.repository if args.repository is not None
                                   else (git.repository if git else None))
    _check_json(args.json)
    spool_dir = args.spool_dir or default_sqlite_path().parent / "spool"
    check_spool_dir(spool_dir)
    return RunRequest(config=cfg, source=model, branch=branch, commit=commit, message=message,
                      repository=repository, db_url=url, auto_upgrade=embedded(url), spool_dir=spool_dir,
                      json_path=args.json, commit_time=commit_time, commit_parents=tuple(parents),
                      rules=rules, command=tuple(sys.argv))


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


def _check_json(path: Path | None) -> None:
    if path is not None and (problem := output_problem(path)):
        raise ConfigError(f"--json {path}: {problem}")


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
