"""A stand-in for GitHub's issue-comments REST API: a real HTTP server on 127.0.0.1, for
testing `commitbench pr-comment` (and the workflow's comment job) without GitHub.

What it is: the three endpoints a comment kept up to date needs, with the request and
response shapes, status codes and messages of GitHub's REST API reference, keeping the
comments in memory so a test can read them back:

  GET   /repos/{owner}/{repo}/issues/{number}/comments   200 a page of comments, oldest first;
        per_page (default 30, at most 100) and page; a Link header with rel="next"/"last"
        (and "first"/"prev") as GitHub paginates; 404 for an unknown repository or number
  POST  /repos/{owner}/{repo}/issues/{number}/comments   201 the comment, with a Location
        header; 422 "Validation Failed" without a body, or a body over 65536 characters
  PATCH /repos/{owner}/{repo}/issues/comments/{id}       200 the comment; 404; 422 as above
  GET   /repos/{owner}/{repo}/issues                     200 a page of open issues (and pull requests,
        each with a "pull_request" key), newest first, paginated the same way; state=open only
  POST  /repos/{owner}/{repo}/issues                     201 the issue; 422 without a title
  PATCH /repos/{owner}/{repo}/issues/{number}            200 the issue with its new body; 404
  anything else                                          404 {"message": "Not Found"}

Every call needs `Authorization: Bearer <token>` (or `token <token>`): 401 "Bad credentials"
otherwise. A `read_only_token` (what a pull request from a fork gets) may list but gets 403
"Resource not accessible by integration" on writes. A request without a User-Agent gets 403,
as GitHub's API answers one. `echo_credentials` makes a 401's message quote the Authorization
header it refused, as some proxies do. `prefix` serves it under a path, as GitHub Enterprise Server's
/api/v3. Faults a broken or hostile API serves: `loop_pages` makes a list's last page link
rel="next" back to page 1 (a client that follows it never ends); `shapes[(method, path)]` is served
(200) instead of the answer, e.g. a list of numbers where a page of comments belongs. Comments
are posted as `login` (default github-actions[bot], type Bot); `add`
seeds comments by anyone. `requests` records (method, path, query string) of every request.

What it is not: GitHub. No reactions, since/sort filters, markdown rendering, rate limits,
node ids that resolve, or permissions beyond the two tokens.

Sources (GitHub's REST API reference, version 2022-11-28):
  https://docs.github.com/en/rest/issues/comments
  https://docs.github.com/en/rest/issues/issues
  https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
  https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
  https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent
"""

from __future__ import annotations

import argparse
import re
import threading
from urllib.parse import parse_qs

from grafana_stub import JsonHandler, LoopbackServer

MAX_BODY = 65536
DOCS = "https://docs.github.com/rest/issues/comments"
REST = "https://docs.github.com/rest"


class Reply(Exception):
    def __init__(self, status: int, body, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


class GitHubStub(LoopbackServer):
    def __init__(self, token: str = "stub-token", read_only_token: str | None = None,
                 pulls: dict[str, list[int]] | None = None, login: str = "github-actions[bot]",
                 prefix: str = "", echo_credentials: bool = False, loop_pages: bool = False) -> None:
        self.prefix = prefix.rstrip("/")
        self.loop_pages = loop_pages
        self.shapes: dict[tuple[str, str], object] = {}  # (method, path) -> a JSON answer served instead
        # as some proxies and GitHub Enterprise front ends do: a 401 quotes the header it refused
        self.echo_credentials = echo_credentials
        self.token, self.read_only_token, self.login = token, read_only_token, login
        # repository -> issue number -> comments (oldest first); a pull request is an issue
        self.issues: dict[str, dict[int, list[dict]]] = {
            repo: {n: [] for n in numbers} for repo, numbers in (pulls or {"octo/lib": [1]}).items()}
        # repository -> opened issues (not the pull requests above), by number
        self.opened: dict[str, dict[int, dict]] = {repo: {} for repo in self.issues}
        self.requests: list[tuple[str, str, str]] = []
        self._ids = 1000
        self._lock = threading.Lock()

    def __enter__(self) -> GitHubStub:
        self._serve(type("Handler", (_Handler,), {"stub": self}))
        return self

    # ------------------------------------------------------------ reading back

    def comments(self, repo: str, number: int) -> list[dict]:
        return [dict(c) for c in self.issues[repo][number]]

    def add(self, repo: str, number: int, body: str, login: str = "someone", kind: str = "User") -> dict:
        with self._lock:
            return self._create(repo, number, body, login, kind)

    def tracked(self, repo: str) -> list[dict]:
        """The repository's opened issues, oldest first."""
        return [dict(i) for _, i in sorted(self.opened[repo].items())]

    def open_issue(self, repo: str, title: str, body: str, login: str = "someone") -> dict:
        with self._lock:
            return self._new_issue(repo, title, body, [], login)

    # ------------------------------------------------------------ the API

    def handle(self, method: str, path: str, query: str, headers, body):
        with self._lock:
            self.requests.append((method, path, query))
            try:
                if not headers.get("User-Agent"):
                    raise Reply(403, {"message": "Request forbidden by administrative rules. "
                                                 "Please make sure your request has a User-Agent header"})
                if self.prefix and not path.startswith(self.prefix + "/"):
                    raise Reply(404, {"message": "Not Found", "documentation_url": REST})
                role = self._authenticate(headers.get("Authorization", ""))
                if role is None:
                    echo = f" (Authorization: {headers.get('Authorization', '')})" if self.echo_credentials else ""
                    raise Reply(401, {"message": f"Bad credentials{echo}", "documentation_url": REST})
                path = path[len(self.prefix):]
                if (method, path) in self.shapes:
                    return 200, self.shapes[method, path], {}
                if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
                    if method == "GET":
                        return self._list(m.group(1), int(m.group(2)), parse_qs(query), path)
                    if method == "POST":
                        self._writable(role)
                        return self._post(m.group(1), int(m.group(2)), body)
                if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", path):
                    if method == "GET":
                        return self._issues(m.group(1), parse_qs(query), path)
                    if method == "POST":
                        self._writable(role)
                        return self._post_issue(m.group(1), body)
                if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)", path)) and method == "PATCH":
                    self._writable(role)
                    return self._patch_issue(m.group(1), int(m.group(2)), body)
                if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path):
                    if method == "PATCH":
                        self._writable(role)
                        return self._patch(m.group(1), int(m.group(2)), body)
                raise Reply(404, {"message": "Not Found", "documentation_url": REST})
            except Reply as r:
                return r.status, r.body, r.headers

    def _authenticate(self, header: str) -> str | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        if value == self.token:
            return "write"
        if self.read_only_token and value == self.read_only_token:
            return "read"
        return None

    @staticmethod
    def _writable(role: str) -> None:
        if role != "write":
            raise Reply(403, {"message": "Resource not accessible by integration", "documentation_url": DOCS,
                              "status": "403"})

    def _issue(self, repo: str, number: int) -> list[dict]:
        if repo not in self.issues or number not in self.issues[repo]:
            raise Reply(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})
        return self.issues[repo][number]

    def _list(self, repo, number, query, path):
        return self._page(self._issue(repo, number), query, path)

    def _page(self, items, query, path):
        try:
            per_page = min(int((query.get("per_page") or ["30"])[0]), 100)
            page = max(int((query.get("page") or ["1"])[0]), 1)
        except ValueError:
            per_page, page = 30, 1
        last = max(1, -(-len(items) // per_page))
        base = f"{self.url}{path}?per_page={per_page}&page="
        links = []
        if page < last:
            links += [f'<{base}{page + 1}>; rel="next"', f'<{base}{last}>; rel="last"']
        elif self.loop_pages:
            links += [f'<{base}1>; rel="next"']
        if page > 1:
            links += [f'<{base}1>; rel="first"', f'<{base}{page - 1}>; rel="prev"']
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, [dict(c) for c in items[(page - 1) * per_page: page * per_page]], headers

    @staticmethod
    def _check_body(body) -> str:
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise Reply(422, {"message": "Validation Failed", "documentation_url": DOCS, "status": "422",
                              "errors": [{"resource": "IssueComment", "code": "missing_field", "field": "body"}]})
        if len(text) > MAX_BODY:
            raise Reply(422, {"message": "Validation Failed", "documentation_url": DOCS, "status": "422",
                              "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                                          "message": f"body is too long (maximum is {MAX_BODY} characters)"}]})
        return text

    def _post(self, repo, number, body):
        self._issue(repo, number)
        comment = self._create(repo, number, self._check_body(body), self.login, "Bot")
        return 201, comment, {"Location": comment["url"]}

    def _patch(self, repo, comment_id, body):
        text = self._check_body(body)
        for c in (c for issue in self.issues.get(repo, {}).values() for c in issue):
            if c["id"] == comment_id:
                c["body"], c["updated_at"] = text, "2024-01-02T00:00:00Z"
                return 200, dict(c), {}
        raise Reply(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def _issues(self, repo, query, path):
        if repo not in self.opened:
            raise Reply(404, {"message": "Not Found", "documentation_url": REST, "status": "404"})
        pulls = [{"number": n, "title": f"pull request {n}", "body": "", "state": "open",
                  "pull_request": {"url": f"{self.url}/repos/{repo}/pulls/{n}"}} for n in self.issues[repo]]
        both = sorted([*self.opened[repo].values(), *pulls], key=lambda i: -i["number"])  # newest first
        return self._page([dict(i) for i in both], query, path)

    def _post_issue(self, repo, body):
        if repo not in self.opened:
            raise Reply(404, {"message": "Not Found", "documentation_url": REST, "status": "404"})
        if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"].strip():
            raise Reply(422, {"message": "Validation Failed", "status": "422",
                              "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]})
        issue = self._new_issue(repo, body["title"], self._check_body(body), list(body.get("labels") or []),
                                self.login)
        return 201, issue, {"Location": issue["url"]}

    def _patch_issue(self, repo, number, body):
        issue = self.opened.get(repo, {}).get(number)
        if issue is None:
            raise Reply(404, {"message": "Not Found", "documentation_url": REST, "status": "404"})
        issue["body"], issue["updated_at"] = self._check_body(body), "2024-01-02T00:00:00Z"
        return 200, dict(issue), {}

    def _new_issue(self, repo, title, text, labels, login) -> dict:
        number = max([*self.opened[repo], *self.issues[repo], 0]) + 1  # issues and pulls share numbers
        issue = {"number": number, "id": 5000 + number, "title": title, "body": text, "state": "open",
                 "labels": [{"name": n} for n in labels], "user": {"login": login},
                 "url": f"{self.url}/repos/{repo}/issues/{number}",
                 "html_url": f"https://github.com/{repo}/issues/{number}",
                 "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
        self.opened[repo][number] = issue
        return dict(issue)

    def _create(self, repo, number, text, login, kind) -> dict:
        self._ids += 1
        api = f"{self.url}/repos/{repo}"
        comment = {"id": self._ids, "node_id": f"IC_stub{self._ids}", "url": f"{api}/issues/comments/{self._ids}",
                   "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{self._ids}",
                   "body": text, "user": {"login": login, "id": 41898282, "type": kind},
                   "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
                   "issue_url": f"{api}/issues/{number}", "author_association": "NONE"}
        self._issue(repo, number).append(comment)
        return dict(comment)


class _Handler(JsonHandler):
    stub: GitHubStub
    json_type = "application/json; charset=utf-8"

    def answer(self, path: str, query: str, body):
        return self.stub.handle(self.command, path, query, self.headers, body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = JsonHandler.serve


def run_command(command, fixed: list[str], args: tuple[str, ...], *, url: str | None, body: str | None,
                token: str | None, body_file, monkeypatch, capsys, secrets: tuple[str, ...]) -> tuple[int, str, str]:
    """Run a GitHub-posting command module (`add_arguments` / `run`) in this process, as its
    workflow step would: GITHUB_TOKEN set to `token` or unset, `body` written to `body_file`
    (none written when None), `--api-url url` when given, then the test's own `args` (last, so
    they may override). Returns (exit code, stdout, stderr), having checked that no secret
    reached either."""
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    if token is None:
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    else:
        monkeypatch.setenv("GITHUB_TOKEN", token)
    if body is not None:
        body_file.write_text(body, encoding="utf-8")
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    code = command.run(parser.parse_args([*fixed, "--body-file", str(body_file),
                                          *(["--api-url", url] if url else []), *args]))
    out, err = capsys.readouterr()
    assert not any(s in out + err for s in secrets)
    return code, out, err
