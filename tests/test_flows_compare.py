"""benchmark/flows/compare.py in process: refs to a judged comparison (Compared), rendered
once; --input cases; what it raises (a Failure with its exit code) instead of printing."""

from __future__ import annotations

import json

import pytest
from verdict_data import history, run_of, store_all

from benchmark.cli import main
from benchmark.flows import compare as flow
from benchmark.flows.compare import Request
from benchmark.flows.errors import Failure

HEAD = "feed" + "0" * 36


@pytest.fixture
def compared_db(sqlite_url):
    """12 commits of main on one runner, and a pull request 15 % slower."""
    store_all(sqlite_url, history(12) + [run_of(HEAD, 20, branch="pr-1", level=0.0115)])
    return sqlite_url


def test_between_judges_and_rendered_says_what_compare_prints(compared_db, capsys):
    compared = flow.between(compared_db, Request("main", "pr-1"))
    assert compared.verdict == "regression" and compared.drift == []
    doc = json.loads(flow.rendered(compared, "json"))
    assert doc["verdict"] == "regression" and doc["baseline_reports"] == []
    assert capsys.readouterr() == ("", "")  # a flow prints nothing
    for fmt in flow.FORMATS:  # the command prints exactly what the flow rendered
        assert main(["compare", "--base", "main", "--head", "pr-1", "--db", compared_db, "--format", fmt]) == 8
        assert capsys.readouterr().out == flow.rendered(compared, fmt)


@pytest.mark.parametrize("request_, code, message", [
    (Request("main", "nosuchbranch"), 9, "could not compare: 'nosuchbranch' is no stored branch"),
    (Request("main", "pr-1", history=-1), 2, "--history must be an integer from 0 to 10000"),
    (Request("main", "pr-1", threshold=-0.5), 2, "threshold"),
])
def test_between_raises_with_the_exit_code(compared_db, request_, code, message):
    with pytest.raises(Failure, match=message) as e:
        flow.between(compared_db, request_)
    assert e.value.code == code


def test_no_database_is_bad_input_and_creates_none(tmp_path):
    with pytest.raises(Failure, match="no results stored yet") as e:
        flow.between(f"sqlite:///{tmp_path / 'none.sqlite'}", Request("main", "pr-1"))
    assert e.value.code == 2 and not (tmp_path / "none.sqlite").exists()


def test_the_command_line_that_gives_it_again():
    assert Request("main", "pr-1").command("text") == \
        "commitbench compare --base main --head pr-1 --context pr --format text"
    assert Request("a b", "c", threshold=0.05, history=3, repository="o/r", context="main").command("markdown") == \
        ("commitbench compare --base 'a b' --head c --context main --history 3 --threshold 0.05 "
         "--repository o/r --format markdown")


def test_cases_judge_each_line_and_refuse_a_bad_one_naming_it():
    same = [[1.0, 1.01, 0.99, 1.0, 1.0]] * 3
    slower = [[1.2, 1.21, 1.19, 1.2, 1.2]] * 3
    # a blank line between the cases is skipped
    text = (json.dumps({"id": "a", "base": [{"reps": same}] * 3, "head": [{"reps": same}] * 3}) + "\n\n"
            + json.dumps({"id": "b", "base": [{"reps": same}] * 3, "head": [{"reps": slower}] * 3}) + "\n")
    rows = [json.loads(line) for line in flow.cases(text, "in.jsonl", "lower", 0.02)]
    assert [(r["id"], r["verdict"]) for r in rows] == [("a", "no_change"), ("b", "regression")]
    higher = [json.loads(line) for line in flow.cases(text, "in.jsonl", "higher", 0.02)]
    assert higher[1]["verdict"] == "improvement"
    for bad, message in [("[1]", "line 1: a line must be a JSON object"), ("{not json", "line 1:"),
                         ('{"direction": "up"}', "line 1: direction must be one of lower, higher, info")]:
        with pytest.raises(Failure, match=message) as e:
            flow.cases(bad + "\n", "in.jsonl", "lower", 0.02)
        assert e.value.code == 2 and "--input in.jsonl" in str(e.value)
