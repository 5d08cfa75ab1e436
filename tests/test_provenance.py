"""benchmark/analysis/provenance.py on literal facts: what changed between consecutive runs
and between compare's two sides."""

from __future__ import annotations

from benchmark.analysis.provenance import Change, between_sides, changes, consecutive, facts


def env(**kw):
    return {"torch": "2.12.0", "transformers": "4.57.0", "torch_cuda": "12.8", "driver_version": "580.1",
            "commitbench": "0.1.0", "hostname": "h"} | kw


def test_facts_shorten_the_hash_and_keep_only_watched_keys():
    f = facts("ab" * 32, env(hostname="other"))
    assert f == {"config_hash": "abababab", "torch": "2.12.0", "transformers": "4.57.0", "torch_cuda": "12.8",
                 "driver_version": "580.1", "commitbench": "0.1.0"}
    assert facts(None, None) == dict.fromkeys(f)


def test_changes_in_watched_order_and_only_where_both_recorded():
    a, b = facts("0" * 64, env()), facts("1" * 64, env(torch="2.13.0", driver_version=None, hostname="x"))
    assert changes(a, b) == [Change("config_hash", "config", "00000000", "11111111"),
                             Change("torch", "torch", "2.12.0", "2.13.0")]
    assert changes(a, a) == []
    assert changes(a, b)[1].text() == "torch 2.12.0 -> 2.13.0"


def test_consecutive_runs():
    runs = [("r1", facts("0" * 64, env())), ("r2", facts("0" * 64, env())),
            ("r3", facts("0" * 64, env(transformers="4.58.0"))), ("r4", facts("0" * 64, env(transformers="4.58.0")))]
    assert consecutive(runs) == [("r3", [Change("transformers", "transformers", "4.57.0", "4.58.0")])]
    assert consecutive(runs[:1]) == [] and consecutive([]) == []


def test_between_sides_compares_the_sets_of_values():
    base = [facts("0" * 64, env()), facts("0" * 64, env(torch="2.12.1"))]
    head = [facts("0" * 64, env(torch="2.13.0"))]
    assert between_sides(base, head) == [Change("torch", "torch", "2.12.0/2.12.1", "2.13.0")]
    assert between_sides(base, base[::-1]) == []
    assert between_sides(base, [facts(None, {})]) == []  # nothing recorded on head: no claim


def test_the_code_under_test_is_no_environment_change():
    # #19 item 13: benchmarking transformers' own checkout, its version is the commit's change
    base = [facts("0" * 64, env(code_under_test=["transformers"]))]
    head = [facts("0" * 64, env(transformers="4.58.0.dev0", torch="2.13.0", code_under_test=["transformers"]))]
    assert base[0]["transformers"] is None
    assert between_sides(base, head) == [Change("torch", "torch", "2.12.0", "2.13.0")]
    assert changes(base[0], head[0]) == [Change("torch", "torch", "2.12.0", "2.13.0")]
    # a run that names no code under test (stored before the key, or a plain run) keeps the note
    assert between_sides([facts("0" * 64, env())], [facts("0" * 64, env(transformers="4.58.0"))]) == \
        [Change("transformers", "transformers", "4.57.0", "4.58.0")]
    assert facts(None, env(code_under_test="transformers"))["transformers"] == "4.57.0"  # not a list: ignored
    assert facts(None, env(code_under_test=[{"x": 1}, "torch"]))["torch"] is None
