"""The detector grades itself: analysis/report_stats.py on literal reports, and
`commitbench reports stats` / `status`'s headline on a stored history with reports in every
end state (confirmed, bisected, accepted, withdrawn on main; fixed on release)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from benchmark.analysis.report_stats import DAY, Median, ReportFacts, distance, grades, headline, overall
from benchmark.cli import main
from benchmark.verdicts import detect_runs
from db import reports
from db.change_points import CONFIRMED, Found, Where, sync as sync_points
from db.models import ChangePoint, RegressionReport
from test_reports import with_session
from verdict_data import run_of, sha, store_all

FIGURE = "time_to_next_token_mean_secs"


def fact(state: str, figure: str = "f", detector: str | None = "d/1", step_at: float | None = 0.0,
         reported_at: float = DAY, fixed_at: float | None = None, to_report: int | None = 3,
         to_fix: int | None = None) -> ReportFacts:
    return ReportFacts(detector, figure, state, step_at, reported_at, fixed_at, to_report, to_fix)


def test_distance_counts_commits_in_the_series_order():
    order = ["a", "b", "c", "d"]
    assert distance(order, "a", "d") == 3 and distance(order, "b", "b") == 0
    assert distance(order, "d", "b") == 0  # the fix was already there when the report was made
    assert distance(order, "a", "x") is None and distance(order, None, "a") is None


def test_grades_per_detector_and_figure_with_medians_of_the_known_values():
    facts = [
        fact("withdrawn", to_report=1),
        fact("fixed", reported_at=2 * DAY, fixed_at=5 * DAY, to_report=3, to_fix=4),
        fact("fixed", reported_at=4 * DAY, fixed_at=5 * DAY, to_report=5, to_fix=None),
        fact("accepted", step_at=None, to_report=None),
        fact("open", figure="g"),
        fact("confirmed", detector=None),
    ]
    by = {(g.detector, g.figure): g for g in grades(facts)}
    assert list(by) == [("d/1", "f"), ("d/1", "g"), ("unknown", "f")]
    g = by[("d/1", "f")]
    assert (g.reports, g.withdrawn, g.withdrawn_share, g.fixed) == (4, 1, 0.25, 2)
    assert g.states == {"accepted": 1, "fixed": 2, "withdrawn": 1}
    assert g.commits_to_report == Median(3, 3)  # 1, 3, 5 (the accepted one's is unknown)
    assert g.days_to_report == Median(2.0, 3)  # 1, 2, 4 days (the accepted one's step time is unknown)
    assert g.commits_to_fix == Median(4, 1) and g.days_to_fix == Median(2.0, 2)  # 3 and 1 days
    everything = overall(facts)
    assert (everything.reports, everything.withdrawn, everything.fixed) == (6, 1, 2)
    assert headline(everything, "90d") == ("reports (90d): 6, 1 withdrawn (17%); step to report: median 3 commits, "
                                           "1.0 days; report to fix: median 4 commits, 2.0 days (2 fixed)")


def test_no_reports_is_said_and_a_median_without_values_is_a_dash():
    assert headline(overall([]), "90d") == "reports (90d): none"
    g = overall([fact("open", step_at=None, to_report=None)])
    assert g.days_to_report == Median(None, 0) and g.withdrawn_share == 0.0
    assert headline(g, None) == ("reports: 1, 0 withdrawn (0%); step to report: median -, -; report to fix: "
                                 "median -, - (0 fixed)")


# -- a stored history -------------------------------------------------------------------------------------------

def spans(branch: str, prefix: str, *levels: tuple[int, float], start: int = 0) -> list:
    rng, out, i = random.Random(branch), [], 0  # a seed per branch: run ids differ
    for count, level in levels:
        for _ in range(count):
            out.append(run_of(sha(i, prefix), i, level=level, branch=branch, rng=rng))
            i += 1
    return out[start:]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


REPORTED = datetime(2026, 1, 3, 20)  # two days after the step's commit (T0 + 20 h)


@pytest.fixture
def every_end_state(db_url, capsys):
    """main: a 10 % step at commit 20 of 40, its four reports confirmed, bisected, accepted and
    withdrawn; release: a 20 % step at commit 20 of 40, fixed by a step back at commit 40 (measured after the report)."""
    main_steps = ((20, 0.010), (20, 0.011))
    release_steps = ((20, 0.010), (20, 0.012), (20, 0.010))
    store_all(db_url, spans("main", "c", *main_steps) + spans("release", "d", *release_steps[:2]))
    assert cli(capsys, "detect", "--db", db_url)[0] == 0
    found = with_session(db_url, lambda s: reports.listed(s, branch="main"))
    assert len(found) == 4 and {r.commit_id for r in found} == {sha(20)}
    by_figure = {r.figure: r.report_id for r in found}
    confirmed = by_figure.pop(FIGURE)
    bisected, accepted, withdrawn = sorted(by_figure.values())

    def moves(session):
        s = next(s for s in detect_runs.histories(session, None, "main") if s.where.figure == FIGURE)
        p = Found(commit_id=sha(21), benchmark_id=s.commits[21].benchmark_id, previous_commit_id=sha(20),
                  low_commit_id=sha(19), high_commit_id=sha(22), before=0.010, after=0.011, magnitude=0.1,
                  score=9.0, direction="lower", verdict="regression", state=CONFIRMED)
        sync_points(session, Where(**{**s.where.__dict__, "detector": detect_runs.ONLINE}), [p], states=())
        detect_runs.store_reports(session, s)
        reports.bisected(session, bisected, sha(20), {"steps": 5}, "bisector")
        reports.accept(session, accepted, "alice", "a deliberate trade-off")
        gone = session.get(RegressionReport, withdrawn)
        session.execute(update(ChangePoint).where(ChangePoint.branch == "main", ChangePoint.figure == gone.figure,
                                                  ChangePoint.series_key == gone.series_key).values(state="withdrawn"))
        s = next(s for s in detect_runs.histories(session, None, "main")
                 if (s.where.figure, s.where.series_key) == (gone.figure, gone.series_key))
        detect_runs.store_reports(session, s)
    with_session(db_url, moves)
    store_all(db_url, spans("release", "d", *release_steps, start=40))
    assert cli(capsys, "detect", "--db", db_url, "--branch", "release")[0] == 0

    def pin_times(session):  # reports opened two days after the step, fixes three days after the report
        for r in session.scalars(select(RegressionReport)):
            r.created_at = REPORTED
            r.history = [h | {"at": (REPORTED + timedelta(days=3)).isoformat() + "Z"} if h["state"] == "fixed"
                         else h for h in r.history]
    with_session(db_url, pin_times)
    states = with_session(db_url, lambda s: {r.report_id: (r.branch, r.state) for r in reports.listed(s)})
    assert sorted(states.values()) == [("main", "accepted"), ("main", "bisected"), ("main", "confirmed"),
                                       ("main", "withdrawn")] + [("release", "fixed")] * 4
    return db_url


def test_reports_stats_grades_every_end_state(every_end_state, capsys):
    code, out, err = cli(capsys, "reports", "stats", "--since", "all", "--format", "json", "--db", every_end_state)
    assert code == 0 and err == ""
    doc = json.loads(out)
    o = doc["overall"]
    assert (o["reports"], o["withdrawn"], o["withdrawn_share"], o["fixed"]) == (8, 1, 0.125, 4)
    assert o["states"] == {"accepted": 1, "bisected": 1, "confirmed": 1, "fixed": 4, "withdrawn": 1}
    # main's reports were opened at its newest commit, 39, 19 after the step; release's likewise
    assert o["commits_to_report"] == {"median": 19, "n": 8}
    assert o["days_to_report"] == {"median": 2.0, "n": 8}
    # release's were opened at commit 39 and fixed by commit 40
    assert o["commits_to_fix"] == {"median": 1, "n": 4} and o["days_to_fix"] == {"median": 3.0, "n": 4}
    groups = {(g["detector"], g["figure"]): g for g in doc["groups"]}
    assert len(groups) == 4 and {d for d, _ in groups} == {"commitbench/1"}
    assert all(g["reports"] == 2 and g["fixed"] == 1 for g in groups.values())
    assert sorted(g["withdrawn"] for g in groups.values()) == [0, 0, 0, 1]
    assert doc["headline"] == ("reports: 8, 1 withdrawn (12%); step to report: median 19 commits, 2.0 days; "
                               "report to fix: median 1 commit, 3.0 days (4 fixed)")

    code, text, _ = cli(capsys, "reports", "stats", "--since", "all", "--db", every_end_state)
    lines = text.splitlines()
    assert code == 0 and lines[0] == doc["headline"] and lines[1].split()[:4] == ["DETECTOR", "FIGURE", "REPORTS",
                                                                                "WITHDRAWN"]
    assert len(lines) == 6 and all(line.startswith("commitbench/1") for line in lines[2:])
    # opened in January: none in the last 90 days, all in the last 400
    assert cli(capsys, "reports", "stats", "--db", every_end_state)[1] == "reports (90d): none\n"
    assert json.loads(cli(capsys, "reports", "stats", "--since", "400d", "--format", "json", "--db",
                          every_end_state)[1])["overall"]["reports"] == 8
    assert json.loads(cli(capsys, "reports", "stats", "--since", "all", "--branch", "release", "--format", "json",
                          "--db", every_end_state)[1])["overall"]["states"] == {"fixed": 4}


def test_status_shows_the_headline(every_end_state, capsys):
    with_session(every_end_state, lambda s: s.execute(update(RegressionReport).values(
        created_at=datetime.utcnow() - timedelta(days=1))))
    code, out, _ = cli(capsys, "status", "--db", every_end_state, "--max-age", "1000d")
    assert out.splitlines()[1].startswith("reports (90d): 8, 1 withdrawn (12%); step to report: median 19 commits")
    code, out, _ = cli(capsys, "status", "--db", every_end_state, "--max-age", "1000d", "--format", "json")
    assert json.loads(out)["reports"].startswith("reports (90d): 8, 1 withdrawn")


@pytest.mark.parametrize("args, message", [
    (["--since", "soon"], "--since: 'soon' is not an age"),
    (["--since", "0d"], "--since: '0d' is not an age"),
    (["--since", "9" * 22 + "d"], "--since: '" + "9" * 22 + "d' is too long: at most 36500d, or all"),
    (["--branch", "two\nlines"], "--branch: invalid branch name"),
])
def test_bad_input_is_one_line_and_exit_2(every_end_state, capsys, args, message):
    code, out, err = cli(capsys, "reports", "stats", *args, "--db", every_end_state)
    assert code == 2 and out == "" and err.startswith(f"commitbench: error: {message}") and err.count("\n") == 1
