"""Regression reports: list them, show one, and move them along their lifecycle.

  commitbench reports list [--branch main] [--state open,confirmed] [--scenario S] [--series KEY] [--figure F]
  commitbench reports show 3
  commitbench reports accept 3 --by alice --reason "paged KV cache: 2 % slower decode, 4x batch" [--link URL]
  commitbench reports fix 3 --commit 1a2b3c4d
  commitbench reports bisected 3 --commit 1a2b3c4d [--evidence bisect.json]
  commitbench reports tracking-issue --branch main [-o issue.md]
  commitbench reports stats [--since 90d|all] [--branch main] [--format text|json]

`commitbench detect` opens, confirms, fixes and withdraws reports from the change points it
stores (db/reports.py has the states). A move the lifecycle does not allow (accepting a fixed
report, fixing a withdrawn one) is a one-line error, exit 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from db import reports as store
from db.reports import STATES

from ..contracts import exitcodes, inputs
from ..contracts.documents import json_value, utf8
from ..contracts.config import ConfigError
from ..flows.reports import get, line, moved, report_id_of, who
from ..analysis.staleness import parse_age
from ..verdicts import report_render as render
from ..verdicts import report_stats as grading
from .common import CHANGED_OUTPUT_EXIT_CODE, CommandError, add_db_argument, check_output, reading, write_output
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "done",
    exitcodes.BAD_INPUT: "bad input (also: no such report, a move not allowed)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
    **CHANGED_OUTPUT_EXIT_CODE,  # -o
}


FORMATS = ("text", "markdown", "json")
MAX_REASON, MAX_LINK = 4000, 2048
MAX_SINCE_S = 100 * 365 * 86400.0  # stats --since: longer is `all`
MAX_WHO = 255


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = sub.add_parser("list", help="reports, newest last")
    ls.add_argument("--branch")
    ls.add_argument("--state", help=f"comma-separated: {', '.join(STATES)}, or 'active' (open, confirmed, bisected)")
    ls.add_argument("--scenario", help="the scenario's name, as results show it")
    ls.add_argument("--series", help="a series key (`commitbench history --series-list`)")
    ls.add_argument("--figure")
    ls.add_argument("--format", choices=FORMATS, default="text")
    _common(ls)
    sh = sub.add_parser("show", help="one report with its history")
    sh.add_argument("id", help="the report's number (3 or #3)")
    sh.add_argument("--format", choices=("text", "json"), default="text")
    _common(sh)
    ac = sub.add_parser("accept", help="a deliberate trade-off: the branch's new level")
    ac.add_argument("id")
    ac.add_argument("--by", required=True, help="who accepts it")
    ac.add_argument("--reason", required=True, help="why")
    ac.add_argument("--link", help="an http(s) link: the pull request or discussion")
    _common(ac)
    fx = sub.add_parser("fix", help="the commit that fixed it")
    fx.add_argument("id")
    fx.add_argument("--commit", required=True)
    fx.add_argument("--by", help="who records it (default $GITHUB_ACTOR, else $USER)")
    _common(fx)
    bi = sub.add_parser("bisected", help="the first bad commit, with evidence")
    bi.add_argument("id")
    bi.add_argument("--commit", required=True, help="the first bad commit")
    bi.add_argument("--evidence", type=Path, metavar="FILE", help="JSON: what showed it (e.g. bisect --format json)")
    bi.add_argument("--by", help="who records it (default $GITHUB_ACTOR, else $USER)")
    _common(bi)
    ti = sub.add_parser("tracking-issue", help="markdown for the configuration's one tracking issue")
    ti.add_argument("--branch", required=True)
    ti.add_argument("--gpu", help="only reports of series on this GPU (`cpu` for CPU runs): one issue per GPU")
    ti.add_argument("--model", help="only reports of series of this model id: one issue per model")
    _common(ti)
    st = sub.add_parser("stats", help="the detector graded by its reports: withdrawn share, commits and days to "
                        "the report and to the fix, per detector version and figure")
    st.add_argument("--since", default=grading.DEFAULT_SINCE,
                    help=f"reports opened this long ago or later, e.g. 90d, 12w, or 'all' (default "
                         f"{grading.DEFAULT_SINCE})")
    st.add_argument("--branch")
    st.add_argument("--format", choices=("text", "json"), default="text")
    _common(st)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repository", help="only this repository's reports")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    add_db_argument(p)


def run(args: argparse.Namespace) -> int:
    try:
        check_output(args.output)
        shown = ACTIONS[args.action](args)
        changed = args.action in CHANGES  # committed by now: a failed -o must not hide it
        write_output(args.output, shown, done=f"the change was made: {shown.strip()}" if changed else None)
    except CommandError as e:
        return error(str(e), e.code)
    return exitcodes.OK


def _list(args: argparse.Namespace) -> str:
    states = _states(args.state)
    with reading(args) as session:
        found = store.listed(session, branch=args.branch, repository=args.repository, states=states,
                             series_keys=None if args.series is None else [args.series], scenario=args.scenario,
                             figure=args.figure)
    return {"text": render.text, "markdown": render.markdown, "json": render.as_json}[args.format](found)


def _states(value: str | None) -> list[str] | None:
    if value is None:
        return None
    states: list[str] = []
    for s in (x.strip() for x in value.split(",")):
        if s == "active":
            states += store.ACTIVE
        elif s in STATES:
            states.append(s)
        else:
            raise CommandError(f"--state: unknown state {s!r}: one of {', '.join(STATES)}, or active",
                               exitcodes.BAD_INPUT)
    return states


def _show(args: argparse.Namespace) -> str:
    report_id = report_id_of(args.id)
    with reading(args) as session:
        r = get(session, report_id, args.repository)
    return render.show(r) if args.format == "text" else json.dumps(render.as_dict(r), indent=2) + "\n"


def _accept(args: argparse.Namespace) -> str:
    report_id, by = report_id_of(args.id), line(args.by, "--by", MAX_WHO)
    reason = line(args.reason, "--reason", MAX_REASON)
    link = None if args.link is None else _link(args.link)
    return _moved(args, report_id, lambda s: store.accept(s, report_id, by, reason, link))


def _fix(args: argparse.Namespace) -> str:
    report_id, commit, by = report_id_of(args.id), _commit(args.commit), who(args.by)
    return _moved(args, report_id, lambda s: store.fix(s, report_id, commit, by))


def _bisected(args: argparse.Namespace) -> str:
    report_id, commit, by = report_id_of(args.id), _commit(args.commit), who(args.by)
    evidence = None if args.evidence is None else _evidence(args.evidence)
    return _moved(args, report_id, lambda s: store.bisected(s, report_id, commit, evidence, by))


def _moved(args: argparse.Namespace, report_id: int, change) -> str:
    r = moved(args.db, report_id, args.repository, change)
    return f"report #{r.report_id}: {r.state}\n"


def _tracking(args: argparse.Namespace) -> str:
    branch = _branch(args.branch)
    with reading(args) as session:
        found = store.listed(session, branch=branch, repository=args.repository, gpu_name=args.gpu,
                             model_id=args.model)
    return render.tracking_issue(args.repository or "", branch, found, gpu=args.gpu, model=args.model)


def _stats(args: argparse.Namespace) -> str:
    since = args.since.strip()
    try:
        since_s = None if since == "all" else parse_age(since)
    except ValueError as e:
        raise CommandError(f"--since: {e}, or all", exitcodes.BAD_INPUT) from None
    if since_s is not None and since_s > MAX_SINCE_S:  # a window before year 1 is no date
        raise CommandError(f"--since: {since!r} is too long: at most {MAX_SINCE_S / 86400:.0f}d, or all",
                           exitcodes.BAD_INPUT)
    branch = None if args.branch is None else _branch(args.branch)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with reading(args) as session:
        graded = grading.graded(session, since_s, None if since_s is None else since, now, args.repository, branch)
    return (grading.as_json if args.format == "json" else grading.as_text)(graded)


def _link(value: str) -> str:
    v = inputs.text(value).strip()
    if not v.startswith(("https://", "http://")) or len(v) > MAX_LINK or any(c.isspace() for c in v):
        raise CommandError(f"--link must be an http(s) URL without spaces (at most {MAX_LINK} characters), "
                           f"got {value[:80]!r}", exitcodes.BAD_INPUT)
    return inputs.strip_userinfo(v)


def _commit(value: str) -> str:
    try:
        return inputs.commit_id(value, "--commit")
    except ConfigError as e:
        raise CommandError(str(e), exitcodes.BAD_INPUT) from None


def _branch(value: str) -> str:
    try:
        return inputs.branch(value)
    except ConfigError as e:
        raise CommandError(f"--branch: {e}", exitcodes.BAD_INPUT) from None


def _evidence(path: Path) -> object:
    """The file's JSON, storable in either database (no NaN, Infinity, NUL or lone surrogate:
    PostgreSQL would refuse them, and that is bad input, not the database unavailable)."""
    try:
        return json_value(utf8(path.read_bytes()), storable=True)
    except OSError as e:
        raise CommandError(f"--evidence {path}: {e.strerror or e}", exitcodes.BAD_INPUT) from None
    except ValueError as e:  # utf8's and json_value's, naming the line
        raise CommandError(f"--evidence {path}: {e}", exitcodes.BAD_INPUT) from None


CHANGES = ("accept", "fix", "bisected")  # the actions that change a report's state
ACTIONS = {"list": _list, "show": _show, "accept": _accept, "fix": _fix, "bisected": _bisected,
           "tracking-issue": _tracking, "stats": _stats}
