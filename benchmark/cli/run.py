"""Benchmark one commit: every scenario of the matrix in its own subprocess; figures,
device samples and the outcome go to the database (or a spool file if it is unreachable)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from db.url import BadDatabaseURL, default_sqlite_path, parse_url, resolve_url, validate_url

from ..contracts import exitcodes, inputs
from ..contracts.escapes import printable
from ..contracts.config import MAX_PROCESSES, ConfigError, build_config, load_config_file
from ..flows.run import check_lengths, check_spool_dir, concrete_device
from ..models import resolve_model
from ..run import gitinfo
from ..run.runner import RunRequest, Runner
from ..analysis.validity import rules_from
from ..run.storage import embedded
from .common import OVERRIDES, add_benchmark_options, default_rules, output_problem, profile_dir
from .errors import error
from .table import Progress, print_outcome

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: ("all scenarios succeeded, or were skipped (what these libraries or this hardware cannot run is "
                   "stored as skipped, with its reason)"),
    exitcodes.SCENARIO_FAILED: "a scenario failed (the rest is stored)",
    exitcodes.BAD_INPUT: "bad input (nothing written)",
    exitcodes.DB_UNAVAILABLE: "database unavailable: the result is spooled (see `commitbench ingest`)",
    exitcodes.JSON_FAILED: "the --json file could not be written (the result is stored)",
    exitcodes.CANCELLED_BASE: "cancelled by SIGINT/SIGTERM (what finished is stored)",
}


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
    b = p.add_argument_group("benchmark")
    add_benchmark_options(b)
    b.add_argument("--processes", type=int, help="worker processes per scenario, one after another, stored as one "
                   "run whose repetitions carry their process: the run's own process-to-process spread, which "
                   f"compare and detect use (1..{MAX_PROCESSES}, default 1; compile time is the first process's)")
    o = p.add_argument_group("output")
    o.add_argument("--db", help="database URL (default: $DATABASE_URL, else libpq PG* variables with "
                   f"database metrics, else SQLite at {default_sqlite_path()})")
    o.add_argument("--json", type=Path, help="also write the whole result to this JSON file")
    o.add_argument("--spool-dir", type=Path, help="where results go when the database is unreachable "
                   f"(default {default_sqlite_path().parent / 'spool'})")


def run(args: argparse.Namespace) -> int:
    try:
        request = _request(args)
    except (ConfigError, BadDatabaseURL) as e:
        return error(str(e), exitcodes.BAD_INPUT)
    outcome = Runner(request, Progress().line).execute()
    print_outcome(outcome)
    if outcome.store.available and outcome.cancelled_by is None:
        after_run(request.db_url, request.branch)  # a picture after the first run: beside a SQLite file only
    return outcome.exit_code


def after_run(db_url: str, branch: str) -> None:
    """After `commitbench run` stored its result in a SQLite file: write the branch's report
    beside that file and say where. A report that cannot be written costs a warning line,
    never the run's result or its exit code."""
    from ..flows.report import NotWritten, write_beside

    try:
        path = write_beside(db_url, branch)
    except NotWritten as e:
        print(printable(f"  warning: {e}"))
        return
    if path is not None:
        print(printable(f"  report: {path} (open it in a browser)"))


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
    cfg = build_config(data, {k: getattr(args, k) for k in OVERRIDES} | {"processes": args.processes})
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
                      rules=rules, command=tuple(sys.argv), profile_dir=_profile_dir(args.profile_dir, url, spool_dir))


def _profile_dir(given: Path | None, url: str, spool_dir: Path) -> Path:
    """Where traces go: --profile-dir, else `profiles/` beside the SQLite file (beside the
    result), else beside the spool directory."""
    if given is not None:
        return profile_dir(given)
    parsed = parse_url(url)
    beside = Path(parsed.database).expanduser().parent if parsed.get_backend_name() == "sqlite" else spool_dir.parent
    return (beside / "profiles").resolve()


def _check_json(path: Path | None) -> None:
    if path is not None and (problem := output_problem(path)):
        raise ConfigError(f"--json {path}: {problem}")
