"""Branch / commit / message from a real git checkout (benchmark/gitinfo.py), and
`commitbench run` picking them up when the flags are left out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from benchmark import gitinfo
from helpers import read_run, run_cli, run_uid

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MESSAGE = "Speed up the decode loop\n\nLonger body: what changed and why.\n"


def _git(repo, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent))  # ignore the machine's git config
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


def test_run_takes_identity_from_checkout(cb, repo):
    r = run_cli(["run", "--model", "micro-llama", "--scenarios", "load", "--repetitions", "1"], cb.env, cwd=repo)
    assert r.returncode == 0, r.stderr
    b = read_run(cb.default_url, run_uid(r.stdout))["benchmark"]
    assert b["branch"] == "feature/speed"
    assert b["commit_id"] == _git(repo, "rev-parse", "HEAD").strip()
    assert b["commit_message_full"] == MESSAGE.strip()
    assert b["commit_message"] == MESSAGE.strip()[:70]
    assert b["repository"] == "myproject"


def test_run_outside_a_checkout_needs_the_flags(cb):
    cwd = cb.root / "not-a-repo"
    cwd.mkdir()
    r = run_cli(["run", "--model", "micro-llama", "--scenarios", "load"], cb.env, cwd=cwd)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("commitbench: error: no branch given")
    assert not cb.home.exists()
