"""benchmark/flows/read.py: a run and a series by the name a user gives, on a real SQLite
database; a name that fits nothing (or several series) is bad input naming the choices."""

from __future__ import annotations

import pytest
from verdict_data import history, run_of, sha, store_all

from benchmark.flows.errors import Failure
from benchmark.flows.read import run_named, series_named
from benchmark.flows.store import reading


@pytest.fixture
def stored(sqlite_url):
    store_all(sqlite_url, history(3) + [run_of("b" * 40, 10, branch="pr-1")])
    return sqlite_url


def test_a_run_by_id_prefix_or_latest(stored):
    with reading(stored) as session:
        assert run_named(session, "latest", "main").commit_id == sha(2)
        assert run_named(session, "latest", "pr-1").commit_id == "b" * 40
        latest = run_named(session, "latest", None)
        assert run_named(session, latest.run_uid[:8], None).run_uid == latest.run_uid
        with pytest.raises(Failure) as e:
            run_named(session, "ffffffff", None)
        assert e.value.code == 2


def test_a_series_by_scenario_or_key(stored):
    with reading(stored) as session:
        s = series_named(session, branch="main", repository=None, scenario="eager", series=None)
        assert s.scenario == "eager"
        every = series_named(session, branch=None, repository=None, scenario=None, series=s.series_key[:6])
        assert every.series_key == s.series_key and (s.runs, every.runs) == (3, 4)  # main; main and pr-1
        with pytest.raises(Failure, match="no scenario 'warp' stored on branch main") as e:
            series_named(session, branch="main", repository=None, scenario="warp", series=None)
        assert e.value.code == 2
        with pytest.raises(Failure, match="series match, give --series KEY"):
            series_named(session, branch=None, repository=None, scenario=None, series="")
