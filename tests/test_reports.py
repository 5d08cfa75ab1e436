"""db/reports.py on SQLite and PostgreSQL: reports follow the stored change points (opened,
confirmed, fixed, withdrawn, reopened), idempotently; the moves a person makes, and the ones
the lifecycle refuses."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update

from benchmark.verdicts import detect_runs
from benchmark.analysis.changepoints import DetectOptions
from db import reports
from db.change_points import CONFIRMED, Found, Where, sync as sync_points
from db.models import ChangePoint, RegressionReport
from db.session import session_scope
from db.store import Store
from verdict_data import run_of, sha, store_all

FIGURE = "time_to_next_token_mean_secs"


def levels(*spans: tuple[int, float], seed: int = 1) -> list:
    """Commits of main with these (count, level) spans one after another."""
    rng, out = random.Random(seed), []
    for count, level in spans:
        for _ in range(count):
            out.append(run_of(sha(len(out)), len(out), level=level, rng=rng))
    return out


def detect_and_sync(url: str) -> reports.ReportChanges:
    """What `commitbench detect` does per series: store the scan's points, then the reports."""
    store = Store(url)
    store.open(auto_upgrade=True)
    total = reports.ReportChanges()
    try:
        with session_scope(store.engine) as session:
            for s in detect_runs.histories(session, None, "main"):
                detect_runs.store_offline(session, s, detect_runs.scan(s, DetectOptions()))
                total += detect_runs.store_reports(session, s)
    finally:
        store.close()
    return total


def with_session(url: str, fn):
    store = Store(url)
    store.open(auto_upgrade=True)
    try:
        with session_scope(store.engine) as session:
            return fn(session)
    finally:
        store.close()


def listed(url: str, **kw) -> list[reports.ReportView]:
    return with_session(url, lambda s: reports.listed(s, **kw))


def test_a_regression_opens_one_report_per_figure_and_a_rescan_changes_nothing(db_url):
    store_all(db_url, levels((20, 0.010), (20, 0.011)))
    changes = detect_and_sync(db_url)
    found = listed(db_url)
    assert changes.opened == len(found) == 4  # two figures in each of the two scenarios
    assert {(r.state, r.commit_id, r.previous_commit_id) for r in found} == {("open", sha(20), sha(19))}
    ttnt = next(r for r in found if r.figure == FIGURE)
    assert ttnt.scenario == "compiled_decode" and ttnt.direction == "lower" and abs(ttnt.magnitude - 0.10) < 0.01
    assert [h["state"] for h in ttnt.history] == ["open"] and ttnt.history[0]["by"] == "commitbench detect"
    assert ttnt.change_point_id is not None

    assert detect_and_sync(db_url) == reports.ReportChanges()
    assert listed(db_url) == found  # same rows, same history, same timestamps


def test_an_improvement_opens_nothing(sqlite_url):
    store_all(sqlite_url, levels((20, 0.010), (20, 0.009)))
    assert detect_and_sync(sqlite_url).opened == 0 and listed(sqlite_url) == []


def test_a_later_step_back_fixes_it_and_a_partial_one_does_not(db_url):
    store_all(db_url, levels((20, 0.010), (20, 0.012), (20, 0.0115)))  # +20 %, then back a quarter of it
    detect_and_sync(db_url)
    ttnt = listed(db_url, figure=FIGURE)
    assert [(r.commit_id, r.state) for r in ttnt] == [(sha(20), "open")]

    store_all(db_url, levels((20, 0.010), (20, 0.012), (20, 0.0115), (20, 0.0101))[60:])  # back to the start
    changes = detect_and_sync(db_url)
    fixed = listed(db_url, figure=FIGURE)
    assert changes.fixed >= 1
    assert [(r.commit_id, r.state, r.fixed_by_commit) for r in fixed] == [(sha(20), "fixed", sha(60))]
    assert fixed[0].history[-1]["note"].startswith(f"an improvement step at {sha(60)[:12]} took the level back")


def test_withdrawn_when_no_point_is_found_any_more_and_reopened_when_found_again(db_url):
    store_all(db_url, levels((20, 0.010), (20, 0.011)))
    detect_and_sync(db_url)

    def withdraw_points(session):
        session.execute(update(ChangePoint).values(state="withdrawn"))
        for s in detect_runs.histories(session, None, "main"):
            detect_runs.store_reports(session, s)
    with_session(db_url, withdraw_points)
    assert {r.state for r in listed(db_url)} == {"withdrawn"}

    changes = detect_and_sync(db_url)  # the scan finds the points again
    assert changes.reopened == 4 and {r.state for r in listed(db_url)} == {"open"}
    assert [h["state"] for h in listed(db_url)[0].history] == ["open", "withdrawn", "open"]


def test_a_confirmed_suspect_confirms_it_and_a_nearby_point_is_the_same_report(db_url):
    store_all(db_url, levels((20, 0.010), (20, 0.011)))
    detect_and_sync(db_url)

    def online(session):
        s = next(s for s in detect_runs.histories(session, None, "main") if s.where.figure == FIGURE)
        where = Where(**{**s.where.__dict__, "detector": detect_runs.ONLINE})
        # the newest-commit mode located the same step one commit later; its range covers commit 20
        p = Found(commit_id=sha(21), benchmark_id=s.commits[21].benchmark_id, previous_commit_id=sha(20),
                  low_commit_id=sha(19), high_commit_id=sha(22), before=0.010, after=0.011, magnitude=0.1,
                  score=9.0, direction="lower", verdict="regression", state=CONFIRMED)
        sync_points(session, where, [p], states=())
        return detect_runs.store_reports(session, s)
    assert with_session(db_url, online) == reports.ReportChanges(confirmed=1)
    ttnt = listed(db_url, figure=FIGURE)
    assert [(r.commit_id, r.state) for r in ttnt] == [(sha(20), "confirmed")]


def test_the_moves_a_person_makes_and_the_ones_refused(db_url):
    store_all(db_url, levels((20, 0.010), (20, 0.011)))
    detect_and_sync(db_url)
    a, b, c, _ = (r.report_id for r in listed(db_url))

    def moves(session):
        reports.bisected(session, a, "ab12cd34", {"steps": 3}, "bisector")
        reports.accept(session, a, "alice", "a deliberate trade-off", "https://example.com/pr/1")
        reports.fix(session, b, "ef56ab78", "bob")
    with_session(db_url, moves)
    ra = with_session(db_url, lambda s: reports.view(reports.row_of(s, a)))
    assert (ra.state, ra.first_bad_commit, ra.evidence, ra.accepted_by, ra.reason, ra.link) == \
        ("accepted", "ab12cd34", {"steps": 3}, "alice", "a deliberate trade-off", "https://example.com/pr/1")
    assert [(h["state"], h["by"]) for h in ra.history] == [("open", "commitbench detect"), ("bisected", "bisector"),
                                                           ("accepted", "alice")]
    with pytest.raises(reports.TransitionError, match=rf"report #{b} is fixed: it cannot become accepted "
                                                      r"\(from fixed: nothing: it is final\)"):
        with_session(db_url, lambda s: reports.accept(s, b, "alice", "late"))
    with pytest.raises(reports.TransitionError, match=f"report #{a} is accepted: it cannot become bisected"):
        with_session(db_url, lambda s: reports.bisected(s, a, "ab12cd34", None, "x"))
    with pytest.raises(reports.NoSuchReport, match="no regression report #999"):
        with_session(db_url, lambda s: reports.fix(s, 999, "ab12cd34", "x"))
    # what a person recorded stays when detect runs again; the untouched report stays open
    detect_and_sync(db_url)
    assert {r.report_id: r.state for r in listed(db_url)} == {a: "accepted", b: "fixed", c: "open",
                                                             _: "open"}


def test_active_at_leaves_out_later_commits_decided_reports_and_other_series(sqlite_url):
    store_all(sqlite_url, levels((20, 0.010), (20, 0.011)))
    detect_and_sync(sqlite_url)

    def ids(session, commit: str) -> list[int]:
        from db.models import Benchmark
        return list(session.scalars(select(Benchmark.benchmark_id).where(Benchmark.commit_id == commit)))

    def active(session, commit: str, keys=None):
        keys = keys if keys is not None else list(session.scalars(select(RegressionReport.series_key)))
        return {r.report_id for r in reports.active_at(session, "main", ids(session, commit), keys)}
    everything = {r.report_id for r in listed(sqlite_url)}
    assert with_session(sqlite_url, lambda s: active(s, sha(39))) == everything
    assert with_session(sqlite_url, lambda s: active(s, sha(20))) == everything  # the step's own commit
    assert with_session(sqlite_url, lambda s: active(s, sha(19))) == set()  # before the step
    assert with_session(sqlite_url, lambda s: active(s, sha(39), keys=[])) == set()
    first = min(everything)
    with_session(sqlite_url, lambda s: reports.accept(s, first, "alice", "ok"))
    assert with_session(sqlite_url, lambda s: active(s, sha(39))) == everything - {first}
