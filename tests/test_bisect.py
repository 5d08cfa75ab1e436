"""`commitbench bisect`: the first commit where a figure changed, each step measured for real."""

from __future__ import annotations

import sqlite3

import pytest
from gitrepo import call, command, commit, commitbench_copy, git, slow_decode_step, with_commits, worktrees_of


SCENARIO = "eager[prompt_length=4,new_tokens=4]"
TINY = ["--model", "micro-llama", "--repetitions", "2", "--warmup", "0", "--new-tokens", "4", "--prompt-length", "4"]


@pytest.fixture
def repo(tmp_path):
    return with_commits(tmp_path / "repo", 3)


@pytest.mark.parametrize("args, message", [
    (["--metric", "speed"], "--metric 'speed': not a registered figure"),
    (["--scenario", "warp"], "unknown kind 'warp'"),
    (["--good", "HEAD", "--bad", "HEAD~2"], "is not a descendant of --good"),
    (["--good", "nope"], "--good 'nope' is not a commit of"),
    (["--rounds", "0"], "--rounds must be an integer from 1 to 100"),
    (["--repetitions", "0"], "repetitions must be an integer"),
    (["--install", "{pip} install ."], "--install: unknown placeholder {pip}"),
    (["--report", "x"], "report id must be a number such as 3 or #3, got 'x'"),
    (["--report", "5"], "no results stored yet"),  # no database: no report #5 to record into
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, repo, cb, monkeypatch, capsys, args, message):
    monkeypatch.setenv("COMMITBENCH_HOME", str(cb.home))
    base = ["--repo", repo, "--good", "HEAD~2", "--bad", "HEAD", "--metric", "eager_time_to_next_token_secs",
            "--scenario", "eager", "--workdir", tmp_path / "wd"]
    assert call("bisect", base + args) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("commitbench: error: ") and message in lines[0], err
    assert out == "" and not cb.home.exists() and not (tmp_path / "wd").exists() and worktrees_of(repo) == []


@pytest.mark.slow
def test_bisect_names_the_commit_that_slowed_the_decode_step(tmp_path, cb):
    import subprocess

    repo = commitbench_copy(tmp_path / "repo")
    good = git(repo, "rev-parse", "HEAD")
    first = commit(repo, "first: a note", {"NOTE.txt": "one"})
    slow = commit(repo, "second: slow decode step", slow_decode_step(repo))
    bad = commit(repo, "third: another note", {"NOTE.txt": "two"})
    env = {**cb.env, "OMP_NUM_THREADS": "1"}  # see test_ab
    r = subprocess.run(command("bisect", ["--repo", repo, "--good", good, "--bad", "HEAD", "--metric",
                                          "eager_time_to_next_token_secs", "--scenario", SCENARIO, "--rounds", "1",
                                          "--install", "none", "--workdir", tmp_path / "wd", *TINY]),
                       env=env, capture_output=True, text=True, errors="replace", timeout=400)
    print(r.stdout, r.stderr[-4000:])  # the evidence, shown when the test fails
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0] == f"first bad commit: {slow} second: slow decode step"
    rows = [line.split() for line in lines[2:6]]
    # every commit got measured (the endpoints, then both commits between), oldest first
    assert [row[0] for row in rows] == [good[:8], first[:8], slow[:8], bad[:8]]
    verdicts = [line[50:64].strip() for line in lines[2:6]]
    assert verdicts == ["good endpoint", "good", "bad", "bad endpoint"], r.stdout
    assert lines[4].endswith("<- first bad")
    # then what got slower: the last good commit's profile against the first bad one's (every run profiled)
    assert lines[6:9] == ["", "what got slower (operator profiles):", ""], r.stdout
    assert lines[9].startswith(f"{SCENARIO}: base {first[:8]} (1 profile(s)) -> head {slow[:8]} (1 profile(s))")
    assert "  trace (head): " in r.stdout
    assert worktrees_of(repo) == [] and list((tmp_path / "wd").iterdir()) == []
    with sqlite3.connect(cb.sqlite_path) as db:
        runs = db.execute("SELECT commit_id, branch, status FROM benchmarks ORDER BY started_at").fetchall()
    assert runs == [(good, "bisect", "succeeded"), (bad, "bisect", "succeeded"),
                    (first, "bisect", "succeeded"), (slow, "bisect", "succeeded")]
