"""Change points over history: where a figure of a series moved to a new level.

  commitbench detect                         scan every series of every branch; store what is found
  commitbench detect --branch main           one branch
  commitbench detect --newest --branch main  is the newest commit already a suspected step?
  commitbench detect --input series.jsonl    data from elsewhere: {"id", "values", "reps"} lines
                                             in, {"id", "change_points": [i, ...]} lines out
  commitbench detect --input series.jsonl --newest
                                             the newest-commit question of the same lines:
                                             {"id", "suspected": [i]} (or []) lines out

Every series (repository, branch, GPU, model, scenario parameters) and figure is scanned in
commit order (benchmark/analysis/changepoints.py; docs/detect.md says how).
Storing is idempotent: a second scan over the same runs changes nothing, a point no longer
found is marked withdrawn, new runs extend the analysis. The overview dashboard shows the
stored points as annotations. A regression point opens a regression report (db/reports.py,
`commitbench reports`); a confirmed suspect confirms it, an improvement step that takes the
level back fixes it, a point no longer found withdraws it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from db.change_points import Changes
from db.reports import ReportChanges

from ..analysis.changepoints import DetectOptions
from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..flows import detect_input
from ..verdicts import detect_runs
from ..verdicts.render import md, pct
from .common import (CHANGED_OUTPUT_EXIT_CODE, READ_EXIT_CODES, CommandError, add_db_argument, check_output, read_input,
                     reading, write_output)
from .errors import error

EXIT_CODES = READ_EXIT_CODES | CHANGED_OUTPUT_EXIT_CODE  # docs/reference/exit-codes.md


FORMATS = ("text", "markdown", "json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--branch", help="only this branch (default: every branch)")
    p.add_argument("--repository")
    p.add_argument("--newest", action="store_true",
                   help="report (and store) whether the newest commits are a suspected change point; with "
                        '--input: {"id", "suspected": [i]} lines (i the suspected commit; [] when none)')
    p.add_argument("--input", type=Path, metavar="FILE",
                   help='JSON lines {"id", "values", "reps"}; "-" for stdin; writes {"id", "change_points": [i, ...]} '
                        "lines (or, with --newest, the suspected commit)")
    p.add_argument("--dry-run", action="store_true", help="report, store nothing")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        check_output(args.output)
        if args.input is not None:
            if args.branch or args.repository:
                raise CommandError("--input reads the file's series: no --branch or --repository",
                                   exitcodes.BAD_INPUT)
            return _input(args)
        return _stored(args)
    except CommandError as e:
        return error(str(e), e.code)


def _stored(args: argparse.Namespace) -> int:
    flagged, changes, reported, scanned, invalid = [], Changes(), ReportChanges(), 0, 0
    with reading(args, write=not args.dry_run) as session:
        groups = detect_runs.groups(session, args.branch, args.repository)
        if args.branch is not None and not groups:
            raise CommandError(f"no runs stored for branch {args.branch!r}", exitcodes.BAD_INPUT)
        for repository, branch in groups:
            invalid += detect_runs.invalid_runs(session, repository, branch)
            series = detect_runs.histories(session, repository, branch)
            if not args.dry_run:  # a detect storing them at the same time finishes first
                detect_runs.lock(session, series)
            for s in series:
                scanned += 1
                if args.newest:
                    found = detect_runs.suspect(s)
                    points = [found] if found else []
                    if not args.dry_run:
                        changes += detect_runs.store_online(session, s, found)
                else:
                    points = detect_runs.scan(s, DetectOptions())
                    if not args.dry_run:
                        changes += detect_runs.store_offline(session, s, points)
                if not args.dry_run:
                    reported += detect_runs.store_reports(session, s)
                flagged += [detect_runs.Flagged(s, f) for f in points]
    shown = {"text": _text, "markdown": _markdown, "json": _json}[args.format](args, flagged, changes, reported,
                                                                                      scanned, invalid)
    write_output(args.output, shown, done=None if args.dry_run else "the change points and reports are stored")
    return exitcodes.OK


def _what(args: argparse.Namespace, count: int = 1) -> str:
    s = "s" if count != 1 else ""  # on the noun: "suspected changes at the newest commits", never "commitss"
    return f"suspected change{s} at the newest commits" if args.newest else f"change point{s}"


def _left_out(invalid: int) -> list[str]:
    return [f"{invalid} invalid run{'s' if invalid != 1 else ''} left out (`commitbench history` lists them "
            "with the reason)"] if invalid else []


def _text(args, flagged: list, changes: Changes, reported: ReportChanges, scanned: int, invalid: int) -> str:
    out = [f"{scanned} series-figures scanned; {len(flagged)} {_what(args, len(flagged))}"
           + ("" if args.dry_run else f"; stored: {changes.inserted} new, {changes.updated} updated, "
                                      f"{changes.withdrawn} withdrawn; " + _reports(reported))] + _left_out(invalid)
    rows = [["BRANCH", "SCENARIO", "FIGURE", "COMMIT", "CHANGE", "VERDICT", "STATE", "SCORE"]]
    for f in flagged:
        w, p = f.series.where, f.found
        rows.append([w.branch, w.scenario or w.series_key, w.figure, p.commit_id[:12], pct(p.magnitude), p.verdict,
                     p.state, f"{p.score:.1f}"])
    if len(rows) > 1:
        rows = [[printable(c) for c in r] for r in rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out) + "\n"


def _reports(r: ReportChanges) -> str:
    return (f"reports: {r.opened} opened, {r.confirmed} confirmed, {r.fixed} fixed, {r.withdrawn} withdrawn, "
            f"{r.reopened} reopened")


def _markdown(args, flagged: list, changes: Changes, reported: ReportChanges, scanned: int, invalid: int) -> str:
    title = "newest commits" if args.newest else "change points"
    out = [f"### commitbench: {title}", ""] + _left_out(invalid) + ([""] if invalid else [])  # constant text
    if not flagged:
        return "\n".join(out + [f"No {_what(args)} in {scanned} series-figures.", ""])
    out += ["| branch | scenario | figure | commit | change | verdict | state |", "|---|---|---|---|---:|---|---|"]
    for f in flagged:
        w, p = f.series.where, f.found
        out.append(f"| {md(w.branch)} | {md(w.scenario or w.series_key)} | {md(w.figure)} | `{p.commit_id[:12]}` "
                   f"| {pct(p.magnitude)} | {'**regression**' if p.verdict == 'regression' else p.verdict} "
                   f"| {p.state} |")
    return "\n".join(out) + "\n"


def _json(args, flagged: list, changes: Changes, reported: ReportChanges, scanned: int, invalid: int) -> str:
    return json.dumps({"scanned": scanned, "invalid_runs_left_out": invalid,
                       "stored": None if args.dry_run else changes.__dict__,
                       "reports": None if args.dry_run else reported.__dict__,
                       "change_points": [f.series.where.__dict__ | f.found.__dict__ for f in flagged]}, indent=2) + "\n"


def _input(args: argparse.Namespace) -> int:
    cases = detect_input.read(read_input(args.input), str(args.input))
    lines = (detect_input.suspects if args.newest else detect_input.change_points)(cases)
    write_output(args.output, "".join(line + "\n" for line in lines))
    return exitcodes.OK
