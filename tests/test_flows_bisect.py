"""benchmark/flows/bisect.py without a measurement: a scenario name to its config entry, a
figure's samples from a run result, the plan's checks (and the evidence --report stores).
The search measured for real is tests/test_bisect.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import with_commits

from benchmark.analysis.bisection import Level
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
    doc = flow.evidence(p, tested, p.bad)
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
