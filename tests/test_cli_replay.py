"""`commitbench replay`: a real tiny CPU run replayed from its stored record, in real
subprocesses (the slow tier; bad input runs in process). The replay's stored configuration
equals the original's, it links back to it, and each figure is shown beside the original's
with a within/outside verdict (no timing is asserted: which figures land within is the
machine's business)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from helpers import FAST, IDENT, cli_in_process, read_run, run_cli, run_uid, upgrade_db

ROW = re.compile(r"^  (\S+)\s+(\S+)\s+.*\s(within|outside|no spread|missing)$", re.M)


@pytest.mark.slow
def test_replay_reproduces_the_stored_run(cb):
    url = cb.default_url
    r = run_cli(["run", *IDENT, *FAST, "--scenarios", "eager", "--db", url], cb.env)
    assert r.returncode == 0, r.stderr
    original = run_uid(r.stdout)

    dry = run_cli(["replay", original[:8], "--db", url, "--dry-run"], cb.env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"replay of run {original}: test-branch @ abcd1234, model micro-llama on cpu, seed 0")
    assert "  eager[new_tokens=6]" in dry.stdout
    assert _runs(url) == 1  # a dry run runs nothing

    r = run_cli(["replay", original, "--db", url], cb.env)
    assert r.returncode == 0, r.stderr
    replay = run_uid(r.stdout)
    assert replay != original and f"replay of run {original}" in r.stdout
    a, b = read_run(url, original)["benchmark"], read_run(url, replay)["benchmark"]
    assert b["config"] == a["config"] and b["config_hash"] == a["config_hash"]
    assert (b["branch"], b["commit_id"], b["model_id"]) == (a["branch"], a["commit_id"], a["model_id"])
    assert b["replay_of"] == original and a["replay_of"] is None
    command = b["environment"]["command"]
    assert command[1:3] == ["replay", original] and command[0].endswith("commitbench")
    assert b["validity_rules"] == a["validity_rules"]  # judged by the rules the original was

    assert f"replay {replay[:8]} beside original {original[:8]}:" in r.stdout
    rows = ROW.findall(r.stdout)
    figures = {f for s, f, _ in rows if s == "eager[new_tokens=6]"}
    assert {"eager_time_to_next_token_secs", "first_eager_forward_pass_time_secs"} <= figures
    assert {v for _, _, v in rows} <= {"within", "outside", "no spread"}
    assert any(v in ("within", "outside") for _, _, v in rows)  # the decode figures have a spread
    judged = sum(v in ("within", "outside") for _, _, v in rows)
    within = sum(v == "within" for _, _, v in rows)
    assert re.search(rf"^{within} of {judged} figures within the original's repetition spread", r.stdout, re.M)
    assert f"at the level of runs: commitbench compare --base run:{original} --head run:{replay}" in r.stdout


def test_replay_bad_input(cb):
    url = cb.default_url
    r = cli_in_process(["replay", "ffffffff", "--db", url], cb.env)
    assert r.returncode == 2 and "no results stored yet" in r.stderr
    engine = create_engine(url)
    from db.migrate import upgrade

    upgrade(engine)
    with engine.begin() as conn:  # a run the seed's runner stored: no configuration
        conn.execute(text("INSERT INTO benchmarks (run_uid, branch, commit_id) VALUES "
                          "('00000000-0000-0000-0000-00000000beef', 'main', 'abcd1234')"))
    engine.dispose()
    r = cli_in_process(["replay", "00000000", "--db", url], cb.env)
    assert r.returncode == 2
    assert r.stderr.strip() == ("commitbench: error: cannot replay run 00000000: it has no stored configuration "
                                "(stored by transformers' v4.46 benchmark/llama.py?)")
    r = cli_in_process(["replay", "ffffffff", "--db", url], cb.env)
    assert r.returncode == 2 and "ffffffff" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert _runs(url) == 1


def _runs(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM benchmarks")).scalar()
    finally:
        engine.dispose()


def test_replay_of_a_stored_run_with_a_kind_without_model_parameters(cb):
    # #19 item 8: the stored config resolves every scenario's dtype, selftest_error's too
    import json

    from benchmark.contracts.config import build_config

    cfg = build_config({"model": "micro-llama", "scenarios": [{"kind": "eager"}, {"kind": "selftest_error"}]})
    stored = cfg.resolve("cpu")
    url = cb.default_url
    upgrade_db(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO benchmarks (run_uid, branch, commit_id, config, config_hash) VALUES "
                          "('00000000-0000-0000-0000-0000000000e8', 'main', 'abcd1234', :config, :hash)"),
                     {"config": json.dumps(stored.to_dict()), "hash": stored.hash()})
    engine.dispose()
    r = cli_in_process(["replay", "00000000", "--db", url, "--dry-run"], cb.env)
    assert r.returncode == 0, r.stderr
    assert f"2 scenario(s), config {stored.hash()[:12]} (stored {stored.hash()[:12]})" in r.stdout
    assert r.stdout.splitlines()[1:] == ["  eager", "  selftest_error"]
