"""Keep one comment on a pull request up to date: the benchmark comparison.

  commitbench pr-comment --repo OWNER/NAME --pr 123 --body-file compare.md

Looks through the pull request's comments (every page, at most 100 pages of 100) for the one whose body starts with
the marker (default `<!-- commitbench-compare -->`) and edits it; if there is none, posts
one. So a pull request pushed ten times has one comment, showing the latest comparison.
The body gets the marker as its first line if it does not start with it already.

The token is read from $GITHUB_TOKEN (never from the command line, never printed); the API
from --api-url, else $GITHUB_API_URL (set in GitHub Actions, also for GitHub Enterprise
Server), else https://api.github.com. Only standard-library HTTP, so the workflow's comment
job can run this file with a bare Python: `python3 benchmark/cli/pr_comment.py ...`.
"""

from __future__ import annotations

import sys

if not __package__:
    # Run as a file (the workflow's comment job, commitbench not installed): import from the
    # checkout, never from benchmark/cli/, whose modules (bisect.py) would shadow the stdlib's.
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[2])

import argparse  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

# absolute: this file also runs as a script (above)
from benchmark.contracts import exitcodes  # noqa: E402
from benchmark.contracts.escapes import printable  # noqa: E402
from benchmark.github import (DEFAULT_API, REPO, Failure, api_and_token, read_body, shown,  # noqa: E402
                              upsert_comment, with_marker)

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "comment created or updated",
    exitcodes.BAD_INPUT: "bad input (nothing sent)",
    exitcodes.SERVICE_UNREACHABLE: "GitHub's API unreachable, or what answers is not it",
    exitcodes.CREDENTIAL_REFUSED: ("the token was refused (401, or 403 for lack of permission, as a fork's pull "
                                   "request gets)"),
    exitcodes.SERVICE_REFUSED: ("GitHub refused the request (pull request not found, validation, rate limit, server "
                                "error), or answered one in a shape commitbench cannot use (a page of comments that "
                                "links back to an earlier one, more than 100 pages, an object where a list belongs)"),
}


DEFAULT_MARKER = "<!-- commitbench-compare -->"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, help="the repository, OWNER/NAME")
    p.add_argument("--pr", required=True, help="the pull request number")
    p.add_argument("--body-file", required=True, type=Path, help="the comment's markdown (UTF-8)")
    p.add_argument("--marker", default=DEFAULT_MARKER,
                   help=f"the first line that identifies the comment (default {DEFAULT_MARKER!r})")
    p.add_argument("--author", help="edit only a comment by this login (e.g. 'github-actions[bot]'), "
                                    "so nobody else's comment that quotes the marker is overwritten")
    p.add_argument("--api-url", help=f"GitHub's REST API (default $GITHUB_API_URL, else {DEFAULT_API})")


def run(args: argparse.Namespace) -> int:
    try:
        api, token, body = _inputs(args)
        action, comment = upsert_comment(api, token, args.repo, int(args.pr), body, args.marker.strip(), args.author)
    except Failure as e:
        print(f"commitbench: error: {printable(shown(str(e)))}", file=sys.stderr)
        return e.code
    url = printable(shown(str(comment.get('html_url', ''))))
    print(f"commitbench pr-comment: {action} comment {comment.get('id')} {url}")
    return exitcodes.OK


def _inputs(args: argparse.Namespace) -> tuple[str, str, str]:
    """Every check before anything is sent: (api url, token, body)."""
    bad = exitcodes.BAD_INPUT
    if not REPO.match(args.repo or ""):
        raise Failure(f"--repo must be OWNER/NAME, got {args.repo!r}", bad)
    if not re.fullmatch(r"[1-9][0-9]{0,9}", args.pr or ""):
        raise Failure(f"--pr must be a pull request number (a positive integer), got {args.pr!r}", bad)
    if not args.marker.strip() or "\n" in args.marker.strip():
        raise Failure("--marker must be one non-empty line", bad)
    api, token = api_and_token(args.api_url, "the comment is posted with")
    body = read_body(args.body_file)
    return api, token, with_marker(body, args.marker.strip())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="commitbench pr-comment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
