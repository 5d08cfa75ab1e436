"""An A/B's stored rounds judged round by round (flows/compare.between with Paired, as
`commitbench ab` looks after each round): main's history as the noise prior, what decides,
what is left for more rounds, and the rounds line in every format. Real SQLite files."""

from __future__ import annotations

import json
import random

import pytest
from verdict_data import history, run_of, sha, store_all

from benchmark.analysis.sequential import DONE, MORE, SequentialOptions
from benchmark.flows import compare as flow
from benchmark.flows.compare import Request, Rounds
from benchmark.verdicts.compare_runs import INSUFFICIENT, NO_CHANGE, REGRESSION, Paired

BASE, HEAD = sha(100, "b"), sha(200, "d")
TTNT = "time_to_next_token_secs"


def ab_rounds(url: str, rounds: int, slowdown: float, seed: int = 3, process_cv: float = 0.003,
              job: str | None = None, hour: float = 20.0) -> None:
    """`rounds` rounds as ab stores them: AB, BA, ... on branches ab/base and ab/head (a job's
    own, ab/<job>/base and ab/<job>/head, where `job` is given)."""
    rng, runs = random.Random(seed), []
    prefix = f"ab/{job}" if job else "ab"
    for r in range(rounds):
        for side in (("base", "head") if r % 2 == 0 else ("head", "base")):
            commit, level = (BASE, 0.010) if side == "base" else (HEAD, 0.010 * slowdown)
            runs.append(run_of(commit, hour, level=level, branch=f"{prefix}/{side}", rng=rng, process_cv=process_cv))
            hour += 0.1
    store_all(url, runs)


def look(url: str, final: bool = False, prior: str = "main") -> flow.Compared:
    return flow.between(url, Request(BASE, HEAD), Paired(SequentialOptions(), final=final, prior_branch=prior))


def figure(compared: flow.Compared, scenario: str, name: str):
    return next(f for s in compared.report.series if s.scenario == scenario for f in s.figures if f.figure == name)


@pytest.fixture
def with_main(sqlite_url):
    store_all(sqlite_url, history(12))  # main on the same runner: the prior
    return sqlite_url


def test_a_ten_percent_regression_is_decided_after_two_rounds_with_mains_prior(with_main):
    ab_rounds(with_main, 2, slowdown=1.10)
    compared = look(with_main)
    f = figure(compared, "compiled_decode", TTNT)
    assert f.decision.decision == DONE and f.verdict == REGRESSION and f.decision.rounds == 2
    assert f.comparison.history_runs == 10 and "after 2 rounds" in f.comparison.reason
    assert compared.report.decided and compared.verdict == REGRESSION


def test_without_a_prior_two_rounds_decide_nothing_and_the_last_look_cannot_decide(with_main):
    ab_rounds(with_main, 2, slowdown=1.0)
    compared = look(with_main, prior="no-such-branch")
    assert not compared.report.decided
    assert {f.decision.decision for _, f in compared.report.gating_measured} == {MORE}
    final = look(with_main, final=True, prior="no-such-branch")
    assert final.report.decided and final.verdict == INSUFFICIENT  # exit 9: every gating figure noisy
    text = flow.rendered(final, "text")
    assert "(would be decided by more rounds (a larger `--max-rounds` or `--budget-minutes`)" in text
    assert {f.decision.stopped for _, f in final.report.gating_measured} == {"the budget ran out after 2 rounds"}


def test_no_change_on_a_quiet_runner_stops_by_equivalence(with_main):
    ab_rounds(with_main, 6, slowdown=1.0, process_cv=0.001)
    compared = look(with_main)
    assert compared.report.decided and compared.verdict == NO_CHANGE
    assert all(f.verdict == NO_CHANGE for _, f in compared.report.gating_measured)


def test_the_rounds_line_is_under_the_title_in_every_format(with_main):
    ab_rounds(with_main, 2, slowdown=1.10)
    compared = look(with_main)
    compared.ab = Rounds(2, 10, "every gating figure decided")
    line = "A/B: 2 round(s) of at most 10; stopped: every gating figure decided"
    text = flow.rendered(compared, "text").splitlines()
    assert text[1] == line
    markdown = flow.rendered(compared, "markdown")
    assert markdown.splitlines()[3] == line and "commitbench compare --base" not in markdown
    doc = json.loads(flow.rendered(compared, "json"))
    assert doc["ab"] == {"rounds": 2, "max_rounds": 10, "stopped": "every gating figure decided"}


# -- the decision rule on JSON lines: `commitbench ab --input` ---------------------------------

def case_line(id: str, slowdown: float, rounds: int, rng: random.Random, history_runs: int = 10) -> dict:
    def proc(level: float) -> dict:
        offset = 1 + rng.gauss(0, 0.004)
        return {"reps": [[level * offset * (1 + rng.gauss(0, 0.005)) for _ in range(8)] for _ in range(5)]}
    return {"id": id, "direction": "lower", "max_rounds": 10,
            "rounds": [{"order": "AB" if r % 2 == 0 else "BA", "base": proc(1.0), "head": proc(slowdown)}
                       for r in range(rounds)],
            "history": [proc(1.0) for _ in range(history_runs)]}


def ab_input(capsys, tmp_path, lines: list[dict], *args: str) -> tuple[int, list[dict], str]:
    from benchmark.cli import main

    src = tmp_path / "rounds.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    code = main(["ab", "--input", str(src), *args])
    out = capsys.readouterr()
    return code, [json.loads(x) for x in out.out.splitlines()], out.err


def test_a_caller_drives_the_rule_by_appending_rounds_until_done(capsys, tmp_path):
    rng = random.Random(8)
    cases = {"slower": case_line("slower", 1.08, 2, rng), "same": case_line("same", 1.0, 2, rng)}
    answers = {}
    while cases:
        code, rows, _ = ab_input(capsys, tmp_path, list(cases.values()))
        assert code == 0 and [r["id"] for r in rows] == list(cases)
        for row in rows:
            assert set(row) == {"id", "decision", "verdict", "change", "ci", "rounds", "stopped"}
            if row["decision"] == "done":
                answers[row["id"]] = row
                del cases[row["id"]]
            else:  # one more round for this case
                more = case_line(row["id"], 1.08 if row["id"] == "slower" else 1.0, 1, rng)["rounds"][0]
                more["order"] = "AB" if len(cases[row["id"]]["rounds"]) % 2 == 0 else "BA"
                cases[row["id"]]["rounds"].append(more)
    assert answers["slower"]["verdict"] == "regression" and answers["slower"]["rounds"] <= 4
    assert answers["same"]["verdict"] == "no_change" and answers["same"]["rounds"] <= 10
    lo, hi = answers["slower"]["ci"]
    assert lo < 0.08 < hi


def test_bad_lines_are_refused_with_their_number_and_nothing_is_written(capsys, tmp_path):
    good = case_line("a", 1.0, 2, random.Random(1))
    bad = dict(good, rounds=[{"order": "AB", "base": {"reps": [[1.0]]}}])
    out = tmp_path / "out.jsonl"
    code, rows, err = ab_input(capsys, tmp_path, [good, bad], "-o", str(out))
    assert code == 2 and rows == [] and not out.exists()
    assert err.strip() == (f"commitbench: error: --input {tmp_path / 'rounds.jsonl'} line 2: rounds[0]: must be an "
                           'object {"order", "base": run, "head": run}')
    code, _, err = ab_input(capsys, tmp_path, [good], "--base", "main")
    assert code == 2 and "--input decides the file's cases: give no --base or --head" in err
    code, _, err = ab_input(capsys, tmp_path, [good], "--rounds", "3", "--max-rounds", "5")
    assert code == 2 and "--rounds sets both --min-rounds and --max-rounds" in err
    code, _, err = ab_input(capsys, tmp_path, [good], "--prior-branch", " ")
    assert code == 2 and "--prior-branch must name a branch (default main), got ' '" in err


def test_compile_times_are_judged_on_the_first_rounds_cold_compile_when_later_rounds_reuse_the_cache(sqlite_url):
    store_all(sqlite_url, history(12, compile_time=20.0))
    rng, runs, hour = random.Random(4), [], 20.0
    for r in range(4):  # round 1 compiles cold (head 30 % slower to compile); later rounds hit the cache
        cold = r == 0
        for side in (("base", "head") if r % 2 == 0 else ("head", "base")):
            seconds = (20.0 if side == "base" else 26.0) if cold else 0.5
            runs.append(run_of(BASE if side == "base" else HEAD, hour, branch=f"ab/{side}", rng=rng,
                               compile_time=seconds))
            hour += 0.1
    store_all(sqlite_url, runs)
    options = SequentialOptions()
    warm = flow.between(sqlite_url, Request(BASE, HEAD), Paired(options, prior_branch="main", warm_after_first=True))
    f = figure(warm, "compiled_decode", "compile_decode_step_time_secs")
    assert f.verdict == REGRESSION and f.decision.rounds == 1 and f.decision.decision == DONE
    # judged over every round, the warm rounds would hide the cold compile's regression
    every = flow.between(sqlite_url, Request(BASE, HEAD), Paired(options, prior_branch="main"))
    assert figure(every, "compiled_decode", "compile_decode_step_time_secs").verdict != REGRESSION


def test_a_run_of_the_base_commit_stored_on_main_is_no_round(with_main):
    """main measured the merge-base itself before the A/B: every run of a commit is a replicate
    for compare, but the A/B pairs only its own rounds, each head run with the base run beside it."""
    store_all(with_main, [run_of(BASE, 15, branch="main", level=0.013)])  # far off: would pair with round 1
    ab_rounds(with_main, 3, slowdown=1.10)
    paired = Paired(SequentialOptions(), prior_branch="main", branches=("ab/base", "ab/head"))
    compared = flow.between(with_main, Request(BASE, HEAD), paired)
    f = figure(compared, "compiled_decode", TTNT)
    assert f.decision.rounds == 3 and f.comparison.base_runs == 3 and f.verdict == REGRESSION
    assert abs(f.comparison.change - 0.10) < 0.02


def test_an_earlier_ab_of_the_same_commits_is_no_round_of_this_one(with_main):
    """A re-run job (or a second A/B of the same merge-base beside it) stores on branches of its
    own: its 2 rounds are judged alone, not as rounds 11-12 after the earlier job's 10."""
    ab_rounds(with_main, 10, slowdown=1.0, job="0123abcd")
    ab_rounds(with_main, 2, slowdown=1.10, job="4567ef89", seed=4, hour=30.0)
    paired = Paired(SequentialOptions(), prior_branch="main", branches=("ab/4567ef89/base", "ab/4567ef89/head"))
    f = figure(flow.between(with_main, Request(BASE, HEAD), paired), "compiled_decode", TTNT)
    assert f.decision.rounds == 2 and f.comparison.base_runs == 2 and f.verdict == REGRESSION
    assert abs(f.comparison.change - 0.10) < 0.02
