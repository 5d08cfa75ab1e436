"""The GitHub Actions workflows: what they declare (triggers, the label gate, permissions,
secrets, pinned actions), and what their shell steps do when run the way a runner runs them.

The shell tests take the `run:` steps of commitbench.yml's jobs, evaluate each step's `if:`
and `env:` with a small evaluator of GitHub's expression syntax (only what these workflows
use), and run them with `bash --noprofile --norc -eo pipefail` (what `shell: bash` runs) in
the environment a runner sets: GITHUB_* variables, RUNNER_TEMP, and the GITHUB_OUTPUT /
GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY files. The database is a temporary SQLite
file, the model micro-llama, GitHub's comment API the loopback stand-in in github_stub.py.
Actions (`uses:`) are not run: checkout is the prepared work tree, setup-python and cache do
nothing, and upload-/download-artifact copy a directory, which is what they amount to for the
next job, with download-artifact's (v5 on) rule for where files land. The install step is
skipped: this checkout's .venv goes on PATH, as the step would put it
(`$COMMITBENCH_DIR/.venv/bin` into GITHUB_PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmark import github as github_client
from benchmark.cli import pr_comment
from benchmark.run.worktrees import Side, Signals, Worktrees, resolve
from gitrepo import DECODE, commit, commitbench_copy, git, slow_decode_step
from github_stub import GitHubStub, run_command
from grafana_stub import NotGrafana
from helpers import REPO, child_env, table_counts

WORKFLOWS = REPO / ".github" / "workflows"
MARKER = "<!-- commitbench-compare -->"
HISTORY = "compare with the baseline's history"  # commitbench.yml's step
TOKEN = "ghs_stubtoken0123456789"
# The first major of each action whose action.yml says `runs: using: node24` (GitHub removed
# node20 from its runners in September 2026); the majors before run on node20.
NODE24_SINCE = {"actions/checkout": 5, "actions/setup-python": 6, "actions/cache": 5,
                "actions/upload-artifact": 6, "actions/download-artifact": 7}
# Dependabot's form: a commit (a tag can be moved, a commit cannot) and its release in a comment.
PIN = re.compile(r"(?P<action>[\w.-]+/[\w.-]+)@(?P<commit>[0-9a-f]{40}) # (?P<release>v(?P<major>\d+)\.\d+\.\d+)")


def load(name: str) -> dict:
    """A workflow as GitHub reads it. PyYAML speaks YAML 1.1, where the key `on` is True."""
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def all_workflows() -> dict[str, dict]:
    return {p.name: load(p.name) for p in sorted(WORKFLOWS.glob("*.yml"))}


def walk(node: Any, path: tuple = ()):
    """(path, string) for every string in a parsed workflow."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))
    elif isinstance(node, str):
        yield path, node


# ---------------------------------------------------------------- GitHub's expressions

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(&&|\|\||==|!=|!|\(|\)|,)|(\d+(?:\.\d+)?)"
                    r"|([A-Za-z_][\w-]*(?:\.(?:[A-Za-z_][\w-]*|\*))*))")
_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def _lookup(ctx: dict, path: str):
    """`github.event.pull_request.labels.*.name`: a missing property is null, `*` maps."""
    values, many = [ctx], False
    for part in path.split("."):
        if part == "*":
            values = [x for v in values for x in (v.values() if isinstance(v, dict) else v or [])]
            many = True
        else:
            values = [v.get(part) if isinstance(v, dict) else None for v in values]
    return values if many else values[0]


def _contains(haystack, needle) -> bool:
    if isinstance(haystack, list):
        return any(str(x).lower() == str(needle).lower() for x in haystack)
    return str(needle).lower() in str(haystack or "").lower()


def _string(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def evaluate(expr: str, ctx: dict, status: str = "success"):
    """One expression: literals, context paths, ! && || == !=, and the functions used here."""
    functions = {
        "always": lambda: True, "success": lambda: status == "success",
        "failure": lambda: status == "failure", "cancelled": lambda: False,
        "contains": _contains, "fromJSON": json.loads, "toJSON": json.dumps,
        "join": lambda items, sep=",": sep.join(map(_string, items)) if isinstance(items, list) else _string(items),
        "startsWith": lambda s, p: _string(s).lower().startswith(_string(p).lower()),
        "format": lambda f, *a: re.sub(r"\{(\d+)\}", lambda m: _string(a[int(m.group(1))]), f),
    }
    out, pos, text = [], 0, expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m and m.end() > pos, f"cannot read the expression at {text[pos:]!r}"
        pos = m.end()
        s, op, num, name = m.groups()
        if s is not None:
            out.append(repr(s[1:-1].replace("''", "'")))
        elif op:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(op, op))
        elif num:
            out.append(num)
        elif name in ("true", "false", "null"):
            out.append({"true": "True", "false": "False", "null": "None"}[name])
        elif text[pos:].lstrip().startswith("("):
            assert name in functions, f"function {name} is not in the evaluator"
            out.append(f"_f[{name!r}]")
        else:
            out.append(f"_get({name!r})")
    return eval("".join(out), {"__builtins__": {}}, {"_f": functions, "_get": lambda p: _lookup(ctx, p)})


def substitute(value, ctx: dict, status: str = "success"):
    """`${{ }}` in a workflow value: the value itself when it is one expression, else text."""
    if not isinstance(value, str):
        return value
    whole = _EXPR.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), ctx, status)
    return _EXPR.sub(lambda m: _string(evaluate(m.group(1), ctx, status)), value)


def condition(value, ctx: dict, status: str) -> bool:
    """A step's or job's `if:`; without a status function it means `success() && (...)`."""
    if value is None:
        return status == "success"
    text = str(value).strip()
    text = _EXPR.fullmatch(text).group(1) if _EXPR.fullmatch(text) else text
    if not re.search(r"\b(always|success|failure|cancelled)\(", text):
        text = f"success() && ({text})"
    return bool(evaluate(text, ctx, status))


# ---------------------------------------------------------------- static checks


def test_every_workflow_parses_and_none_uses_pull_request_target():
    flows = all_workflows()
    assert {"benchmark.yml", "commitbench.yml", "tests.yml"} <= set(flows)
    for name, doc in flows.items():
        triggers = doc["on"] if isinstance(doc["on"], (dict, list)) else [doc["on"]]
        assert "pull_request_target" not in triggers, name
        for path, text in walk(doc):  # neither as a trigger (a key) nor in any expression
            assert "pull_request_target" not in [*map(str, path), text], name


def test_benchmark_triggers_push_to_main_and_labelled_pull_requests():
    on = load("benchmark.yml")["on"]
    assert set(on) == {"push", "pull_request"}
    assert on["push"] == {"branches": ["main"]}
    assert set(on["pull_request"]["types"]) == {"opened", "labeled", "reopened", "synchronize"}


def test_tests_workflow_runs_the_fast_tier_on_every_push_and_both_tiers_on_pull_requests():
    """Both through the README's test command, whose arguments go to pytest."""
    doc = load("tests.yml")
    assert set(doc["on"]) == {"push", "pull_request"} and not doc["on"]["push"]  # every branch
    steps = [s for s in doc["jobs"]["tests"]["steps"] if "run" in s]

    def runs(event: str) -> list[str]:
        return [s["run"] for s in steps if condition(s.get("if"), {"github": {"event_name": event}}, "success")]

    assert runs("push") == ['bash tests/run.sh -m "not slow"']
    assert runs("pull_request") == ["bash tests/run.sh"]
    assert re.search(r'^exec python -m pytest tests .*"\$@"', (REPO / "tests" / "run.sh").read_text(), re.M)


def test_a_job_tests_the_worker_on_the_lowest_transformers_the_pyproject_names():
    """#19 item 12: pyproject's floor is tested, pinned, not only the newest release."""
    import tomllib

    floor = next(d for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
                 if d.startswith("transformers"))
    job = load("tests.yml")["jobs"]["lowest-transformers"]
    script = "\n".join(s["run"] for s in job["steps"] if "run" in s)
    pinned = re.search(r"pip install transformers==(\d+)\.(\d+)\.(\d+)$", script, re.M)
    assert pinned and floor == f"transformers>={pinned[1]}.{pinned[2]}", (floor, script)
    assert "bash benchmark/install.sh test" in script and script.index("install.sh") < script.index("==")
    assert re.search(r"pytest tests/test_compat\.py .*tests/test_decode\.py", script)


def _event(action: str, labels=("run-benchmark",), fork=False, label=None) -> dict:
    repo = "octo/lib"
    return {"event_name": "pull_request", "repository": repo, "head_ref": "feature", "ref_name": "7/merge",
            "event": {"action": action, "label": {"name": label} if label else None,
                      "pull_request": {"number": 7, "labels": [{"name": n} for n in labels],
                                       "head": {"sha": "ab" * 20,
                                                "repo": {"full_name": "someone/lib" if fork else repo}},
                                       "base": {"sha": "cd" * 20}}}}


GATE_CASES = [
    ({"event_name": "push", "repository": "octo/lib", "ref_name": "main", "event": {}}, True),
    (_event("opened"), True),
    (_event("synchronize"), True),
    (_event("reopened"), True),
    (_event("labeled", label="run-benchmark"), True),
    (_event("synchronize", labels=()), False),
    (_event("opened", labels=("bug",)), False),
    (_event("labeled", labels=("run-benchmark", "bug"), label="bug"), False),  # another label: nothing
    (_event("labeled", fork=True, label="run-benchmark"), True),  # a maintainer labelled the fork's PR
    (_event("synchronize", fork=True), False),  # the fork pushed again: needs the label again
    (_event("opened", fork=True), False),
]


@pytest.mark.parametrize("github,runs", GATE_CASES)
def test_the_label_gate(github, runs):
    job = load("benchmark.yml")["jobs"]["commitbench"]
    assert condition(job["if"], {"github": github}, "success") is runs


def test_one_concurrency_group_per_branch_cancelling_only_pull_requests():
    job = load("benchmark.yml")["jobs"]["commitbench"]
    group, cancel = job["concurrency"]["group"], job["concurrency"]["cancel-in-progress"]
    pr, push = _event("synchronize"), {"event_name": "push", "ref_name": "main"}
    assert substitute(group, {"github": pr}) == "benchmark-feature"
    assert substitute(group, {"github": push}) == "benchmark-main"
    assert substitute(cancel, {"github": pr}) is True and substitute(cancel, {"github": push}) is False


def test_least_privilege_permissions():
    for name, doc in all_workflows().items():
        assert doc.get("permissions") in ({}, {"contents": "read"}), f"{name}: top-level permissions"
        for job_name, job in doc["jobs"].items():
            assert "permissions" in job, f"{name}:{job_name} has no permissions"
    jobs = load("commitbench.yml")["jobs"]
    assert jobs["benchmark"]["permissions"] == {"contents": "read"}
    assert jobs["comment"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    # the caller grants the reusable workflow's most; nothing else writes anywhere
    caller = load("benchmark.yml")["jobs"]["commitbench"]
    assert caller["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert caller["uses"] == "$/.github/workflows/commitbench.yml"
    assert load("tests.yml")["jobs"]["tests"]["permissions"] == {"contents": "read"}


def test_no_expression_in_any_run_script():
    """Secrets, event fields (PR title, branch names, commit messages, labels) and inputs
    reach scripts only as environment variables: nothing is pasted into shell code."""
    for name, doc in all_workflows().items():
        for job_name, job in doc["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    assert "${{" not in step["run"], f"{name}:{job_name}:{step.get('name')}"


def test_secrets_and_untrusted_fields_appear_only_in_env_or_a_secrets_mapping():
    untrusted = re.compile(r"github\.(head_ref|event\.(pull_request\.(title|body|head\.ref|labels)|"
                           r"head_commit|commits|label))")
    for name, doc in all_workflows().items():
        for path, text in walk(doc):
            for expr in _EXPR.findall(text):
                if "secrets." in expr:
                    allowed = (len(path) >= 2 and path[-2] == "env") or path[-2:-1] == ("secrets",)
                    assert allowed, f"{name}: a secret at {'.'.join(map(str, path))}"
                if untrusted.search(expr):
                    # only as data: env, an `if:`, the concurrency group's name
                    assert path[-2] == "env" or path[-1] in ("if", "group"), \
                        f"{name}: untrusted {expr.strip()} at {'.'.join(map(str, path))}"
    # the seed's secret names still feed the database settings
    secrets = load("benchmark.yml")["jobs"]["commitbench"]["secrets"]
    assert secrets["PGHOST"] == "${{ secrets.TRANSFORMERS_BENCHMARKS_PGHOST }}"
    assert secrets["PGPASSWORD"] == "${{ secrets.TRANSFORMERS_BENCHMARKS_PGPASSWORD }}"


def test_inputs_secrets_and_step_outputs_that_are_used_exist():
    doc = load("commitbench.yml")
    call = doc["on"]["workflow_call"]
    inputs, secrets = call["inputs"], call["secrets"]
    for spec in inputs.values():
        assert spec["type"] in ("string", "boolean", "number") and "default" in spec
    text = "\n".join(t for _, t in walk(doc))  # what GitHub reads: not the comments
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(inputs)
    assert set(re.findall(r"secrets\.([\w-]+)", text)) <= set(secrets)
    caller = load("benchmark.yml")["jobs"]["commitbench"]
    assert set(caller["with"]) <= set(inputs) and set(caller["secrets"]) <= set(secrets)
    assert all(isinstance(labels, list) for labels in json.loads(inputs["runners"]["default"]))
    for job_name, job in doc["jobs"].items():
        written = {s["id"]: set(re.findall(r'echo "([\w-]+)=', s.get("run", ""))) for s in job["steps"] if "id" in s}
        for _, value in walk(job):
            for step_id, key in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", value):
                assert key in written.get(step_id, ()), f"{job_name}: steps.{step_id}.outputs.{key} is never written"
    bench = doc["jobs"]["benchmark"]
    assert bench["strategy"]["matrix"]["runner"] == "${{ fromJSON(inputs.runners) }}"
    assert bench["runs-on"] == "${{ matrix.runner }}"


def test_every_action_is_pinned_to_the_commit_of_a_release_that_runs_on_node24():
    """`uses: OWNER/NAME@<commit> # vX.Y.Z` (the comment is YAML's, so read from the text), a
    major that runs on node24, one release of an action everywhere; this repository's own
    reusable workflows as `$/PATH` (the caller's commit, never the runner's files)."""
    pins: dict[str, set[tuple[str, str]]] = {}
    for name, doc in all_workflows().items():
        written = [line.split("uses:", 1)[1].strip() for line in (WORKFLOWS / name).read_text().splitlines()
                   if re.match(r"\s*(- )?uses:", line)]
        for path, text in walk(doc):
            if path[-1] != "uses":
                continue
            if text.startswith("$/"):
                assert (REPO / text[2:]).is_file(), f"{name}: {text}"
                continue
            pinned = [m for value in written if (m := PIN.fullmatch(value)) and value.startswith(text + " #")]
            assert pinned, f"{name}: {text} is not pinned as OWNER/NAME@<40-hex commit> # vX.Y.Z"
            m = pinned[0]
            assert m["action"] in NODE24_SINCE, f"{name}: {text} (known actions: {sorted(NODE24_SINCE)})"
            assert int(m["major"]) >= NODE24_SINCE[m["action"]], f"{name}: {m[0]} runs on node20"
            pins.setdefault(m["action"], set()).add((m["commit"], m["release"]))
    assert set(pins) == set(NODE24_SINCE)
    assert all(len(releases) == 1 for releases in pins.values()), pins


def _beside_python(tool: str) -> str:
    """The test extra's wheels put their executables beside the interpreter (.venv/bin)."""
    path = Path(sys.executable).parent / tool
    assert path.is_file(), f"{tool} is not beside {sys.executable}: install the test extra (.[test])"
    return str(path)


@pytest.mark.slow
def test_actionlint_finds_nothing():
    """With ShellCheck on every run: script (its wheel's binary, not whatever PATH has)."""
    r = subprocess.run([_beside_python("actionlint"), "-no-color", "-shellcheck", _beside_python("shellcheck"),
                        "-pyflakes=", *map(str, sorted(WORKFLOWS.glob("*.yml")))],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r.stdout + r.stderr


@pytest.mark.slow
def test_zizmor_finds_nothing():
    """Its offline audits; a finding that must stay is ignored inline, with its reason."""
    r = subprocess.run([_beside_python("zizmor"), "--offline", "--no-progress", "--color=never", str(WORKFLOWS)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "No findings to report" in r.stdout, r.stdout + r.stderr


def test_artifacts_are_uploaded_whatever_happened():
    steps = load("commitbench.yml")["jobs"]["benchmark"]["steps"]
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert len(upload) == 1 and upload[0]["if"] == "always()"
    assert steps[-1]["name"] == "verdict"  # the job fails, if it does, after everything else


def test_every_run_script_is_valid_bash():
    for name, doc in all_workflows().items():
        for job in doc["jobs"].values():
            for step in job.get("steps", []):
                if "run" in step:
                    r = subprocess.run(["bash", "-n"], input=step["run"], text=True, capture_output=True)
                    assert r.returncode == 0, f"{name}:{step.get('name')}: {r.stderr}"


def _verdict(run_code: str, compare_code: str, fail_on_incomparable: bool = False) -> int:
    [step] = [s for s in load("commitbench.yml")["jobs"]["benchmark"]["steps"] if s["name"] == "verdict"]
    env = {"PATH": os.environ["PATH"], "RUN_CODE": run_code, "COMPARE_CODE": compare_code,
           "FAIL_ON_INCOMPARABLE": _string(fail_on_incomparable)}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                          capture_output=True).returncode


@pytest.mark.parametrize("run_code,compare_code,fail_on_incomparable,expected", [
    ("0", "", False, 0),  # a push: no compare
    ("0", "0", False, 0),
    ("0", "8", False, 8),
    ("1", "8", False, 8),  # a scenario failed on head and succeeded on base: the regression wins
    ("1", "0", False, 1),  # failed on both: still a failed scenario
    ("4", "", False, 4),
    ("0", "9", False, 0),  # could not compare: reported, not failed
    ("0", "9", True, 9),
    ("0", "3", False, 3),  # the database went away between run and compare
])
def test_verdict(run_code, compare_code, fail_on_incomparable, expected):
    assert _verdict(run_code, compare_code, fail_on_incomparable) == expected


def test_no_comment_job_for_a_fork_or_a_push():
    job = load("commitbench.yml")["jobs"]["comment"]
    ctx = {"inputs": {"comment": True}, "needs": {"benchmark": {"result": "failure"}}}
    assert condition(job["if"], {**ctx, "github": _event("synchronize")}, "failure")  # after a failed benchmark too
    assert not condition(job["if"], {**ctx, "github": _event("labeled", fork=True, label="run-benchmark")}, "success")
    assert not condition(job["if"], {**ctx, "github": GATE_CASES[0][0]}, "success")
    assert not condition(job["if"], {**ctx, "inputs": {"comment": False}, "github": _event("synchronize")}, "success")


def _one_step(name: str, ctx: dict, env: dict[str, str], workspace: Path, temp: Path) -> Job:
    """One step of the benchmark job, run as the runner runs it (run_job, below)."""
    [step] = [s for s in load("commitbench.yml")["jobs"]["benchmark"]["steps"] if s["name"] == name]
    temp.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(temp), "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(workspace),
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_STEP_SUMMARY": str(temp / "summary.md"), **env}
    return run_job({"steps": [step]}, ctx, env, workspace, temp / "artifacts")


@pytest.mark.parametrize("verdict,ok", [("ab", True), ("history", True), ("AB", False), ("", False)])
def test_pr_verdict_is_checked_before_anything_is_measured(tmp_path, verdict, ok):
    ctx = {"github": _event("synchronize"), "inputs": {"pr-verdict": verdict, "model": "", "inductor-cache": "fresh"},
           "matrix": {"runner": ["self-hosted", "gpu"]}}
    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "models.py").write_text("")
    job = _one_step("paths and cache keys", ctx, {}, tmp_path, tmp_path / "temp")
    [step] = job.steps
    if ok:
        assert step.rc == 0, step.output
    else:
        assert step.rc == 2 and f"::error::input pr-verdict: '{verdict}' is not one of: ab, history" in step.output
        assert not (tmp_path / "temp" / "commitbench").exists()  # nothing made


def test_the_merge_base_is_found_from_the_checkouts_shallow_clone(tmp_path):
    """The checkout holds the head and its parent (fetch-depth 2); main moved on by 150
    commits since the pull request branched 120 commits ago: the step deepens both sides
    until they meet, and answers the branch point, not main's tip."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "root")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "branch point")
    fork = _git(origin, "rev-parse", "HEAD")
    _git(origin, "checkout", "-q", "-b", "feature")
    for i in range(120):
        _git(origin, "commit", "-q", "--allow-empty", "-m", f"feature {i}")
    head = _git(origin, "rev-parse", "HEAD")
    _git(origin, "checkout", "-q", "main")
    for i in range(150):
        _git(origin, "commit", "-q", "--allow-empty", "-m", f"main {i}")
    tip = _git(origin, "rev-parse", "HEAD")
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "--depth=2", "--no-tags", "--branch", "feature", f"file://{origin}",
                    str(work)], check=True, capture_output=True)
    assert _git(work, "rev-parse", "--is-shallow-repository") == "true"
    github = _event("synchronize")
    github["event"]["pull_request"]["head"]["sha"] = head
    ctx = {"github": {**github, "token": TOKEN}, "inputs": {"pr-verdict": "ab", "baseline-branch": "main"}}
    job = _one_step("find the merge-base with the baseline branch", ctx, {}, work, tmp_path / "temp")
    assert not job.failed, _explain(job)
    assert job.outputs["merge-base"]["outputs"]["merge-base"] == fork != tip
    assert _git(work, "rev-parse", "refs/remotes/origin/main") == tip
    assert f"against its merge-base with main, {fork[:8]}" in job.steps[0].output
    # a baseline with no commit in common: a one-line error, the step fails
    _git(origin, "checkout", "-q", "--orphan", "unrelated")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "unrelated root")
    ctx["inputs"]["baseline-branch"] = "unrelated"
    job = _one_step("find the merge-base with the baseline branch", ctx, {}, work, tmp_path / "temp2")
    assert job.steps[0].rc == 2 and "have no commit in common: nothing to A/B against" in job.steps[0].output


# ---------------------------------------------------------------- commitbench pr-comment


@pytest.fixture
def github():
    with GitHubStub(token=TOKEN, read_only_token="ghs_readonly", pulls={"octo/lib": [7]}) as stub:
        yield stub


@pytest.fixture
def comment(monkeypatch, capsys, tmp_path):
    """comment(url, *args, body=..., token=...) -> (exit code, stdout, stderr), in this process."""

    def call(url: str | None, *args: str, body: str | None = "| figure | base | head |\n", token: str | None = TOKEN):
        return run_command(pr_comment, ["--repo", "octo/lib", "--pr", "7"], args, url=url, body=body, token=token,
                           body_file=tmp_path / "body.md", monkeypatch=monkeypatch, capsys=capsys,
                           secrets=(TOKEN, "ghs_readonly"))

    return call


def test_pr_comment_creates_one_comment_then_edits_it(github, comment):
    code, out, _ = comment(github.url, body="first\n")
    assert code == 0 and "created comment" in out
    code, out, _ = comment(github.url, body=f"{MARKER}\nsecond\n")
    assert code == 0 and "updated comment" in out
    [c] = github.comments("octo/lib", 7)
    assert c["body"] == f"{MARKER}\nsecond\n"  # the marker is not doubled
    assert [m for m, *_ in github.requests] == ["GET", "POST", "GET", "PATCH"]


def test_pr_comment_pages_through_comments_and_edits_only_its_own(github, comment):
    for i in range(130):
        github.add("octo/lib", 7, f"comment {i}")
    github.add("octo/lib", 7, f"{MARKER}\nquoted by a person", login="someone")
    ours = github.add("octo/lib", 7, f"{MARKER}\nold", login="github-actions[bot]", kind="Bot")
    code, _, _ = comment(github.url, "--author", "github-actions[bot]", body="new\n")
    assert code == 0
    bodies = {c["id"]: c["body"] for c in github.comments("octo/lib", 7)}
    assert bodies[ours["id"]] == f"{MARKER}\nnew\n" and len(bodies) == 132
    assert f"{MARKER}\nquoted by a person" in bodies.values()
    assert [q for m, _, q in github.requests if m == "GET"] == ["per_page=100", "per_page=100&page=2"]


def test_pr_comment_on_github_enterprise_server_paths(comment):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}, prefix="/api/v3") as ghes:
        code, _, _ = comment(ghes.url + "/")
        assert code == 0 and len(ghes.comments("octo/lib", 7)) == 1
        assert all(p.startswith("/api/v3/repos/octo/lib/") for _, p, _ in ghes.requests)


def test_pr_comment_cuts_a_body_over_githubs_limit(github, comment):
    code, _, _ = comment(github.url, body="x" * 70_000)
    [c] = github.comments("octo/lib", 7)
    assert code == 0 and len(c["body"]) == 65536 and c["body"].startswith(MARKER)
    assert "job summary and artifacts" in c["body"]


@pytest.mark.parametrize("args,body,token,field", [
    (["--repo", "octo"], "x", TOKEN, "--repo"),
    (["--repo", "octo/lib; rm -rf /"], "x", TOKEN, "--repo"),
    (["--pr", "0"], "x", TOKEN, "--pr"),
    (["--pr", "7a"], "x", TOKEN, "--pr"),
    (["--marker", " "], "x", TOKEN, "--marker"),
    (["--api-url", "file:///etc"], "x", TOKEN, "--api-url"),
    ([], "x", None, "GITHUB_TOKEN"),
    ([], None, TOKEN, "no such file"),
    ([], " \n", TOKEN, "is empty"),
])
def test_pr_comment_bad_input_sends_nothing(github, comment, args, body, token, field):
    code, out, err = comment(github.url, *args, body=body, token=token)
    assert code == 2 and out == "" and field in err and len(err.strip().splitlines()) == 1
    assert github.requests == []


def test_pr_comment_refusals_have_their_exit_codes(github, comment, tmp_path):
    code, _, err = comment(github.url, token="ghs_wrong")
    assert code == 6 and "refused the token in GITHUB_TOKEN" in err and "ghs_wrong" not in err
    code, _, err = comment(github.url, token="ghs_readonly")  # what a fork's pull request gets
    assert code == 6 and "pull-requests: write" in err and "Resource not accessible by integration" in err
    code, _, err = comment(github.url, "--pr", "8")
    assert code == 7 and "404" in err
    assert github.comments("octo/lib", 7) == []


def test_pr_comment_unreachable_or_not_github(comment, tmp_path):
    with GitHubStub() as gone:
        url = gone.url
    code, _, err = comment(url)
    assert code == 5 and "unreachable" in err
    page = tmp_path / "site" / "repos" / "octo" / "lib" / "issues" / "7" / "comments"
    page.parent.mkdir(parents=True)
    page.write_text("<html>a web page</html>")
    with NotGrafana(str(tmp_path / "site")) as web:
        code, _, err = comment(web.url)
    assert code == 5 and "not answer JSON" in err


def test_pr_comment_refuses_pages_that_link_back(comment):
    """A Link: rel="next" back to an earlier page was followed forever (55,000+ requests a minute)."""
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}, loop_pages=True) as looping:
        for i in range(150):
            looping.add("octo/lib", 7, f"comment {i}")
        code, out, err = comment(looping.url)
        assert code == 7 and out == "" and len(err.strip().splitlines()) == 1
        assert "back at a page already read" in err
        assert [q for _, _, q in looping.requests] == ["per_page=100", "per_page=100&page=2", "per_page=100&page=1"]
        assert looping.comments("octo/lib", 7)[-1]["body"] == "comment 149"  # nothing posted


def test_pr_comment_reads_at_most_max_pages(github, comment, monkeypatch):
    monkeypatch.setattr(github_client, "MAX_PAGES", 2)
    for i in range(250):
        github.add("octo/lib", 7, f"comment {i}")
    code, _, err = comment(github.url)
    assert code == 7 and "more than 2 pages of comments" in err and len(err.strip().splitlines()) == 1
    assert len(github.requests) == 2


COMMENTS = "/repos/octo/lib/issues/7/comments"


@pytest.mark.parametrize("method, path, answer, words", [
    ("GET", COMMENTS, [1, 2], "a list holding int, not a list of objects"),
    ("GET", COMMENTS, ["a"], "a list holding str"),
    ("GET", COMMENTS, {"message": "hi"}, "answered the list of comments with an object"),
    ("GET", COMMENTS, None, "with null"),
    ("GET", COMMENTS, [{"body": MARKER, "id": "12"}], "a comment whose 'id' is not an integer"),
    ("POST", COMMENTS, [{"id": 1}], "with a list holding objects where the comment (an object) belongs"),
    ("POST", COMMENTS, 42, "with a number where the comment"),
])
def test_pr_comment_an_answer_of_an_unexpected_shape_is_one_line(github, comment, method, path, answer, words):
    github.shapes[method, path] = answer
    code, out, err = comment(github.url)
    assert code == 7 and out == "" and words in err, err
    assert err.startswith("commitbench: error: ") and len(err.strip().splitlines()) == 1


def test_pr_comment_a_comment_whose_user_is_no_object_is_not_ours(github, comment):
    github.shapes["GET", COMMENTS] = [{"body": MARKER, "id": 5, "user": ["github-actions[bot]"]}]
    code, out, _ = comment(github.url, "--author", "github-actions[bot]")
    assert code == 0 and "created comment" in out


def test_pr_comment_runs_as_a_file_with_a_bare_python(github, tmp_path):
    """How the comment job runs it: system python3, commitbench not installed."""
    (tmp_path / "b.md").write_text("hello\n")
    env = {"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url}
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    r = subprocess.run([python, str(REPO / "benchmark/cli/pr_comment.py"), "--repo", "octo/lib", "--pr", "7",
                        "--body-file", str(tmp_path / "b.md")], env=env, capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert [c["body"] for c in github.comments("octo/lib", 7)] == [f"{MARKER}\nhello\n"]


# ---------------------------------------------------------------- the shell steps, run


@dataclass
class Step:
    name: str
    ran: bool
    rc: int = 0
    output: str = ""


@dataclass
class Job:
    steps: list[Step] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    @property
    def failed(self) -> bool:
        return any(s.rc for s in self.steps)


def _read_commands(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV lines: NAME=value, or NAME<<DELIMITER ... DELIMITER."""
    found, lines = {}, path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        if "<<" in lines[i] and ("=" not in lines[i] or lines[i].index("<<") < lines[i].index("=")):
            key, delim = lines[i].split("<<", 1)
            end = lines.index(delim, i + 1)
            found[key], i = "\n".join(lines[i + 1:end]), end + 1
        else:
            key, _, value = lines[i].partition("=")
            found[key], i = value, i + 1
    return found


def run_job(job: dict, ctx: dict, env: dict[str, str], workspace: Path, artifacts: Path,
            skip: tuple[str, ...] = ("install",)) -> Job:
    """The job's steps in order, as a runner runs them (see the module docstring)."""
    result, env = Job(), dict(env)
    temp = Path(env["RUNNER_TEMP"])
    ctx = {**ctx, "steps": result.outputs, "runner": {"temp": str(temp), "os": "Linux"}}
    for n, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {n}"
        status = "failure" if result.failed else "success"
        ctx["env"] = env
        if not condition(step.get("if"), ctx, status) or step.get("id") in skip:
            result.steps.append(Step(name, ran=False))
            continue
        with_ = {k: _string(substitute(v, ctx, status)) for k, v in (step.get("with") or {}).items()}
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "actions/upload-artifact":
                shutil.copytree(with_["path"], artifacts / with_["name"], dirs_exist_ok=True)
            elif action == "actions/download-artifact":
                # its rule: each artifact into path/NAME, unless merge-multiple or only one matched
                prefix = with_["pattern"].rstrip("*")
                found = [a for a in sorted(artifacts.iterdir()) if a.name.startswith(prefix)]
                merge = with_.get("merge-multiple") == "true" or len(found) == 1
                for a in found:
                    shutil.copytree(a, Path(with_["path"]) / ("" if merge else a.name), dirs_exist_ok=True)
            result.steps.append(Step(name, ran=True))
            continue
        files = {k: temp / f"{n}.{k}" for k in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
        for f in files.values():
            f.write_text("")
        step_env = {k: _string(substitute(v, ctx, status)) for k, v in (step.get("env") or {}).items()}
        script = temp / f"{n}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              env={**env, **step_env, **{k: str(v) for k, v in files.items()}},
                              cwd=workspace, capture_output=True, text=True, errors="replace", timeout=600)
        result.steps.append(Step(name, ran=True, rc=proc.returncode, output=proc.stdout + proc.stderr))
        if "id" in step:
            result.outputs[step["id"]] = {"outputs": _read_commands(files["GITHUB_OUTPUT"])}
        env.update(_read_commands(files["GITHUB_ENV"]))
        for p in reversed(files["GITHUB_PATH"].read_text().split()):
            env["PATH"] = f"{p}:{env['PATH']}"
    return result


BENCH_TOML = """\
model = "micro-llama"
[defaults]
repetitions = 2
warmup = 0
new_tokens = 4
prompt_length = 4
[[scenarios]]
kind = "load"
[[scenarios]]
kind = "eager"
"""


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class Pipeline:
    """A library's repository that adopted commitbench, one runner, one database, one
    pull request: runs commitbench.yml's jobs for a push or a pull request event."""

    RUNNER = ["self-hosted", "gpu"]
    LEG = "commitbench-self-hosted-gpu"  # the runner's artifact, and the one folder in it

    def out(self, here: Path) -> Path:
        """The benchmark job's COMMITBENCH_OUT."""
        return here / "benchmark-temp" / "commitbench" / self.LEG

    def artifact(self, here: Path) -> Path:
        """What the benchmark job uploaded: its COMMITBENCH_OUT, as the artifact's one folder."""
        return here / "artifacts" / self.LEG / self.LEG

    def __init__(self, root: Path, stub: GitHubStub) -> None:
        self.root, self.stub, self.runs = root, stub, 0
        self.workspace = root / "lib"
        self.home = root / "home"
        self.db = f"sqlite:///{root / 'results.sqlite'}"
        self.doc = load("commitbench.yml")
        call = self.doc["on"]["workflow_call"]
        self.inputs = {k: v.get("default") for k, v in call["inputs"].items()}
        self.inputs.update({"config": "bench.toml", "commitbench-repository": "octo/commitbench"})
        self.bin = REPO / ".venv" / "bin"  # what the skipped install step puts on PATH
        self.make_library()
        _git(self.workspace, "remote", "add", "origin", str(self.workspace))  # for the fetches of the baseline

    def make_library(self) -> None:
        """main with one commit (base), the pull request's branch feature with one more (head)."""
        self.workspace.mkdir()
        _git(self.workspace, "init", "-q", "-b", "main")
        (self.workspace / "bench.toml").write_text(BENCH_TOML)
        _git(self.workspace, "add", "bench.toml")
        _git(self.workspace, "commit", "-q", "-m", "base: the library as on main")
        self.base = _git(self.workspace, "rev-parse", "HEAD")
        _git(self.workspace, "checkout", "-q", "-b", "feature")
        _git(self.workspace, "commit", "-q", "--allow-empty", "-m", "feature: a change under review")
        self.head = _git(self.workspace, "rev-parse", "HEAD")
        (self.workspace / ".commitbench").symlink_to(REPO)  # the step "check out commitbench"

    def env(self, github: dict, temp: Path) -> dict[str, str]:
        env = child_env(self.home, self.home / ".cache" / "commitbench", tmpdir=self.root / "tmp")
        env.update(HOME=str(self.home), RUNNER_TEMP=str(temp), GITHUB_WORKSPACE=str(self.workspace),
                   GITHUB_EVENT_NAME=github["event_name"], GITHUB_REF_NAME=github["ref_name"],
                   GITHUB_HEAD_REF=github.get("head_ref", ""), GITHUB_SHA=github["sha"],
                   GITHUB_REPOSITORY="octo/lib", GITHUB_SERVER_URL="https://github.com",
                   GITHUB_API_URL=self.stub.url, GITHUB_RUN_ID=str(self.runs), GITHUB_ACTIONS="true")
        env["GITHUB_STEP_SUMMARY"] = str(temp / "summary.md")
        return env

    def run(self, github: dict, secrets: dict | None = None, **inputs) -> tuple[Job, Job | None, Path]:
        self.runs += 1
        here = self.root / f"run{self.runs}"
        artifacts, temp = here / "artifacts", here / "benchmark-temp"
        for d in (artifacts, temp):
            d.mkdir(parents=True)
        _git(self.workspace, "checkout", "-q", github["event"].get("pull_request", {}).get("head", {}).get("sha")
             or github["sha"])
        ctx = {"github": github, "inputs": {**self.inputs, **inputs}, "matrix": {"runner": self.RUNNER},
               "secrets": {"DATABASE_URL": self.db} if secrets is None else secrets}
        env = self.env(github, temp)
        env["PATH"] = f"{self.bin}:{env['PATH']}"  # what the skipped install step adds
        bench = run_job(self.doc["jobs"]["benchmark"], ctx, env, self.workspace, artifacts)
        ctx["needs"] = {"benchmark": {"result": "failure" if bench.failed else "success"}}
        comment = None
        job = self.doc["jobs"]["comment"]
        if condition(job["if"], ctx, "success"):
            temp = here / "comment-temp"
            temp.mkdir()
            space = here / "comment-workspace"
            space.mkdir()
            (space / ".commitbench").symlink_to(REPO)
            env = self.env(github, temp)
            env.update(PATH="/usr/local/bin:/usr/bin:/bin")  # a bare runner: no commitbench installed
            comment = run_job(job, {**ctx, "secrets": {}, "github": {**github, "token": TOKEN}}, env, space, artifacts)
        return bench, comment, here

    def new_head(self, message: str) -> None:
        """A new push to the pull request's branch."""
        _git(self.workspace, "checkout", "-q", "feature")
        _git(self.workspace, "commit", "-q", "--allow-empty", "-m", message)
        self.head = _git(self.workspace, "rev-parse", "HEAD")

    def main_moves_on(self, message: str, files: dict[str, str] | None = None) -> str:
        """A commit on main after the pull request branched; the pull request's branch stays out."""
        _git(self.workspace, "checkout", "-q", "main")  # each run checks out the commit it needs
        for name, text in (files or {}).items():
            (self.workspace / name).write_text(text)
            _git(self.workspace, "add", name)
        _git(self.workspace, "commit", "-q", "--allow-empty", "-m", message)
        return _git(self.workspace, "rev-parse", "HEAD")

    def push(self, sha: str | None = None) -> dict:
        return {"event_name": "push", "ref_name": "main", "sha": sha or self.base, "repository": "octo/lib",
                "event": {}}

    def pull_request(self, action: str = "synchronize", **kw) -> dict:
        github = _event(action, **kw)
        github["event"]["pull_request"]["head"]["sha"] = self.head
        return {**github, "sha": "ef" * 20}  # GITHUB_SHA of a pull_request event: the merge commit


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}) as stub:
        yield Pipeline(tmp_path_factory.mktemp("workflow"), stub)


def _explain(job: Job) -> str:
    return "\n".join(f"--- {s.name}: ran={s.ran} rc={s.rc}\n{s.output[-3000:]}" for s in job.steps)


@pytest.mark.slow
def test_push_to_main_runs_stores_and_detects(pipeline):
    bench, comment, here = pipeline.run(pipeline.push())
    assert not bench.failed, _explain(bench)
    assert comment is None  # no pull request, no comment
    ran = [s.name for s in bench.steps if s.ran]
    assert "detect change points" in ran and not {HISTORY, "A/B against the merge-base"} & set(ran)
    assert bench.outputs["run"]["outputs"]["code"] == "0"
    summary = (here / "benchmark-temp" / "summary.md").read_text()
    detect = (pipeline.out(here) / "detect.md").read_text()
    assert detect.strip() and detect in summary
    leg = pipeline.artifact(here)
    result = json.loads((leg / "result.json").read_text())
    run = result.get("result", result)
    assert (run["branch"], run["commit_id"]) == ("main", pipeline.base)
    assert run["commit_message"] == "base: the library as on main"  # read from the checkout
    assert run["repository"] == "octo/lib"
    assert "<html" in (leg / "report.html").read_text().lower()


@pytest.mark.slow
def test_pull_request_compares_comments_once_and_fails_on_a_regression_only_at_the_end(pipeline):
    if pipeline.runs == 0:  # run alone: main's run first, the baseline
        assert not pipeline.run(pipeline.push())[0].failed
    # pr-verdict history (the old path): one run a side and no history, so compare cannot know
    # the run-to-run noise (9); the job A/Bs the pull request against main on this runner, and that decides.
    bench, comment, here = pipeline.run(pipeline.pull_request("labeled"), **{"pr-verdict": "history", "ab-rounds": 2})
    code = bench.outputs["compare"]["outputs"]["code"]
    assert bench.outputs["run"]["outputs"]["code"] == "0", _explain(bench)
    assert "compare could not decide against main: A/B against it on this runner (2 rounds)" \
        in bench.step(HISTORY).output, _explain(bench)
    assert "round 2/2: base" in bench.step(HISTORY).output
    assert not bench.step("A/B against the merge-base").ran
    assert code in ("0", "8", "9"), _explain(bench)  # figures are timings: any verdict is honest
    compare_md = (pipeline.out(here) / "compare.md").read_text()
    assert compare_md.startswith(MARKER) and "|" in compare_md
    assert compare_md in (here / "benchmark-temp" / "summary.md").read_text()
    if code == "9":  # undecided (two rounds of micro-llama timings may decide nothing): a warning by default
        assert bench.step("verdict").rc == 0 and "::warning::" in bench.step("verdict").output
    else:
        assert bench.step("verdict").rc == int(code)
    assert comment is not None and not comment.failed, _explain(comment)
    [first] = pipeline.stub.comments("octo/lib", 7)
    assert first["body"].startswith(MARKER) and "**runner: self-hosted-gpu**" in first["body"]
    assert first["body"].count(MARKER) == 1 and compare_md.split("\n", 1)[1].strip() in first["body"]
    assert "actions/runs/" + str(pipeline.runs) in first["body"]

    # A new push breaks the model (its checkpoint, here): every scenario fails on head where
    # it succeeded on base, which compare calls a regression.
    pipeline.new_head("feature: breaks the model")
    [checkpoint] = (pipeline.home / ".cache" / "commitbench" / "models").glob("micro-llama-*/model.safetensors")
    checkpoint.write_bytes(b"not a safetensors file")
    try:
        bench, comment, here = pipeline.run(pipeline.pull_request("synchronize"), **{"pr-verdict": "history"})
    finally:
        shutil.rmtree(checkpoint.parent)  # the next run builds it again
    assert bench.outputs["run"]["outputs"]["code"] == "1", _explain(bench)
    assert bench.outputs["compare"]["outputs"]["code"] == "8", _explain(bench)
    verdict = bench.steps[-1]
    assert verdict.name == "verdict" and verdict.rc == 8
    assert all(s.rc == 0 for s in bench.steps[:-1]), _explain(bench)  # only the last step fails
    leg = pipeline.artifact(here)
    assert (leg / "compare.md").read_text() in (here / "benchmark-temp" / "summary.md").read_text()
    assert (leg / "result.json").is_file() and (leg / "report.html").is_file()
    assert comment is not None and not comment.failed, _explain(comment)
    [edited] = pipeline.stub.comments("octo/lib", 7)  # still one comment, edited
    assert edited["id"] == first["id"] and edited["body"] != first["body"]
    assert "benchmark jobs: failure" in edited["body"] and "failed on head" in edited["body"]
    assert "actions/runs/" + str(pipeline.runs) in edited["body"]
    assert [m for m, *_ in pipeline.stub.requests if m != "GET"] == ["POST", "PATCH"]


@pytest.mark.slow
def test_a_forks_pull_request_gets_no_secret_stores_apart_and_is_not_failed_for_it(pipeline):
    """No database secret: the job's own SQLite file, nothing to compare with ("could not
    compare", 9: a warning), no comment (the token is read-only), and the shared database untouched."""
    if pipeline.runs == 0:
        assert not pipeline.run(pipeline.push())[0].failed
    before = table_counts(pipeline.db)
    comments = pipeline.stub.comments("octo/lib", 7)
    bench, comment, here = pipeline.run(pipeline.pull_request("labeled", fork=True, label="run-benchmark"),
                                        secrets={}, **{"pr-verdict": "history"})
    assert bench.outputs["run"]["outputs"]["code"] == "0", _explain(bench)
    assert bench.outputs["compare"]["outputs"]["code"] == "9", _explain(bench)
    assert not bench.failed and "::warning::could not compare" in bench.step("verdict").output
    assert "no baseline to compare with" in (here / "benchmark-temp" / "summary.md").read_text()
    assert "no database secret" in bench.step("benchmark").output
    assert (pipeline.artifact(here) / "commitbench.sqlite").is_file()
    assert comment is None and pipeline.stub.comments("octo/lib", 7) == comments
    assert table_counts(pipeline.db) == before


# ---------------------------------------------------------------- pr-verdict ab: the A/B decides


def _ab_is_sequential() -> bool:
    """commitbench ab with --max-rounds, --min-rounds, --prior-branch (issue 18, item 2): what
    pr-verdict ab runs."""
    from benchmark.cli import ab
    parser = argparse.ArgumentParser()
    ab.add_arguments(parser)
    return all(option in parser.format_help() for option in ("--max-rounds", "--min-rounds", "--prior-branch"))


sequential_ab = pytest.mark.skipif(not _ab_is_sequential(), reason="commitbench ab has no --max-rounds, "
                                   "--min-rounds, --prior-branch yet (issue 18, item 2)")
MERGE_BASE, AB = "find the merge-base with the baseline branch", "A/B against the merge-base"
ROUNDS_LINE = re.compile(r"^A/B: .*$", re.M)


def _stored(db_url: str) -> set[tuple[str, str, str]]:
    """(benchmark_id, branch, commit_id) of every stored run."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
        return set(db.execute("SELECT benchmark_id, branch, commit_id FROM benchmarks"))


def _check_ab_job(pipeline: Pipeline, bench: Job, here: Path, merge_base: str, db_url: str,
                  before: set) -> tuple[str, str]:
    """What every pr-verdict ab job shows; (the A/B's exit code, its rounds line)."""
    ran = {s.name for s in bench.steps if s.ran}
    assert {HISTORY, MERGE_BASE, AB} <= ran, _explain(bench)
    assert all(s.rc == 0 for s in bench.steps if s.name != "verdict"), _explain(bench)
    assert bench.outputs["merge-base"]["outputs"]["merge-base"] == merge_base, _explain(bench)
    code = bench.outputs["ab"]["outputs"]["code"]
    assert code in ("0", "8", "9"), _explain(bench)
    # the A/B measured the merge-base against the head, one run of each a round
    new = _stored(db_url) - before
    base = [c for _, b, c in new if re.fullmatch(r"ab/[0-9a-f]{8}/base", b or "")]
    head = [c for _, b, c in new if re.fullmatch(r"ab/[0-9a-f]{8}/head", b or "")]
    assert set(base) == {merge_base} and set(head) == {pipeline.head} and len(base) == len(head) >= 1, new
    out = pipeline.out(here)
    ab_md, history_md, compare_md = ((out / n).read_text() for n in ("ab.md", "history.md", "compare.md"))
    [rounds] = ROUNDS_LINE.findall(ab_md)  # how many rounds ran and why they stopped
    # every A/B run's profile trace is in the artifact, where the comment says they are
    traced = [d for d in (out / "profiles").iterdir() if any(d.glob("*.json*"))]
    assert len(traced) == len(base) + len(head), sorted(p.name for p in (out / "profiles").rglob("*"))
    # the A/B's report first, the history compare beneath it, collapsed, as context
    assert compare_md.startswith(ab_md) and compare_md.startswith(MARKER)
    context = compare_md[len(ab_md):]
    assert context.lstrip().startswith("<details><summary>Context, not the verdict: the head's run against "
                                       "the history of main (commitbench compare: ") and context.rstrip().endswith("</details>")
    assert "\n".join(line for line in history_md.splitlines() if line != MARKER).strip() in context
    assert compare_md in (here / "benchmark-temp" / "summary.md").read_text()
    # the A/B's exit code decides the check; the history compare's does not
    verdict = bench.step("verdict")
    assert verdict.rc == {"0": 0, "8": 8, "9": 0}[code], _explain(bench)
    assert ("::warning::could not compare" in verdict.output) is (code == "9")
    return code, rounds


def _check_comment(pipeline: Pipeline, comment: Job | None, rounds: str) -> str:
    assert comment is not None and not comment.failed, _explain(comment)
    [c] = pipeline.stub.comments("octo/lib", 7)
    body = c["body"]
    assert body.startswith(MARKER) and body.count(MARKER) == 1 and "**runner: self-hosted-gpu**" in body
    assert rounds in body and "<details><summary>Context, not the verdict" in body
    assert "actions/runs/" + str(pipeline.runs) in body
    return body


@pytest.mark.slow
@sequential_ab
def test_pull_request_ab_against_the_merge_base_decides_with_the_history_beside_it(pipeline):
    """The default: main moved on after the pull request branched, and the A/B's base is the
    branch point, not main's tip; the history compare still runs (main has a run), as context."""
    if pipeline.runs == 0:
        assert not pipeline.run(pipeline.push())[0].failed
    branch_point = _git(pipeline.workspace, "merge-base", pipeline.head, "main")
    tip = pipeline.main_moves_on("main: a later change, not the pull request's")
    assert tip != branch_point
    before = _stored(pipeline.db)
    bench, comment, here = pipeline.run(pipeline.pull_request("synchronize"), **{"ab-max-rounds": 2})
    code, rounds = _check_ab_job(pipeline, bench, here, branch_point, pipeline.db, before)
    assert bench.outputs["compare"]["outputs"]["code"] in ("0", "8", "9")  # it ran: main has runs
    assert f"merge-base with main, {branch_point[:8]}" in bench.step(MERGE_BASE).output
    _check_comment(pipeline, comment, rounds)


@pytest.mark.slow
@sequential_ab
def test_a_forks_pull_request_ab_runs_into_its_own_database(pipeline):
    """No database secret: the A/B still decides, stored in the job's own SQLite file (no
    prior from main's runs); the history context says there was nothing to compare with."""
    if pipeline.runs == 0:
        assert not pipeline.run(pipeline.push())[0].failed
    shared, comments = table_counts(pipeline.db), pipeline.stub.comments("octo/lib", 7)
    branch_point = _git(pipeline.workspace, "merge-base", pipeline.head, "main")
    bench, comment, here = pipeline.run(pipeline.pull_request("labeled", fork=True, label="run-benchmark"),
                                        secrets={}, **{"ab-max-rounds": 2})
    local = f"sqlite:///{pipeline.artifact(here) / 'commitbench.sqlite'}"
    _check_ab_job(pipeline, bench, here, branch_point, local, set())
    assert bench.outputs["compare"]["outputs"]["code"] == "9"
    assert "no baseline to compare with" in (pipeline.out(here) / "history.md").read_text()
    assert comment is None and pipeline.stub.comments("octo/lib", 7) == comments
    assert table_counts(pipeline.db) == shared


# The four answers of the PR path, end to end, with commitbench itself as the library under
# test (so a pull request can change the code that is measured, each side in its own venv):
# main's history is the copy of this working tree, then its benchmark config (where the pull
# requests branch), then a commit that makes the eager decode step sleep 100 ms
# (tests/gitrepo.py). Tiny model, one scenario, few rounds.
LIBRARY_TOML = """\
model = "micro-llama"
[defaults]
repetitions = 3
warmup = 0
new_tokens = 4
prompt_length = 4
[[scenarios]]
kind = "eager"
"""


class CommitbenchPipeline(Pipeline):
    """commitbench.yml in commitbench's own repository (commitbench-repository empty), main
    run three times before the pull requests branch (the A/B's prior), and four pull requests' branches."""

    def make_library(self) -> None:
        ws = commitbench_copy(self.workspace)
        # yardsticks/ is a package that pyproject does not install, so `commitbench ab` with its
        # default install (pip install -e) finds it nowhere and refuses the revision
        # (run/worktrees.code_packages): the library here goes without it
        shutil.rmtree(ws / "yardsticks")
        self.prior = commit(ws, "the benchmark config, and loose thresholds; no yardsticks",
                            {"bench.toml": LIBRARY_TOML, "loose.toml": "default = 0.5\n"})
        # main's runs of self.prior (the fixture's) are the A/B's noise prior: runs of main
        # before the base, by commit time, which counts seconds
        time.sleep(1.1)
        self.base = commit(ws, "main: where the pull requests branch")
        fast = (ws / DECODE).read_text()
        git(ws, "checkout", "-q", "-b", "slower")
        self.heads = {"regression": commit(ws, "feature: a slower decode step", slow_decode_step(ws))}
        git(ws, "checkout", "-q", "main")
        self.tip = commit(ws, "main: the slower decode step lands (after the pull request branched)",
                          slow_decode_step(ws))
        git(ws, "checkout", "-q", "-b", "faster")
        self.heads["improvement"] = commit(ws, "feature: the decode step without the sleep", {DECODE: fast})
        git(ws, "checkout", "-q", "-b", "nothing", self.tip)
        self.heads["no-change"] = commit(ws, "feature: nothing that is measured")
        git(ws, "checkout", "-q", "-b", "undecided", self.base)
        self.heads["undecided"] = commit(ws, "feature: nothing that is measured, judged in two rounds")
        self.merge_bases = {"regression": self.base, "improvement": self.tip, "no-change": self.tip,
                            "undecided": self.base}
        self.inputs["commitbench-repository"] = ""  # COMMITBENCH_DIR is the checkout
        self.bin = self._install_the_checkout()

    def env(self, github: dict, temp: Path) -> dict[str, str]:
        # one intra-op thread, as in tests/test_ab.py: on 2 shared cores, spinning OpenMP
        # threads make a 1 ms decode step 16 ms, and the processes' levels scatter
        return {**super().env(github, temp), "OMP_NUM_THREADS": "1"}

    def _install_the_checkout(self) -> Path:
        """The install step the quick way: a venv over this environment's packages with the
        checkout installed in it (pip install -e), whose bin goes on PATH, as
        `$COMMITBENCH_DIR/.venv/bin` does on a runner: the single run of the benchmark step
        measures the commit that is checked out, as there."""
        side = Side("checkout", resolve(self.workspace, "HEAD"), root=self.root / "checkout")
        side.root.mkdir()
        with Worktrees(self.workspace, self.root / "scratch", Signals()) as trees:
            trees._make_venv(side)  # as a revision's venv in `commitbench ab`
        subprocess.run([side.python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e",
                        str(self.workspace)], check=True, capture_output=True, env=side.env())
        return side.python.parent


@pytest.fixture(scope="module")
def commitbench_pipeline(tmp_path_factory):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}) as stub:
        p = CommitbenchPipeline(tmp_path_factory.mktemp("commitbench-workflow"), stub)
        for _ in range(3):  # main's runs on this runner: the A/B's prior for the process-to-process noise
            bench, _, _ = p.run(p.push(p.prior))
            assert not bench.failed, _explain(bench)
        yield p


@pytest.mark.slow
@sequential_ab
@pytest.mark.parametrize("case,inputs,code", [
    ("regression", {}, "8"),  # the head sleeps in the decode step, its merge-base does not
    ("improvement", {}, "0"),  # the merge-base sleeps, the head does not
    ("no-change", {"thresholds": "loose.toml"}, "0"),  # an empty change, judged with 50 % thresholds
    ("undecided", {"ab-max-rounds": 2}, "9"),  # an empty change, two rounds, a database with no prior
])
def test_the_pr_comment_for_each_answer_of_the_ab(commitbench_pipeline, tmp_path, case, inputs, code):
    p = commitbench_pipeline
    p.head = p.heads[case]
    db = p.db if case != "undecided" else f"sqlite:///{tmp_path / 'empty.sqlite'}"
    before = _stored(db) if case != "undecided" else set()
    bench, comment, here = p.run(p.pull_request("synchronize"), secrets={"DATABASE_URL": db},
                                 **{"ab-max-rounds": 4, **inputs})
    got, rounds = _check_ab_job(p, bench, here, p.merge_bases[case], db, before)
    body = _check_comment(p, comment, rounds)
    if saved := os.environ.get("COMMITBENCH_TEST_COMMENTS"):  # the evidence: the comment as posted
        Path(saved).mkdir(parents=True, exist_ok=True)
        (Path(saved) / f"{case}.md").write_text(body)
    print(body)
    assert got == code, _explain(bench)
    shown = {"regression": ":x:", "improvement": "| improvement |", "no-change": ":white_check_mark:",
             "undecided": ":grey_question:"}[case]
    assert shown in body.split("<details><summary>Context")[0], body
