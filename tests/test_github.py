"""benchmark/github.py without a network: the marker and the size limit of a body, the token
and API checks, and that a next page only comes from the API's own host. The calls against a
loopback GitHub are in tests/test_workflows.py (pr-comment) and tests/test_issue.py (issue)."""

from __future__ import annotations

import pytest

from benchmark import github
from benchmark.github import MAX_BODY, Failure, api_and_token, next_page, read_body, with_marker

MARKER = "<!-- m -->"


def test_the_marker_goes_first_once():
    assert with_marker("hello\n", MARKER) == f"{MARKER}\nhello\n"
    assert with_marker(f"{MARKER}\nhello\n", MARKER) == f"{MARKER}\nhello\n"


def test_a_body_over_githubs_limit_is_cut_with_a_note():
    body = with_marker("x" * (MAX_BODY + 10), MARKER)
    assert len(body) == MAX_BODY and body.startswith(MARKER) and "cut here" in body


def test_the_api_and_the_token(monkeypatch):
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", " t0k ")
    assert api_and_token(None, "x") == ("https://api.github.com", "t0k")
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example/api/v3/")
    assert api_and_token(None, "x") == ("https://ghe.example/api/v3", "t0k")
    assert api_and_token("http://127.0.0.1:9", "x")[0] == "http://127.0.0.1:9"
    with pytest.raises(Failure, match="--api-url must be an http") as e:
        api_and_token("ftp://h", "x")
    assert e.value.code == 2
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(Failure, match="GITHUB_TOKEN is not set: it is the token the thing is sent with"):
        api_and_token(None, "the thing is sent with")


def test_a_next_page_only_on_the_apis_own_host():
    api = "https://api.github.com"
    link = f'<{api}/repos/o/r/issues?page=2>; rel="next", <{api}/repos/o/r/issues?page=5>; rel="last"'
    assert next_page(link, api) == f"{api}/repos/o/r/issues?page=2"
    assert next_page(f'<{api}/x?page=5>; rel="last"', api) is None and next_page("", api) is None
    with pytest.raises(Failure, match="another host") as e:
        next_page('<https://evil.example/x?page=2>; rel="next"', api)
    assert e.value.code == github.REFUSED


@pytest.mark.parametrize("content, message", [(None, "no such file"), (b"\xff\xfe", "not UTF-8"),
                                              (b"  \n", "is empty")])
def test_a_body_file_that_cannot_be_sent(tmp_path, content, message):
    path = tmp_path / "b.md"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(Failure, match=message) as e:
        read_body(path)
    assert e.value.code == 2


def test_unreachable_is_exit_5():
    with pytest.raises(Failure, match="unreachable") as e:
        github.call("GET", "http://127.0.0.1:1/repos/o/r", "t", "http://127.0.0.1:1")
    assert e.value.code == github.UNREACHABLE == 5
