"""Branch / commit / message / commit order from a real git checkout (benchmark/run/gitinfo.py), and
`commitbench run` picking them up when the flags are left out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime

import pytest

from benchmark.run import gitinfo
from helpers import cli_in_process, read_run, run_cli, run_uid

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MESSAGE = "Speed up the decode loop\n\nLonger body: what changed and why.\n"


def _git(repo, *args, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    clean.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent), **(env or {}))  # ignore the machine's git config
    env = clean
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "myproject"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "checkout", "-q", "-b", "feature/speed")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "Dev")
    (repo / "f.txt").write_text("x\n")
    _git(repo, "add", "f.txt")
    _git(repo, "commit", "-q", "-m", MESSAGE)
    return repo


@pytest.fixture(autouse=True)
def no_ci_variables(monkeypatch):
    for k in list(os.environ):
        if k.startswith("GITHUB_"):
            monkeypatch.delenv(k)


def test_read_from_checkout(repo):
    info = gitinfo.read(repo)
    assert info.branch == "feature/speed"
    assert re.fullmatch(r"[0-9a-f]{40}", info.commit)
    assert info.commit == _git(repo, "rev-parse", "HEAD").strip()
    assert info.message == MESSAGE.strip()
    assert info.repository == "myproject"  # no remote: the checkout's directory name


def test_remote_and_ci_variables(repo, monkeypatch):
    _git(repo, "remote", "add", "origin", "https://example.com/org/myproject.git")
    assert gitinfo.read(repo).repository == "https://example.com/org/myproject.git"
    monkeypatch.setenv("GITHUB_REF_NAME", "ci-branch")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/myproject")
    info = gitinfo.read(repo)
    assert (info.branch, info.repository) == ("ci-branch", "org/myproject")
    monkeypatch.setenv("GITHUB_HEAD_REF", "pr-head")  # pull requests: the head branch wins
    assert gitinfo.read(repo).branch == "pr-head"


def test_detached_head_has_no_branch(repo):
    _git(repo, "checkout", "-q", "--detach")
    info = gitinfo.read(repo)
    assert info.branch is None and info.commit is not None


def test_outside_a_checkout(tmp_path):
    info = gitinfo.read(tmp_path)
    assert (info.branch, info.commit, info.message, info.repository) == (None, None, None, None)


def _second_commit(repo) -> tuple[str, str]:
    """A merge-free second commit with a fixed committer date; returns (first, second)."""
    first = _git(repo, "rev-parse", "HEAD").strip()
    (repo / "f.txt").write_text("y\n")
    _git(repo, "commit", "-q", "-am", "second", "--date", "2020-01-02T03:04:05Z")
    env = {"GIT_COMMITTER_DATE": "2020-01-02T03:04:05Z"}
    _git(repo, "commit", "-q", "--amend", "--no-edit", "--date", "2020-01-02T03:04:05Z", env=env)
    return first, _git(repo, "rev-parse", "HEAD").strip()


def test_commit_facts(repo):
    first, second = _second_commit(repo)
    facts = gitinfo.commit_facts(second, repo)
    assert facts.time == 1577934245.0  # 2020-01-02T03:04:05Z, the committer date
    assert facts.parents == [first] and facts.message == "second"
    assert gitinfo.commit_facts(first, repo).parents == []  # the root commit
    assert gitinfo.commit_facts(first[:10], repo).message == MESSAGE.strip()
    assert gitinfo.commit_facts("abcdef12", repo) is None  # not in this checkout
    assert gitinfo.commit_facts(first, repo.parent) is None  # not a checkout


@pytest.mark.slow
def test_run_takes_identity_from_checkout(cb, repo):
    first, second = _second_commit(repo)
    _git(repo, "remote", "add", "origin", "https://x-access-token:ghs_S3CRET@github.com/org/myproject.git")
    out_json = cb.root / "r.json"
    r = run_cli(["run", "--model", "micro-llama", "--scenarios", "load", "--repetitions", "1", "--json", out_json],
                cb.env, cwd=repo)
    assert r.returncode == 0, r.stderr
    b = read_run(cb.default_url, run_uid(r.stdout))["benchmark"]
    assert b["branch"] == "feature/speed"
    assert b["commit_id"] == second
    assert b["commit_message_full"] == b["commit_message"] == "second"
    # the token in the remote URL reaches neither the database nor the JSON
    assert b["repository"] == "https://github.com/org/myproject.git"
    assert "S3CRET" not in out_json.read_text() and "S3CRET" not in r.stdout + r.stderr
    assert b["commit_time"] == datetime(2020, 1, 2, 3, 4, 5) and b["commit_parents"] == [first]


@pytest.mark.slow
def test_an_explicit_commit_gets_its_own_facts(cb, repo):
    """--commit of an older commit of the checkout: its message, time and parents, not HEAD's."""
    first, _ = _second_commit(repo)
    r = run_cli(["run", "--commit", first, "--model", "micro-llama", "--scenarios", "load", "--repetitions", "1"],
                cb.env, cwd=repo)
    assert r.returncode == 0, r.stderr
    b = read_run(cb.default_url, run_uid(r.stdout))["benchmark"]
    assert (b["commit_id"], b["commit_message_full"], b["commit_parents"]) == (first, MESSAGE.strip(), [])


@pytest.mark.slow
def test_commit_order_given_outside_a_checkout(cb):
    cwd = cb.root / "not-a-repo"
    cwd.mkdir()
    r = run_cli(["run", "--branch", "b", "--commit", "abcd1234", "--message", "m", "--commit-time",
                 "2024-05-06T07:08:09+02:00", "--parents", "1111aaaa,2222bbbb", "--model", "micro-llama",
                 "--scenarios", "load", "--repetitions", "1"], cb.env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    b = read_run(cb.default_url, run_uid(r.stdout))["benchmark"]
    assert b["commit_time"] == datetime(2024, 5, 6, 5, 8, 9) and b["commit_parents"] == ["1111aaaa", "2222bbbb"]


def test_run_outside_a_checkout_needs_the_flags(cb):
    cwd = cb.root / "not-a-repo"
    cwd.mkdir()
    r = cli_in_process(["run", "--model", "micro-llama", "--scenarios", "load"], cb.env, cwd=cwd)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("commitbench: error: no branch given")
    assert not cb.home.exists()
