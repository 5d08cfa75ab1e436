"""Keep one GitHub issue up to date: a configuration's regression tracking issue.

  commitbench reports tracking-issue --branch main -o issue.md
  commitbench issue --repo OWNER/NAME --title "commitbench: regressions on main" --body-file issue.md

Looks through the repository's open issues (every page, at most 100 of 100; pull requests left out) for the one
whose body's first line is the marker, and edits its body in place; if there is none, opens
one with --title (and --label). The marker is the body's first line when that is an HTML
comment (`reports tracking-issue` writes `<!-- commitbench-tracking REPOSITORY BRANCH -->`),
else --marker. So each configuration has one issue, showing the latest state.

Token, API URL and HTTP as `commitbench pr-comment` (its helpers; the token is read from
$GITHUB_TOKEN only, never printed).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..github import DEFAULT_API, REPO, Failure, api_and_token, read_body, shown, upsert_issue, with_marker

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "issue created or updated",
    exitcodes.BAD_INPUT: "bad input (nothing sent)",
    exitcodes.SERVICE_UNREACHABLE: "GitHub's API unreachable, or what answers is not it",
    exitcodes.CREDENTIAL_REFUSED: "the token was refused (401, or 403: it needs issues: write)",
    exitcodes.SERVICE_REFUSED: ("GitHub refused the request, or answered one in a shape commitbench cannot use (a "
                                "page of issues that links back to an earlier one, more than 100 pages, an object "
                                "where a list belongs)"),
}


MARKER = re.compile(r"^<!--.*-->$")
MAX_TITLE = 256  # GitHub's limit on an issue title


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, help="the repository, OWNER/NAME")
    p.add_argument("--title", required=True, help="the title, when the issue is opened")
    p.add_argument("--body-file", required=True, type=Path, help="the issue's markdown (UTF-8)")
    p.add_argument("--marker", help="the first line that identifies the issue (default: the body's first line, "
                                    "an HTML comment)")
    p.add_argument("--label", action="append", default=[], help="a label for a new issue (repeatable)")
    p.add_argument("--api-url", help=f"GitHub's REST API (default $GITHUB_API_URL, else {DEFAULT_API})")


def run(args: argparse.Namespace) -> int:
    try:
        api, token, body, marker = _inputs(args)
        action, issue = upsert_issue(api, token, args.repo, args.title.strip(), body, marker, args.label)
    except Failure as e:
        print(f"commitbench: error: {printable(shown(str(e)))}", file=sys.stderr)
        return e.code
    url = printable(shown(str(issue.get('html_url', ''))))
    print(f"commitbench issue: {action} issue #{issue.get('number')} {url}")
    return exitcodes.OK


def _inputs(args: argparse.Namespace) -> tuple[str, str, str, str]:
    """Every check before anything is sent: (api url, token, body, marker)."""
    bad = exitcodes.BAD_INPUT
    if not REPO.match(args.repo or ""):
        raise Failure(f"--repo must be OWNER/NAME, got {args.repo!r}", bad)
    title = args.title.strip()
    if not title or "\n" in title or len(title) > MAX_TITLE:
        raise Failure(f"--title must be one line of 1-{MAX_TITLE} characters", bad)
    if any(not label.strip() or "," in label for label in args.label):
        raise Failure("--label must be a non-empty name without commas", bad)
    api, token = api_and_token(args.api_url, "the issue is written with")
    body = read_body(args.body_file)
    marker = (args.marker or "").strip() or body.split("\n", 1)[0].strip()
    if not MARKER.match(marker) and args.marker is None:
        raise Failure("the body's first line is no marker (an HTML comment such as <!-- commitbench-tracking -->): "
                      "give --marker", bad)
    if "\n" in marker or not marker:
        raise Failure("--marker must be one non-empty line", bad)
    return api, token, with_marker(body, marker), marker
