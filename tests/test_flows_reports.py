"""benchmark/flows/reports.py: a report's number, who records a move, and (on a real SQLite
database) a move in one transaction, refused moves writing nothing. The commands over it are
tests/test_cli_reports.py; the lifecycle itself tests/test_reports.py."""

from __future__ import annotations

import pytest

from benchmark.flows import reports as flow
from benchmark.flows.errors import Failure
from db import reports as store


@pytest.mark.parametrize("value, number", [("3", 3), ("#3", 3), (" #12 ", 12)])
def test_a_report_number(value, number):
    assert flow.report_id_of(value) == number


@pytest.mark.parametrize("value", ["x", "0", "-1", "#", "3.5", str(2**31)])
def test_not_a_report_number(value):
    with pytest.raises(Failure, match="report id must be a number such as 3 or #3") as e:
        flow.report_id_of(value)
    assert e.value.code == 2


def test_who_records_a_move(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert flow.who(None) == "octocat" and flow.who("  alice   b ") == "alice b"
    monkeypatch.delenv("GITHUB_ACTOR")
    monkeypatch.setenv("USER", "bob")
    assert flow.who(None) == "bob"
    with pytest.raises(Failure, match="--by must be 1-255 characters"):
        flow.who("x" * 256)


def test_the_lifecycle_says_which_moves_it_allows():
    class R:
        state = store.FIXED

    assert not store.may_become(R, store.BISECTED)
    R.state = store.OPEN
    assert store.may_become(R, store.BISECTED) and store.may_become(R, store.ACCEPTED)


def test_no_report_is_bad_input_and_writes_nothing(tmp_path):
    from helpers import upgrade_db

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    upgrade_db(url)
    for call in (lambda: flow.check_bisectable(url, 4), lambda: flow.record_bisected(url, 4, "a" * 40, {})):
        with pytest.raises(Failure, match="no regression report #4") as e:
            call()
        assert e.value.code == 2
