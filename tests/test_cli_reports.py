"""`commitbench reports` and the baseline note of `commitbench compare`: a level change on main
stays an open report across later pull requests' comparisons, never counted against them,
until someone accepts it."""

from __future__ import annotations

import json
import random

import pytest

from benchmark.cli import main
from benchmark.flows import reports as report_moves
from helpers import report_states
from verdict_data import history, run_of, sha, store_all


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def stepped(db_url, capsys):
    """main took a 10 % slower step at commit 20 of 40; detect opened its reports (SQLite and PostgreSQL)."""
    store_all(db_url, history(40, step_at=20, step=0.10))
    code, out, _ = cli(capsys, "detect", "--db", db_url)
    assert code == 0 and "reports: 4 opened" in out.splitlines()[0]
    return db_url


def pr(url: str, n: int, level: float = 0.011, hours: float = 50) -> str:
    """A pull request's run on its own branch: at main's current level unless told."""
    commit = sha(n, "f")
    store_all(url, [run_of(commit, hours + n, level=level, branch=f"feature-{n}", rng=random.Random(1000 + n))])
    return commit


def test_a_step_on_main_stays_open_across_later_prs_until_accepted(stepped, capsys):
    url = stepped
    ttnt = json.loads(cli(capsys, "reports", "list", "--scenario", "compiled_decode", "--figure",
                          "time_to_next_token_mean_secs", "--format", "json", "--db", url)[1])["reports"]
    assert [(r["state"], r["commit_id"]) for r in ttnt] == [("open", sha(20))]
    number = ttnt[0]["report_id"]
    for n in (1, 2):  # two later pull requests that change nothing
        head = pr(url, n)
        code, out, err = cli(capsys, "compare", "--base", "main", "--head", head, "--format", "markdown",
                           "--db", url)
        assert code == 0, err  # judged against main's current level: the step is not this PR's
        assert ":white_check_mark:" in out.splitlines()[1] and "REGRESSION" not in out
        assert (f"main has been slower since `{sha(20)[:12]}` in compiled\\_decode "
                f"(time\\_to\\_next\\_token\\_mean\\_secs +9.9 %, time\\_to\\_next\\_token\\_secs +9.9 %; "
                f"reports #{number}, #{number + 1}): not this PR") in out
        assert cli(capsys, "detect", "--db", url)[0] == 0  # main's scan between the PRs keeps them open
        assert set(report_states(url).values()) == {"open"}
    # a PR that does slow things down is still caught: the note hides nothing
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", pr(url, 3, level=0.0125), "--db", url)
    assert code == 8 and "regression found" in out.splitlines()[0] and "not this PR" in out.splitlines()[1]

    for r in (number, number + 1):
        code, out, _ = cli(capsys, "reports", "accept", str(r), "--by", "alice", "--reason", "bigger KV cache",
                           "--link", "https://github.com/o/r/pull/7", "--db", url)
        assert code == 0 and out == f"report #{r}: accepted\n"
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", pr(url, 4), "--format", "json", "--db", url)
    notes = json.loads(out)["baseline_reports"]
    assert code == 0 and [n["scenario"] for n in notes] == ["eager"]  # compiled_decode's are accepted now
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", pr(url, 5), "--db", url)
    assert "compiled_decode" not in "".join(ln for ln in out.splitlines() if ln.startswith("note:"))
    assert "note: main has been slower since" in out


def test_no_note_without_reports_or_against_an_older_base(sqlite_url, capsys):
    store_all(sqlite_url, history(40, step_at=20, step=0.10))
    head = pr(sqlite_url, 1)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", head, "--db", sqlite_url)
    assert "not this PR" not in out  # detect has not run: no report
    cli(capsys, "detect", "--db", sqlite_url)
    code, out, _ = cli(capsys, "compare", "--base", sha(10), "--head", sha(15), "--db", sqlite_url)
    assert code == 0 and "not this PR" not in out  # both before the step


def test_list_show_and_moves(stepped, capsys, tmp_path):
    url = stepped
    code, out, _ = cli(capsys, "reports", "list", "--db", url)
    assert code == 0 and out.splitlines()[0].split() == ["ID", "STATE", "BRANCH", "SCENARIO", "FIGURE", "SINCE",
                                                        "CHANGE", "DETAIL"]
    assert len(out.splitlines()) == 5 and all(" open " in ln for ln in out.splitlines()[1:])
    evidence = tmp_path / "bisect.json"
    with open(evidence, "w") as f:
        json.dump({"good": sha(19), "bad": sha(20), "steps": 4}, f)
    assert cli(capsys, "reports", "bisected", "#3", "--commit", sha(20), "--evidence", str(evidence), "--by", "ci",
               "--db", url)[:2] == (0, "report #3: bisected\n")
    assert cli(capsys, "reports", "fix", "4", "--commit", "ABCD1234", "--by", "bob", "--db", url)[:2] == \
        (0, "report #4: fixed\n")
    code, out, _ = cli(capsys, "reports", "show", "3", "--db", url)
    assert code == 0 and out.splitlines()[0] == "report #3: bisected"
    assert f"  bisected: first bad commit {sha(20)}" in out and "bisected  by ci: first bad commit" in out
    doc = json.loads(cli(capsys, "reports", "show", "3", "--format", "json", "--db", url)[1])
    assert doc["evidence"] == {"good": sha(19), "bad": sha(20), "steps": 4}
    assert [h["state"] for h in doc["history"]] == ["open", "bisected"]
    code, out, _ = cli(capsys, "reports", "list", "--state", "active", "--format", "json", "--db", url)
    assert sorted(r["report_id"] for r in json.loads(out)["reports"]) == [1, 2, 3]
    key = doc["series_key"]
    code, out, _ = cli(capsys, "reports", "list", "--series", key, "--format", "json", "--db", url)
    assert {r["series_key"] for r in json.loads(out)["reports"]} == {key} and len(json.loads(out)["reports"]) == 2
    code, out, _ = cli(capsys, "reports", "list", "--state", "fixed", "--format", "markdown", "--db", url)
    assert code == 0 and "| #4 | fixed |" in out and "fixed by abcd1234" in out


def test_tracking_issue_lists_open_first_then_accepted(stepped, capsys):
    url = stepped
    cli(capsys, "reports", "accept", "2", "--by", "alice", "--reason", "worth it | really", "--db", url)
    code, out, _ = cli(capsys, "reports", "tracking-issue", "--branch", "main", "--db", url)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "<!-- commitbench-tracking - main -->"
    assert lines[1] == "### commitbench: regressions on main"
    assert out.index("**3 open**") < out.index("#### Accepted (1)")
    assert "| #2 | compiled\\_decode | time\\_to\\_next\\_token\\_secs |" in out and "worth it \\| really" in out
    code, out, _ = cli(capsys, "reports", "tracking-issue", "--branch", "elsewhere", "--db", url)
    assert code == 0 and "No open regression on elsewhere." in out


def test_one_tracking_issue_per_gpu_and_model(stepped, capsys):
    """Narrowed to a GPU (and a model), the issue has its own marker, so each configuration
    keeps one issue; the reports of another GPU are not in it."""
    whole = cli(capsys, "reports", "tracking-issue", "--branch", "main", "--db", stepped)[1]
    model = json.loads(cli(capsys, "reports", "show", "1", "--format", "json", "--db", stepped)[1])["model_id"]
    code, out, _ = cli(capsys, "reports", "tracking-issue", "--branch", "main", "--gpu", "cpu", "--model", model,
                       "--db", stepped)
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"<!-- commitbench-tracking - main gpu=cpu model={model} -->"
    assert lines[1] == f"### commitbench: regressions on main gpu=cpu model={model}"
    assert lines[2:] == whole.splitlines()[2:]  # every report of the fixture is on this CPU and model
    code, out, _ = cli(capsys, "reports", "tracking-issue", "--branch", "main", "--gpu", "NVIDIA H100", "--db",
                       stepped)
    assert out.splitlines()[0] == "<!-- commitbench-tracking - main gpu=NVIDIA H100 -->"
    assert "No open regression on main." in out and "#### Accepted" not in out


@pytest.mark.parametrize("args, message", [
    (["accept", "x", "--by", "a", "--reason", "r"], "report id must be a number such as 3 or #3, got 'x'"),
    (["accept", "99", "--by", "a", "--reason", "r"], "no regression report #99"),
    (["accept", "1", "--by", " ", "--reason", "r"], "--by must be 1-255 characters of text"),
    (["accept", "1", "--by", "a", "--reason", "r", "--link", "javascript:x"], "--link must be an http(s) URL"),
    (["fix", "1", "--commit", "xyz"], "invalid --commit 'xyz': expected 4-64 hexadecimal characters"),
    (["bisected", "1", "--commit", "abcd", "--evidence", "/nonexistent/e.json"], "--evidence /nonexistent/e.json:"),
    (["list", "--state", "open,gone"], "--state: unknown state 'gone'"),
    (["list", "-o", "/nonexistent/dir/x.txt"], "--output /nonexistent/dir/x.txt: directory /nonexistent/dir does not"),
    (["accept", "1", "--by", "a", "--reason", "r", "--repository", "other"],
     "report #1 belongs to repository '', not 'other'"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(stepped, capsys, args, message):
    before = report_states(stepped)
    code, out, err = cli(capsys, "reports", *args, "--db", stepped)
    assert code == 2 and out == "" and message in err and len(err.splitlines()) == 1
    assert report_states(stepped) == before


@pytest.mark.parametrize("content, message", [
    (b'{"a": 1,\n "b": NaN}\n', "line 2: NaN is not a number JSON allows"),
    (b'{"a": 1e400}', "line 1: 1e400 is beyond a float's range"),
    (b'{"a": "x\\u0000y"}', "line 1: a NUL or a lone surrogate"),
    (b'{"a": "\\udc00"}', "line 1: a NUL or a lone surrogate"),
    (b'{"a": "caf\xe9"}', "line 1: not UTF-8 text (byte 0xe9 at column 11"),
    (b"[" * 100_000 + b"]" * 100_000, "line 1: nested too deeply"),
])
def test_evidence_the_database_cannot_hold_is_bad_input(stepped, capsys, tmp_path, content, message):
    """NaN or NUL reached PostgreSQL, which refused it: exit 3, "database unavailable"."""
    (tmp_path / "e.json").write_bytes(content)
    before = report_states(stepped)
    code, out, err = cli(capsys, "reports", "bisected", "1", "--commit", "abcd", "--evidence", str(tmp_path / "e.json"),
                         "--db", stepped)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert f"--evidence {tmp_path / 'e.json'}: {message}" in err
    assert report_states(stepped) == before


def test_evidence_with_big_and_tiny_numbers_is_stored_as_given(stepped, capsys, tmp_path):
    evidence = {"big": 10 ** 400, "tiny": 5e-324, "huge": 1e308, "text": "caf\u00e9 \U0001f600"}
    (tmp_path / "e.json").write_text(json.dumps(evidence))
    assert cli(capsys, "reports", "bisected", "1", "--commit", "abcd", "--evidence", str(tmp_path / "e.json"),
               "--db", stepped)[0] == 0
    doc = json.loads(cli(capsys, "reports", "show", "1", "--format", "json", "--db", stepped)[1])
    assert doc["evidence"] | {"huge": float(doc["evidence"]["huge"])} == evidence  # PostgreSQL's jsonb: 10**308


def test_a_refused_move_writes_nothing(stepped, capsys):
    assert cli(capsys, "reports", "fix", "1", "--commit", "abcd", "--db", stepped)[0] == 0
    code, out, err = cli(capsys, "reports", "accept", "1", "--by", "a", "--reason", "r", "--db", stepped)
    assert code == 2 and err.strip() == ("commitbench: error: report #1 is fixed: it cannot become accepted "
                                         "(from fixed: nothing: it is final)")
    doc = json.loads(cli(capsys, "reports", "show", "1", "--format", "json", "--db", stepped)[1])
    assert doc["state"] == "fixed" and doc["accepted_by"] is None and len(doc["history"]) == 2


def test_no_database_yet(tmp_path, capsys):
    code, out, err = cli(capsys, "reports", "list", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert code == 2 and "no results stored yet" in err and not (tmp_path / "none.sqlite").exists()


def test_bisect_report_records_its_evidence_or_keeps_it_in_a_file(stepped, capsys):
    from benchmark.cli import bisect

    class Rev:  # what bisect's search hands over: a revision with sha, short and subject
        sha, short, subject = sha(20), sha(20)[:8], "slow decode step"

    found = {"tool": "commitbench bisect", "first_bad": sha(20), "tested": [{"commit": sha(20), "verdict": "bad"}]}
    assert bisect._record(stepped, 1, Rev, found) == 0
    doc = json.loads(cli(capsys, "reports", "show", "1", "--format", "json", "--db", stepped)[1])
    assert (doc["state"], doc["first_bad_commit"], doc["evidence"]) == ("bisected", sha(20), found)
    report_moves.check_bisectable(stepped, 2)  # an open report may become bisected
    assert cli(capsys, "reports", "fix", "2", "--commit", "abcd", "--db", stepped)[0] == 0
    with pytest.raises(report_moves.Failure, match="report #2 is fixed: it cannot become bisected"):
        report_moves.check_bisectable(stepped, 2)  # refused before anything is measured
    assert bisect._record(stepped, 2, Rev, found) == 2  # refused after measuring: kept in a file
    err = capsys.readouterr().err
    path = err.split("the evidence is in ")[1].split(":")[0]
    assert json.loads(open(path).read()) == found
    assert f"`commitbench reports bisected 2 --commit {sha(20)} --evidence {path}` records it" in err
