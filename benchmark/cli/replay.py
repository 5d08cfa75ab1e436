"""Run a stored run again, here, from its record: the same resolved configuration (model,
device, seed, every scenario's parameters), commit identity and validity rules.

  commitbench replay RUN                 into the same database, as a new run
  commitbench replay RUN --into URL      into another database
  commitbench replay RUN --dry-run       what would run; runs nothing

The new run stores `replay_of` (the original's run id) and its own provenance (this
command line, these package versions). After it, each figure of the original is shown
beside the replay's, with the original's own noise, the spread of its repetitions, and
whether the replay lies within it. The checkpoint of a synthetic model is rebuilt from its
seed; a local checkpoint or hub model must be present here.
"""

from __future__ import annotations

import argparse
import sys

from db import query
from db.url import BadDatabaseURL, default_sqlite_path, resolve_url, validate_url

from ..analysis.replay import side_by_side, summary
from ..analysis.validity import rules_from
from ..contracts import exitcodes
from ..contracts.config import BenchConfig, ConfigError
from ..contracts.escapes import aligned, printable
from ..contracts.result import RunResult
from ..contracts.stats import repetitions
from ..contracts.units import fmt
from ..models import resolve_model
from ..run.runner import RunRequest, Runner
from ..run.storage import embedded
from ..flows.run import check_lengths, check_spool_dir, concrete_device
from .common import CommandError, add_db_argument, default_rules, reading
from .errors import error
from .table import Progress, print_outcome

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "the replay's scenarios succeeded",
    exitcodes.SCENARIO_FAILED: "one failed",
    exitcodes.BAD_INPUT: "bad input: no such run, a run without a stored configuration, a device this machine lacks",
    exitcodes.DB_UNAVAILABLE: "the result was spooled",
    exitcodes.CANCELLED_BASE: "cancelled by SIGINT/SIGTERM",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run id or prefix, or #BENCHMARK_ID")
    add_db_argument(p)
    p.add_argument("--into", metavar="URL", help="store the replay in this database (default: --db's)")
    p.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")


def run(args: argparse.Namespace) -> int:
    try:
        with reading(args) as session:
            try:
                original = query.get_run(session, args.run)
            except query.NotFound as e:
                raise CommandError(str(e), exitcodes.BAD_INPUT) from None
        request = _request(args, original)
    except CommandError as e:
        return error(str(e), e.code)
    except (ConfigError, BadDatabaseURL) as e:
        return error(f"cannot replay run {original.run_uid[:8]}: {e}", exitcodes.BAD_INPUT)
    cfg = request.config
    print(printable(f"replay of run {original.run_uid}: {original.branch} @ {original.commit_id[:12]}, model "
                    f"{request.source.model_id} on {cfg.device}, seed {cfg.seed}, {len(cfg.scenarios)} scenario(s), "
                    f"config {cfg.hash()[:12]} (stored {original.config_hash[:12]})"))
    if args.dry_run:
        for s in cfg.scenarios:
            print(printable(f"  {s.name(cfg.device)}"))
        return exitcodes.OK
    outcome = Runner(request, Progress().line).execute()
    print_outcome(outcome)
    print_side_by_side(original, outcome.result)
    return outcome.exit_code


def _request(args: argparse.Namespace, original: RunResult) -> RunRequest:
    if not original.config:
        raise ConfigError("it has no stored configuration (stored by transformers' v4.46 benchmark/llama.py?)")
    cfg = BenchConfig.from_dict(original.config)
    cfg = cfg.resolve(concrete_device(cfg.device))
    model = resolve_model(cfg.model, cfg.device.startswith("cuda"))
    check_lengths(cfg.scenarios, model, cfg.device)
    url, _ = resolve_url(args.into if args.into is not None else args.db)
    validate_url(url)
    spool_dir = default_sqlite_path().parent / "spool"
    check_spool_dir(spool_dir)
    rules = rules_from(original.validity_rules, "stored rules") if original.validity_rules else default_rules()
    return RunRequest(config=cfg, source=model, branch=original.branch, commit=original.commit_id,
                      message=original.commit_message, repository=original.repository, db_url=url,
                      auto_upgrade=embedded(url), spool_dir=spool_dir, commit_time=original.commit_time,
                      commit_parents=tuple(original.commit_parents), rules=rules, command=tuple(sys.argv),
                      replay_of=original.run_uid)


def _figures(result: RunResult) -> dict[tuple[str, str], tuple[str, list[list[float]]]]:
    return {(s.name, m.name): (m.unit, repetitions(m.samples, _times(s.params.get("repetitions"), m.processes)))
            for s in result.scenarios for m in s.metrics if m.samples}


def _times(repetitions: object, processes: int) -> int | None:
    """A figure's repetitions over all its worker processes (`run --processes`)."""
    return repetitions * processes if isinstance(repetitions, int) else None


def print_side_by_side(original: RunResult, replay: RunResult) -> None:
    rows = side_by_side(_figures(original), {k: reps for k, (_, reps) in _figures(replay).items()})
    table = [["SCENARIO", "FIGURE", "ORIGINAL", "REPLAY", "ORIGINAL'S SPREAD", "VERDICT"]]
    for r in rows:
        spread = "-" if r.low is None else f"{fmt(r.low, r.unit)} .. {fmt(r.high, r.unit)}"
        table.append([r.scenario, r.figure, "-" if r.original is None else fmt(r.original, r.unit),
                      "-" if r.replay is None else fmt(r.replay, r.unit), spread, r.verdict])
    print()
    print(printable(f"replay {replay.run_uid[:8]} beside original {original.run_uid[:8]}:"))
    for line in aligned(table):
        print("  " + line)
    print(printable(summary(rows)))
    # the spread of one process's repetitions leaves out the process-to-process offset; compare
    # judges at the level of runs, with the branch's history as the run-to-run noise
    print(printable(f"at the level of runs: commitbench compare --base run:{original.run_uid} "
                    f"--head run:{replay.run_uid}"))
