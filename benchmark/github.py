"""GitHub's REST API as commitbench uses it: the pull request comment (`pr-comment`) and the
tracking issue (`issue`), each found by the marker on its first line and edited in place, or
made. Only the standard library: the workflow's comment job runs `benchmark/cli/pr_comment.py`
with a bare Python (commitbench not installed), which imports this module from the checkout.

The token comes from $GITHUB_TOKEN only and goes only to the API's own host (never on a
redirect, never to another host's next page); nothing here prints, and what the commands
print goes through `shown` (the token redacted even where GitHub echoed it back). Errors are `Failure`s
with their exit codes (contracts/exitcodes.py); an answer of a shape commitbench cannot use (a list
where an object belongs, a page that links back to an earlier one, more than MAX_PAGES pages) is
one of them (SERVICE_REFUSED), never a traceback or a loop."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from benchmark.contracts import exitcodes
from benchmark.contracts.secrets import mask_urls, redact, token_problem

DEFAULT_API = "https://api.github.com"
MAX_BODY = 65536  # GitHub refuses a longer comment body (422 "Body is too long")
PER_PAGE = 100  # GitHub's maximum page size
MAX_PAGES = 100  # at most 10,000 comments (or open issues) are looked through: more is refused (exit 7)
TIMEOUT_S = 30
UNREACHABLE = exitcodes.SERVICE_UNREACHABLE
CREDENTIAL_REFUSED = exitcodes.CREDENTIAL_REFUSED
REFUSED = exitcodes.SERVICE_REFUSED
ISSUES = "issues"  # the permission an issue's write needs ("pull-requests" for a PR comment)

REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class Failure(Exception):
    """A one-line reason and the exit code it carries (2 bad input, 5 unreachable, 6 the
    token refused, 7 the request refused, or answered in a shape that cannot be used)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def api_and_token(api_url: str | None, used_for: str) -> tuple[str, str]:
    """The API's URL (--api-url, else $GITHUB_API_URL, else github.com's) and $GITHUB_TOKEN."""
    bad = exitcodes.BAD_INPUT
    api = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Failure(f"--api-url must be an http(s) URL, got {mask_urls(api)!r}", bad)
    if "@" in parts.netloc:
        raise Failure(f"--api-url must not hold a user or password (the token comes from $GITHUB_TOKEN), "
                      f"got {mask_urls(api)!r}", bad)
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise Failure(f"GITHUB_TOKEN is not set: it is the token {used_for}", bad)
    if problem := token_problem("GITHUB_TOKEN", token):
        # refused here: http.client's error for a header with a newline quotes the header, token and all
        raise Failure(problem, bad)
    return api, token


def shown(text: str) -> str:
    """`text` fit to print: $GITHUB_TOKEN redacted (a 401's message may echo the Authorization
    header) and URLs' passwords masked."""
    token = os.environ.get("GITHUB_TOKEN", "")
    return redact(text, [token, token.strip()])


def read_body(path: Path) -> str:
    bad = exitcodes.BAD_INPUT
    try:
        body = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Failure(f"--body-file {path}: no such file", bad) from None
    except UnicodeDecodeError:
        raise Failure(f"--body-file {path}: not UTF-8 text", bad) from None
    except OSError as e:
        raise Failure(f"--body-file {path}: {e.strerror}", bad) from None
    if not body.strip():
        raise Failure(f"--body-file {path} is empty", bad)
    return body


def with_marker(body: str, marker: str) -> str:
    """The marker as the first line, and at most MAX_BODY characters (cut with a note)."""
    if body.split("\n", 1)[0].strip() != marker:
        body = f"{marker}\n{body}"
    if len(body) > MAX_BODY:
        note = (f"\n\n… cut here: the comparison is {len(body)} characters, more than GitHub's "
                f"{MAX_BODY} for a comment. The whole of it is in the run's job summary and artifacts.\n")
        body = body[: MAX_BODY - len(note)] + note
    return body


def upsert_comment(api: str, token: str, repo: str, pr: int, body: str, marker: str,
           author: str | None = None) -> tuple[str, dict]:
    """("updated" | "created", the comment as GitHub returns it)."""
    existing = find_comment(api, token, repo, pr, marker, author)
    if existing is not None:
        return "updated", call("PATCH", f"{api}/repos/{repo}/issues/comments/{existing['id']}", token, api,
                                {"body": body})
    return "created", call("POST", f"{api}/repos/{repo}/issues/{pr}/comments", token, api, {"body": body})


def find_comment(api: str, token: str, repo: str, pr: int, marker: str, author: str | None) -> dict | None:
    """The oldest comment whose first line is the marker (and by `author`, if given)."""
    for c in pages(api, token, f"{api}/repos/{repo}/issues/{pr}/comments?per_page={PER_PAGE}", "comments"):
        first = str(c.get("body") or "").split("\n", 1)[0].strip()
        user = c.get("user")
        login = user.get("login") if isinstance(user, dict) else None
        if first == marker and (author is None or login == author):
            return _with_int(c, "id", api, "a comment")
    return None


def pages(api: str, token: str, url: str | None, what: str, scope: str = "pull-requests"):
    """Every object of a paginated list, following Link: rel="next" for at most MAX_PAGES pages
    and never to a page already read (an API that links back would otherwise be asked forever)."""
    seen: set[str] = set()
    while url:
        if url in seen:
            raise Failure(f"{api} pointed the next page of {what} back at a page already read ({url})", REFUSED)
        if len(seen) == MAX_PAGES:
            raise Failure(f"{api} listed more than {MAX_PAGES} pages of {what} ({MAX_PAGES * PER_PAGE} {what}): "
                          "refused rather than paged through without end", REFUSED)
        seen.add(url)
        page, link = call_with_link("GET", url, token, api, scope=scope)
        if not isinstance(page, list) or not all(isinstance(x, dict) for x in page):
            raise Failure(f"{api} answered the list of {what} with {_shape(page)}, not a list of objects", REFUSED)
        yield from page
        url = next_page(link, api, what)


def _shape(data) -> str:
    """What an API answer is, in a few words (never its content: it may be long or hostile)."""
    if isinstance(data, list):
        odd = next((x for x in data if not isinstance(x, dict)), None)
        return f"a list holding {type(odd).__name__ if odd is not None else 'objects'}"
    return {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")


def _object(data, api: str, what: str) -> dict:
    if not isinstance(data, dict):
        raise Failure(f"{api} answered with {_shape(data)} where the {what} (an object) belongs", REFUSED)
    return data


def _with_int(data: dict, key: str, api: str, what: str) -> dict:
    """`data`, whose `key` (the id or number the next request is built from) is an integer."""
    if not isinstance(data.get(key), int) or isinstance(data.get(key), bool):
        raise Failure(f"{api} answered {what} whose {key!r} is not an integer", REFUSED)
    return data


def next_page(link: str, api: str, what: str = "comments") -> str | None:
    """The Link header's rel="next", only on the API's own host: the token goes nowhere else."""
    m = NEXT_LINK.search(link or "")
    if not m:
        return None
    if urlsplit(m.group(1)).netloc != urlsplit(api).netloc:
        raise Failure(f"{api} pointed the next page of {what} at another host", REFUSED)
    return m.group(1)


def upsert_issue(api: str, token: str, repo: str, title: str, body: str, marker: str,
           labels: list[str]) -> tuple[str, dict]:
    """("updated" | "created", the issue as GitHub returns it)."""
    existing = find_issue(api, token, repo, marker)
    if existing is not None:
        return "updated", call("PATCH", f"{api}/repos/{repo}/issues/{existing['number']}", token, api,
                                {"body": body}, scope=ISSUES, what="issue")
    payload = {"title": title, "body": body} | ({"labels": labels} if labels else {})
    return "created", call("POST", f"{api}/repos/{repo}/issues", token, api, payload, scope=ISSUES, what="issue")


def find_issue(api: str, token: str, repo: str, marker: str) -> dict | None:
    """The oldest open issue (not a pull request) whose body's first line is the marker."""
    found = [_with_int(i, "number", api, "an issue")
             for i in pages(api, token, f"{api}/repos/{repo}/issues?state=open&per_page={PER_PAGE}", "issues", ISSUES)
             if "pull_request" not in i and str(i.get("body") or "").split("\n", 1)[0].strip() == marker]
    return min(found, key=lambda i: i["number"], default=None)  # GitHub lists the newest first


def call(method: str, url: str, token: str, api: str, payload: dict | None = None, scope: str = "pull-requests",
         what: str = "comment") -> dict:
    """One object (the comment or issue written)."""
    return _object(call_with_link(method, url, token, api, payload, scope)[0], api, what)


def call_with_link(method: str, url: str, token: str, api: str, payload: dict | None = None,
                    scope: str = "pull-requests"):
    """`scope`: the permission a write needs (pull-requests, issues), named when it is refused."""
    req = urllib.request.Request(url, method=method,
                                 data=None if payload is None else json.dumps(payload).encode())
    req.add_header("Accept", "application/vnd.github+json")
    req.add_header("X-GitHub-Api-Version", "2022-11-28")
    req.add_header("User-Agent", "commitbench-pr-comment")  # GitHub refuses requests without one
    if payload is not None:
        req.add_header("Content-Type", "application/json")
    req.add_unredirected_header("Authorization", f"Bearer {token}")  # never follows a redirect
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            raw, link = resp.read(), resp.headers.get("Link", "")
    except urllib.error.HTTPError as e:
        raise Failure(_refusal(method, url, e, scope), _refusal_code(e)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        raise Failure(f"GitHub's API at {mask_urls(api)} is unreachable: {reason}", UNREACHABLE) from None
    try:
        return json.loads(raw), link
    except ValueError:
        raise Failure(f"{url} did not answer JSON: is {api} GitHub's REST API?", UNREACHABLE) from None


def _message(e: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(e.read() or b"null")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    details = [str(x.get("message") or x.get("code")) for x in data.get("errors") or [] if isinstance(x, dict)]
    return "; ".join([str(data.get("message") or "")] + details).strip("; ")


def _refusal_code(e: urllib.error.HTTPError) -> int:
    if e.code == 401:
        return CREDENTIAL_REFUSED
    if e.code == 403 and e.headers.get("x-ratelimit-remaining") != "0":
        return CREDENTIAL_REFUSED  # the token lacks the permission (a fork's PR: read-only)
    return REFUSED


def _refusal(method: str, url: str, e: urllib.error.HTTPError, scope: str = "pull-requests") -> str:
    path = urlsplit(url).path
    what = _message(e) or e.reason
    if e.code == 401:
        return f"GitHub refused the token in GITHUB_TOKEN ({e.code} {what})"
    if e.code == 403 and e.headers.get("x-ratelimit-remaining") != "0":
        return (f"GitHub refused {method} {path} ({e.code} {what}): the token needs {scope}: write "
                "(a pull request from a fork only gets a read-only one)")
    if e.code == 404:
        options = "--repo and --pr" if scope == "pull-requests" else "--repo"
        return f"GitHub has no {path} ({e.code} {what}): check {options}, and that the token can see it"
    return f"GitHub refused {method} {path} ({e.code} {what})"
