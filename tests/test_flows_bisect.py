"""benchmark/flows/bisect.py without a measurement: a scenario name to its config entry, a
figure's samples from a run result, the plan's checks (and the evidence --report stores).
The search measured for real is tests/test_bisect.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from gitrepo import with_commits
from verdict_data import profile, profiled_run, store_all

from benchmark.analysis.bisection import Level
from benchmark.cli.bisect import print_result
from benchmark.contracts.config import ConfigError
from benchmark.flows import bisect as flow
from benchmark.flows.bisect import Tested as Measured
from benchmark.flows.bisect import figure_samples, scenario_entry
from benchmark.flows.errors import Failure
from benchmark.run.worktrees import SetupError

SCENARIO = "eager[prompt_length=4,new_tokens=4]"
METRIC = "eager_time_to_next_token_secs"


def test_a_scenario_name_becomes_its_config_entry():
    assert scenario_entry("eager") == {"kind": "eager"}
    assert scenario_entry(SCENARIO) == {"kind": "eager", "prompt_length": 4, "new_tokens": 4}
    assert scenario_entry("compiled_decode[compile_mode=default,fullgraph=False]") == {
        "kind": "compiled_decode", "compile_mode": "default", "fullgraph": False}


@pytest.mark.parametrize("name, message", [
    ("warp", "unknown kind 'warp'"),
    ("selftest_crash", "unknown kind"),
    ("eager[compile_mode=default]", "'compile_mode=default' is not a parameter of eager"),
    ("eager[batch_size=two]", "'two' is not a int"),
    ("eager[batch_size=0]", "batch_size must be an integer from 1"),
    ("eager[new_tokens=4", "expected kind[param=value,...]"),
    ("compiled_decode[fullgraph=maybe]", "'maybe' is not true or false"),
])
def test_a_bad_scenario_name_is_refused(name, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        scenario_entry(name)


def test_figure_samples_from_a_run_result():
    result = {"scenarios": [{"name": "load", "metrics": [{"name": "model_load_time", "samples": [0.5]}]},
                            {"name": SCENARIO, "metrics": [{"name": "x", "samples": [1, 2]}]}]}
    assert figure_samples(result, SCENARIO, "x") == [1.0, 2.0]
    assert figure_samples(result, SCENARIO, "y") is None and figure_samples(result, "eager", "x") is None


@pytest.fixture
def repo(tmp_path):
    return with_commits(tmp_path / "repo", 3)


def plan(repo, **kw):
    args = dict(repo=repo, good="HEAD~2", bad="HEAD", metric=METRIC, scenario=SCENARIO, rounds=2, install=None,
                workdir=None, db="sqlite:///rel.sqlite", options=[], overrides={})
    return flow.plan(**{**args, **kw})


def test_the_plan_names_what_is_searched(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = plan(repo)
    assert [r.subject for r in (p.good, *p.between)] == ["commit 0", "commit 1", "commit 2"]
    assert p.bad == p.between[-1] and p.entry == {"kind": "eager", "prompt_length": 4, "new_tokens": 4}
    assert p.db_url == f"sqlite:///{tmp_path / 'rel.sqlite'}"  # absolute: the runs start elsewhere
    assert p.report_id is None and not (tmp_path / "rel.sqlite").exists()


@pytest.mark.parametrize("kw, error, message", [
    ({"metric": "speed"}, ConfigError, "not a registered figure"),
    ({"rounds": 101}, ConfigError, "--rounds must be an integer from 1 to 100"),
    ({"good": "HEAD", "bad": "HEAD~2"}, SetupError, "is not a descendant of --good"),
    ({"overrides": {"repetitions": 0}}, ConfigError, "repetitions must be an integer"),
    ({"report": "#x"}, Failure, "report id must be a number"),
])
def test_the_plan_refuses_bad_input(repo, kw, error, message):
    with pytest.raises(error, match=message):
        plan(repo, **kw)


def test_a_report_to_record_into_must_exist_before_anything_runs(repo, tmp_path):
    with pytest.raises(Failure, match="no results stored yet") as e:
        plan(repo, report="#5", db=f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert e.value.code == 2 and not (tmp_path / "none.sqlite").exists()


def test_the_evidence_lists_every_tested_commit(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = plan(repo)
    tested = [Measured(p.good, Level(1.0, 0.1, 4), "good endpoint"), Measured(p.between[0], None, "not measured")]
    doc = flow.evidence(p, flow.Result(0, p.bad, tested, unexplained="not shown: why"))
    assert doc["explain"] == [] and doc["explain_note"] == "not shown: why"
    assert doc["first_bad"] == p.bad.sha and doc["metric"] == METRIC and doc["rounds"] == 2
    assert doc["tested"] == [
        {"commit": p.good.sha, "subject": "commit 0", "verdict": "good endpoint", "level": 1.0, "noise": 0.1, "n": 4},
        {"commit": p.between[0].sha, "subject": "commit 1", "verdict": "not measured", "level": None,
         "noise": None, "n": 0}]
    kept = flow.keep_evidence(7, doc)
    try:
        assert kept.name.startswith("commitbench-bisect-report-7-") and Path(kept).read_text().startswith("{")
    finally:
        kept.unlink()


# -- what got slower at the first bad commit: explain's diff of the stored runs bisect made --

def stored_bisection(repo, url: str, head_profile: dict | None) -> tuple[list[Measured], object]:
    """Runs as bisect stores them (branch bisect), one a tested commit: commit 0 (good endpoint)
    and commit 1 at the old level, commit 2 (the first bad, the bad endpoint) with an extra
    matrix multiply per token (`head_profile`). Each Tested carries its run's uid, as _measure
    reads it from the run's --json."""
    p = plan(repo, db=url)
    commits = [p.good, *p.between]
    runs = [profiled_run(commits[0].sha, 1, 0.010, "bisect", profile(trace="/runner/tmp/good-0.json.gz")),
            profiled_run(commits[1].sha, 2, 0.010, "bisect", profile(trace="/runner/tmp/last-good.json.gz")),
            profiled_run(commits[2].sha, 3, 0.012, "bisect", head_profile)]
    store_all(url, runs)
    roles = ["good endpoint", "good", "bad endpoint"]
    return [Measured(c, Level(1.0, 0.1, 1), role, runs=[r.run_uid]) for c, role, r in zip(commits, roles, runs)], p


def test_the_first_bad_commit_is_explained_against_the_last_good_one(repo, sqlite_url):
    tested, p = stored_bisection(repo, sqlite_url, profile(mm=(30, 600.0), trace="/runner/tmp/bad.json.gz"))
    explained, note = flow.explained(p.db_url, "eager", tested, p.bad)
    assert note is None
    (x,) = explained
    # the base is the last good commit (commit 1), not the good endpoint: its trace is the one named
    assert (x.scenario, x.base.label, x.head.label) == ("eager", p.between[0].short, p.bad.short)
    assert x.base.traces == ["/runner/tmp/last-good.json.gz"] and x.head.traces == ["/runner/tmp/bad.json.gz"]
    assert x.explanation.movers[0].name == "aten::mm"
    result = flow.Result(0, p.bad, tested, explained=explained)
    doc = flow.evidence(p, result)
    assert doc["explain"][0]["movers"][0]["operator"] == "aten::mm" and doc["explain_note"] is None
    assert doc["explain"][0]["head"]["traces"] == ["/runner/tmp/bad.json.gz"]  # JSON keeps the path
    out = io.StringIO()
    print_result(result, METRIC, out)
    text = out.getvalue()
    assert text.startswith(f"first bad commit: {p.bad.sha} commit 2\n")
    section = text.split("\nwhat got slower (operator profiles):\n\n")[1]
    assert section.startswith(f"eager: base {p.between[0].short} (1 profile(s)) -> head {p.bad.short} (1 profile(s))")
    assert "  aten::mm" in section and "trace (head): /runner/tmp/bad.json.gz" in section


def test_a_side_without_a_profile_is_said_in_one_line_and_fails_nothing(repo, sqlite_url):
    tested, p = stored_bisection(repo, sqlite_url, None)  # the bad commit's run was not profiled
    explained, note = flow.explained(p.db_url, "eager", tested, p.bad)
    assert explained == [] and note == (f"not shown: --scenario 'eager': not profiled on both sides (no profile on "
                                        f"head {p.bad.short}; profiled on both: none)")
    out = io.StringIO()
    print_result(flow.Result(0, p.bad, tested, unexplained=note), METRIC, out)
    assert out.getvalue().endswith(f"\nwhat got slower (operator profiles):\n\n  {note}\n\n")
    gone = [Measured(t.revision, t.level, t.role, runs=["0123abcd"]) for t in tested]  # runs not stored (spooled)
    explained, note = flow.explained(p.db_url, "eager", gone, p.bad)
    assert explained == [] and note == "not shown: a run is not in the database (no run '0123abcd')"


def test_no_first_bad_commit_no_section():
    out = io.StringIO()
    print_result(flow.Result(9, None, [], unexplained=None), METRIC, out)
    assert "what got slower" not in out.getvalue()
