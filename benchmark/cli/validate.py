"""Judge stored runs by the validity rules again: rules changed later apply to history.

  commitbench validate --run RUN                 one run (id, prefix or #N)
  commitbench validate --branch main             every finished run of a branch
  commitbench validate --branch main --rules validity.toml  (a file with a [validity] table)

A run is judged by its device samples (analysis/validity.py). Without --rules each run is
judged by the rules it was judged by before (stored with it), else by $COMMITBENCH_VALIDITY,
else the defaults. With --rules FILE (the [validity] table of a TOML or JSON file) every
selected run is judged, and stores, those. An invalid run is kept and shown, and compare
and detect leave it out. --dry-run prints the verdicts and stores nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from db import query
from db.store import set_validity

from ..analysis.validity import judge, rules_from
from ..contracts import exitcodes
from ..contracts.config import ConfigError
from ..contracts.escapes import printable
from ..contracts.result import Violation
from ..contracts.violations import summary
from .common import CommandError, add_db_argument, default_rules, reading, rules_file
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "judged (whatever the verdicts)",
    exitcodes.BAD_INPUT: "bad input (no such run, a bad rules file)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN", help="run id or prefix, or #BENCHMARK_ID")
    which.add_argument("--branch", help="every finished run of this branch")
    p.add_argument("--repository", help="with --branch: only runs of this repository")
    p.add_argument("--rules", type=Path, metavar="FILE", help="a TOML or JSON file's [validity] table "
                   "(default: each run's stored rules, else $COMMITBENCH_VALIDITY, else the defaults)")
    p.add_argument("--dry-run", action="store_true", help="print the verdicts, store nothing")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        given = rules_file(args.rules) if args.rules is not None else None
        fallback = default_rules()
    except ConfigError as e:
        return error(str(e), exitcodes.BAD_INPUT)
    try:
        with reading(args, write=not args.dry_run) as session:
            for row in _rows(session, args):
                rules = given or (rules_from(row.validity_rules, "stored rules") if row.validity_rules else fallback)
                result = query.load_result(session, row)
                verdict = judge(result.scenarios, rules, (result.environment or {}).get("cpu_count"))
                valid, reasons, stored_rules = verdict.stored(rules)
                if not args.dry_run:
                    set_validity(session, row.benchmark_id, valid, reasons, stored_rules)
                _say(row, result.valid, valid, verdict.violations)
    except ConfigError as e:  # rules stored by a newer commitbench that this one cannot read
        return error(str(e), exitcodes.BAD_INPUT)
    except CommandError as e:
        return error(str(e), e.code)
    return exitcodes.OK


def _rows(session, args: argparse.Namespace) -> list:
    if args.run is not None:
        try:
            return [query.find_run(session, args.run)]
        except query.NotFound as e:
            raise CommandError(str(e), exitcodes.BAD_INPUT) from None
    rows = query.finished_runs(session, args.branch, args.repository)
    if not rows:
        raise CommandError(f"no finished runs of branch {args.branch!r}", exitcodes.BAD_INPUT)
    return rows


def _say(row, before: bool | None, after: bool | None, violations: list[Violation]) -> None:
    shown = {None: "not evaluated", True: "valid", False: "INVALID"}
    change = "" if before == after else f" (was {shown[before]})"
    head = f"{(row.run_uid or f'#{row.benchmark_id}')[:8]} {row.branch} @ {(row.commit_id or '')[:8]}: {shown[after]}"
    print(printable(head + change))
    if violations:  # once per rule (its worst value and the phases it broke), not once per phase
        print(printable(f"  {summary(violations)}"))
