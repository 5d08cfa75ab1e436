"""benchmark/flows/ab.py and flows/measure.py without a measurement: the order of the rounds,
what ends them, the plan's checks. The rounds measured for real are tests/test_ab.py."""

from __future__ import annotations

import pytest
from gitrepo import commit, init

from benchmark.contracts.config import ConfigError
from benchmark.flows import ab as flow
from benchmark.flows.measure import check_run_config, round_order, stop_code
from benchmark.run.worktrees import SetupError


def test_rounds_alternate_so_a_linear_drift_cancels():
    order = round_order(4)
    assert [side for _, side in order] == ["base", "head", "head", "base"] * 2
    assert [r for r, _ in order] == [1, 1, 2, 2, 3, 3, 4, 4]
    # a drift growing by one unit per run adds the same total to both sides
    assert sum(i for i, (_, s) in enumerate(order) if s == "base") == \
        sum(i for i, (_, s) in enumerate(order) if s == "head")
    assert [side for _, side in round_order(3)] == ["base", "head", "head", "base", "base", "head"]


def test_only_a_failed_scenario_lets_the_rounds_go_on():
    assert stop_code(0) is None and stop_code(1) is None
    assert stop_code(2) == 2 and stop_code(3) == 3 and stop_code(130) == 130


def test_run_options_are_checked_as_run_would():
    check_run_config(None, {"repetitions": 3})
    with pytest.raises(ConfigError, match="repetitions"):
        check_run_config(None, {"repetitions": 0})


@pytest.fixture
def repo(tmp_path):
    r = init(tmp_path / "repo")
    commit(r, "one", {"f.txt": "1"})
    commit(r, "two", {"f.txt": "2"})
    return r


def plan(repo, **kw):
    args = dict(repo=repo, base="HEAD~1", head="HEAD", rounds=flow.Rounds(2, 2), prior_branch="main", install=None, workdir=None, db="sqlite:///ab.sqlite",
                options=["--repetitions=2"], config=None, overrides={}, threshold=None, thresholds_file=None,
                context="pr")
    return flow.plan(**{**args, **kw})


def test_the_plan_carries_the_comparison_to_make(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.toml").write_text("[pr]\ndefault = 0.05\n")
    p = plan(repo, threshold=0.03, thresholds_file=tmp_path / "t.toml")
    # only the kinds that can gate run: the seed's suite less `load`, whose load time gates nothing
    assert (p.base.subject, p.head.subject, p.rounds, p.options) == (
        "one", "two", flow.Rounds(2, 2), ["--repetitions=2", "--scenarios=eager,compiled_decode,compiled_generate",
                                          "--profile"])  # every run profiled: explain diffs them
    assert p.kinds == ["eager", "compiled_decode", "compiled_generate"] and p.side_cache
    assert p.db_url == f"sqlite:///{tmp_path / 'ab.sqlite'}" and not (tmp_path / "ab.sqlite").exists()
    assert (p.compare.base, p.compare.head) == (p.base.sha, p.head.sha)
    assert p.compare.threshold == 0.03 and p.compare.thresholds_file == (tmp_path / "t.toml").resolve()
    assert p.compare.command("markdown").startswith(f"commitbench compare --base {p.base.sha} --head {p.head.sha}")


def test_the_kinds_an_ab_runs_are_chosen_by_scenarios_or_ab_kinds(repo, tmp_path):
    told = plan(repo, overrides={"kinds": ["load", "eager"]})
    assert told.kinds == ["load", "eager"] and told.options == ["--repetitions=2", "--profile"]  # --scenarios is the user's
    cfg = tmp_path / "bench.toml"
    cfg.write_text('ab_kinds = ["compiled_decode"]\ninductor_cache = "shared"\n')
    chosen = plan(repo, config=cfg)
    assert chosen.kinds == ["compiled_decode"] and chosen.options[-2:] == ["--scenarios=compiled_decode", "--profile"]
    assert not chosen.side_cache  # the user's shared cache is left alone: compile times are not cold anyway
    cfg.write_text('ab_kinds = ["warp"]\n')
    with pytest.raises(ConfigError, match="ab_kinds must be a non-empty list of scenario kinds"):
        plan(repo, config=cfg)
    cfg.write_text('ab_kinds = ["onnxruntime"]\n')
    with pytest.raises(ConfigError, match=r"ab_kinds \['onnxruntime'\] names none of the run's scenario kinds"):
        plan(repo, config=cfg)


@pytest.mark.parametrize("kw, error, message", [
    ({"base": "HEAD"}, SetupError, "are the same commit"),
    ({"install": "{venv}/pip"}, SetupError, "unknown placeholder {venv}"),
    ({"overrides": {"kinds": ["warp"]}}, ConfigError, "warp"),
    ({"threshold": -1.0}, ConfigError, "threshold"),
])
def test_the_plan_refuses_bad_input(repo, kw, error, message):
    with pytest.raises(error, match=message.replace("{", r"\{").replace("}", r"\}")):
        plan(repo, **kw)


@pytest.mark.parametrize("kw, message", [
    ({"min": 0, "max": 10}, "--min-rounds: must be an integer from 1 to 100, got 0"),
    ({"min": 2, "max": 101}, "--max-rounds: must be an integer from 1 to 100, got 101"),
    ({"min": 5, "max": 4}, "--min-rounds: must be at most max-rounds (4), got 5"),
    ({"budget_s": 0.0}, "--budget-minutes must be a number of minutes from 0 to 10080, got 0"),
])
def test_bad_rounds_name_their_option(kw, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        flow.Rounds(**kw)


def test_a_sides_run_is_told_its_worktree_so_the_packages_built_from_it_are_the_code_under_test(tmp_path, monkeypatch):
    from benchmark.flows.measure import Measurer
    from benchmark.run import gitinfo
    from benchmark.run.worktrees import Revision, Side, Signals

    side = Side("base", Revision("a" * 40, "one", 0, ()), tmp_path / "side")
    env = Measurer(Signals(), "sqlite:///x.sqlite", [], None).env(side)
    assert env[gitinfo.CHECKOUT_ENV] == str(side.worktree) and env["DATABASE_URL"] == "sqlite:///x.sqlite"
    monkeypatch.setenv(gitinfo.CHECKOUT_ENV, str(side.worktree))
    assert gitinfo.checkout() == side.worktree
    monkeypatch.delenv(gitinfo.CHECKOUT_ENV)
    monkeypatch.chdir(tmp_path)
    assert gitinfo.checkout() is None  # not in a git work tree
