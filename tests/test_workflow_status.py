"""The scheduled staleness check (.github/workflows/status.yml calling commitbench-status.yml):
what it declares, and its shell steps run the way a runner runs them (test_workflows.py's
evaluator) against a SQLite file and the loopback stand-in for GitHub's issues API: healthy,
the tracking issue created; stale, the job fails at the end and the same issue is edited."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from github_stub import GitHubStub
from helpers import REPO, child_env
from test_workflows import TOKEN, load, run_job, walk
from verdict_data import T0, history, sha, store_all

MARKER = "<!-- commitbench-tracking octo/lib main -->"


def test_scheduled_daily_and_by_hand_with_least_privilege():
    caller = load("status.yml")
    assert set(caller["on"]) == {"schedule", "workflow_dispatch"} and caller["permissions"] == {}
    job = caller["jobs"]["status"]
    assert job["uses"] == "$/.github/workflows/commitbench-status.yml"
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    doc = load("commitbench-status.yml")
    assert doc["jobs"]["status"]["permissions"] == {"contents": "read", "issues": "write"}
    call = doc["on"]["workflow_call"]
    text = "\n".join(t for _, t in walk(doc))
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(call["inputs"])
    assert set(re.findall(r"secrets\.([\w-]+)", text)) <= set(call["secrets"])
    assert set(job["with"]) <= set(call["inputs"]) and set(job["secrets"]) <= set(call["secrets"])
    assert doc["jobs"]["status"]["steps"][-1]["name"] == "verdict"


class Scheduled:
    """One repository's database and the stub: runs the status job as a schedule event would."""

    def __init__(self, root: Path, stub: GitHubStub) -> None:
        self.root, self.stub, self.runs = root, stub, 0
        self.db = f"sqlite:///{root / 'results.sqlite'}"
        self.workspace = root / "ws"
        self.workspace.mkdir()
        (self.workspace / ".commitbench").symlink_to(REPO)  # the step "check out commitbench"
        self.doc = load("commitbench-status.yml")
        self.inputs = {k: v.get("default") for k, v in self.doc["on"]["workflow_call"]["inputs"].items()}

    def run(self, **inputs):
        self.runs += 1
        temp = self.root / f"run{self.runs}"
        temp.mkdir()
        env = child_env(self.root / "home", self.root / "cache", tmpdir=self.root / "tmp")
        env.update(RUNNER_TEMP=str(temp), GITHUB_WORKSPACE=str(self.workspace), GITHUB_REPOSITORY="octo/lib",
                   GITHUB_SERVER_URL="https://github.com", GITHUB_API_URL=self.stub.url,
                   GITHUB_RUN_ID=str(self.runs), GITHUB_STEP_SUMMARY=str(temp / "summary.md"),
                   GITHUB_EVENT_NAME="schedule")
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # what the skipped install step adds
        github = {"event_name": "schedule", "repository": "octo/lib", "sha": "ab" * 20, "token": TOKEN, "event": {}}
        ctx = {"github": github, "inputs": {**self.inputs, **inputs}, "secrets": {"DATABASE_URL": self.db}}
        return run_job(self.doc["jobs"]["status"], ctx, env, self.workspace, temp / "artifacts"), temp


def hours_ago(h: float) -> float:
    return (time.time() - T0) / 3600 - h


@pytest.mark.slow
def test_healthy_then_stale_one_tracking_issue_edited_in_place(tmp_path, capsys):
    from benchmark.cli import main

    with GitHubStub(token=TOKEN, pulls={"octo/lib": [1]}) as stub:
        s = Scheduled(tmp_path, stub)
        # main's history: 40 commits, a 10 % slower step at commit 20, the newest an hour ago
        runs = history(40, step_at=20, step=0.10, repository="octo/lib")
        for i, r in enumerate(runs):
            r.started_at = r.commit_time = T0 + hours_ago(41 - i) * 3600
            r.finished_at = r.started_at + 10
        store_all(s.db, runs)
        assert main(["detect", "--db", s.db]) == 0
        capsys.readouterr()

        job, temp = s.run()
        assert not job.failed, [(st.name, st.rc, st.output[-2000:]) for st in job.steps]
        assert job.outputs["status"]["outputs"]["code"] == "0"
        [issue] = stub.tracked("octo/lib")
        assert issue["title"] == "commitbench: regressions on main" and issue["labels"] == [{"name": "commitbench"}]
        body = issue["body"]
        assert body.startswith(MARKER + "\n### commitbench: regressions on main (octo/lib)")
        assert "**4 open**" in body and f"`{sha(20)[:12]}`" in body
        assert "#### Benchmarking status" in body and "    ok: 0 of 1 branch/runner stale or failing" in body

        assert main(["reports", "accept", "1", "--by", "alice", "--reason", "a trade-off", "--db", s.db]) == 0
        job, temp = s.run(**{"max-age": "30m"})  # the newest run is an hour old now
        assert job.outputs["status"]["outputs"]["code"] == "10"
        assert job.step("tracking issue").rc == 0  # written before the job fails
        assert job.step("verdict").rc == 10 and [st.name for st in job.steps if st.rc] == ["verdict"]
        [issue] = stub.tracked("octo/lib")  # the same issue, edited
        assert "**3 open**" in issue["body"] and "#### Accepted (1)" in issue["body"]
        assert "    stale: 1 of 1" in issue["body"] and "allowed 30m" in issue["body"]
        assert "stale: 1 of 1" in (temp / "summary.md").read_text()


def test_no_database_secret_fails_with_code_3_and_writes_no_issue(tmp_path):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [1]}) as stub:
        s = Scheduled(tmp_path, stub)
        doc = s.doc["jobs"]["status"]
        env = child_env(tmp_path / "home", tmp_path / "cache", tmpdir=tmp_path / "tmp")
        temp = tmp_path / "t"
        temp.mkdir()
        env.update(RUNNER_TEMP=str(temp), GITHUB_WORKSPACE=str(s.workspace), GITHUB_REPOSITORY="octo/lib",
                   GITHUB_API_URL=stub.url, GITHUB_STEP_SUMMARY=str(temp / "summary.md"))
        ctx = {"github": {"event_name": "schedule", "token": TOKEN, "event": {}}, "inputs": s.inputs, "secrets": {}}
        job = run_job(doc, ctx, env, s.workspace, temp / "a")
        assert job.outputs["status"]["outputs"]["code"] == "3"
        assert not job.step("tracking issue").ran and job.step("verdict").rc == 3
        assert stub.tracked("octo/lib") == []
