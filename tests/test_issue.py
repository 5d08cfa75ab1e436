"""`commitbench issue` against the loopback stand-in for GitHub's issues API: one issue per
marker, created once and then edited in place; bad input sends nothing; refusals exit 5-7."""

from __future__ import annotations


import pytest

from benchmark import github as github_client
from benchmark.cli import issue
from github_stub import GitHubStub, run_command

TOKEN = "ghs_stubtoken0123456789"
MARKER = "<!-- commitbench-tracking octo/lib main -->"


@pytest.fixture
def github():
    with GitHubStub(token=TOKEN, read_only_token="ghs_readonly", pulls={"octo/lib": [1, 2]}) as stub:
        yield stub


@pytest.fixture
def post(monkeypatch, capsys, tmp_path):
    """post(url, *args, body=..., token=...) -> (exit code, stdout, stderr), in this process."""

    def call(url: str | None, *args: str, body: str | None = f"{MARKER}\n### regressions\n", token: str | None = TOKEN):
        return run_command(issue, ["--repo", "octo/lib", "--title", "commitbench: regressions on main"], args,
                           url=url, body=body, token=token, body_file=tmp_path / "issue.md",
                           monkeypatch=monkeypatch, capsys=capsys, secrets=(TOKEN, "ghs_readonly"))

    return call


def test_creates_one_issue_then_edits_it(github, post):
    code, out, _ = post(github.url, "--label", "commitbench")
    assert code == 0 and out.startswith("commitbench issue: created issue #3 ")  # after the two pull requests
    code, out, _ = post(github.url, body=f"{MARKER}\n### regressions, later\n")
    assert code == 0 and out.startswith("commitbench issue: updated issue #3 ")
    [i] = github.tracked("octo/lib")
    assert i["title"] == "commitbench: regressions on main" and [lb["name"] for lb in i["labels"]] == ["commitbench"]
    assert i["body"] == f"{MARKER}\n### regressions, later\n"
    assert [m for m, *_ in github.requests] == ["GET", "POST", "GET", "PATCH"]


def test_another_configuration_and_a_quote_by_someone_else_are_left_alone(github, post):
    github.open_issue("octo/lib", "a person's", f"see:\n{MARKER}\n")  # the marker, but not as its first line
    other = github.open_issue("octo/lib", "release", "<!-- commitbench-tracking octo/lib release -->\nold\n")
    for n in range(120):  # pages of other issues: the marker is looked for on every page
        github.open_issue("octo/lib", f"issue {n}", f"body {n}")
    assert post(github.url)[0] == 0
    ours = [i for i in github.tracked("octo/lib") if i["body"].startswith(MARKER)]
    assert len(ours) == 1 and github.tracked("octo/lib")[1] == other
    assert post(github.url, body=f"{MARKER}\nnew\n")[0] == 0
    assert [i["body"] for i in github.tracked("octo/lib") if i["body"].startswith(MARKER)] == [f"{MARKER}\nnew\n"]


@pytest.mark.parametrize("args, body, token, field", [
    (["--repo", "octo"], None, TOKEN, "--repo must be OWNER/NAME"),
    (["--title", " "], None, TOKEN, "--title must be one line of 1-256 characters"),
    (["--label", "a,b"], None, TOKEN, "--label must be a non-empty name without commas"),
    ([], None, None, "GITHUB_TOKEN is not set: it is the token the issue is written with"),
    ([], "no marker here\n", TOKEN, "the body's first line is no marker"),
    ([], " \n", TOKEN, "is empty"),
    (["--api-url", "ftp://x"], None, TOKEN, "--api-url must be an http(s) URL"),
])
def test_bad_input_sends_nothing(github, post, args, body, token, field):
    kw = {} if body is None else {"body": body}
    code, out, err = post(github.url, *args, token=token, **kw)
    assert code == 2 and out == "" and field in err and len(err.strip().splitlines()) == 1
    assert github.requests == []


def test_an_explicit_marker_for_a_body_without_one(github, post):
    code, _, _ = post(github.url, "--marker", "<!-- mine -->", body="plain text\n")
    assert code == 0 and [i["body"] for i in github.tracked("octo/lib")] == ["<!-- mine -->\nplain text\n"]


def test_refusals_have_their_exit_codes(github, post):
    code, _, err = post(github.url, token="ghs_wrong")
    assert code == 6 and "refused the token in GITHUB_TOKEN" in err
    code, _, err = post(github.url, token="ghs_readonly")
    assert code == 6 and "the token needs issues: write" in err
    code, _, err = post(github.url, "--repo", "octo/other")
    assert code == 7 and "404" in err and "check --repo," in err
    assert github.tracked("octo/lib") == []
    with GitHubStub() as gone:
        url = gone.url
    assert post(url)[0] == 5


def test_pages_that_link_back_or_never_end_are_refused(post, monkeypatch):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [1]}, loop_pages=True) as looping:
        code, out, err = post(looping.url)
        assert code == 7 and out == "" and "back at a page already read" in err
        assert len(err.strip().splitlines()) == 1 and len(looping.requests) == 2 and looping.tracked("octo/lib") == []
    monkeypatch.setattr(github_client, "MAX_PAGES", 1)
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [1]}) as stub:
        for n in range(120):
            stub.open_issue("octo/lib", f"issue {n}", f"body {n}")
        code, _, err = post(stub.url)
        assert code == 7 and "more than 1 pages of issues" in err and len(stub.requests) == 1


ISSUES = "/repos/octo/lib/issues"


@pytest.mark.parametrize("method, answer, words", [
    ("GET", [[1]], "the list of issues with a list holding list"),
    ("GET", {"items": []}, "the list of issues with an object"),
    ("GET", [{"body": MARKER, "number": "3"}], "an issue whose 'number' is not an integer"),
    ("POST", [], "with a list holding objects where the issue (an object) belongs"),
])
def test_an_answer_of_an_unexpected_shape_is_one_line(github, post, method, answer, words):
    github.shapes[method, ISSUES] = answer
    code, out, err = post(github.url)
    assert code == 7 and out == "" and words in err, err
    assert err.startswith("commitbench: error: ") and len(err.strip().splitlines()) == 1
