"""`commitbench validate` and what validity does downstream, on stored runs (both backends):
injected throttle reasons make a run invalid, naming the rule; compare and detect leave it
out (compare says so) while history and show still list it with its reason."""

from __future__ import annotations

import json

from sqlalchemy import select

from benchmark.cli import main
from benchmark.contracts.result import DeviceSample
from benchmark.verdicts.detect_runs import histories
from db.models import Benchmark
from db.session import make_engine, session_scope
from verdict_data import T0, history, run_of, sha, store_all

SW_POWER_CAP = 0x4
HEAD = "feed" + "0" * 36


def sampled(result, throttle: int = 0, clock: float = 1980.0):
    """Device samples in every scenario's measured phase, as NVML would give them."""
    for s in result.scenarios:
        s.samples = [DeviceSample(time=T0 + i, scenario=s.name, phase="decode", cpu_util=100.0, mem_megabytes=1.0,
                                  gpu_util=99.0, sm_clock_mhz=clock, temperature_c=60.0, throttle_reasons=throttle,
                                  gpu_other_processes=0) for i in range(3)]
    return result


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def stored(url: str) -> dict[str, tuple]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            return {b.commit_id: (b.valid, b.invalid_reasons) for b in s.scalars(select(Benchmark))}
    finally:
        engine.dispose()


def throttled_main(url: str) -> str:
    """12 healthy commits of main, the newest one throttled and 30 % slower; a PR at main's
    level. Returns the throttled commit."""
    runs = [sampled(r) for r in history(12)]
    bad = sampled(run_of(sha(12), 12, level=0.013), throttle=SW_POWER_CAP | 0x1)
    store_all(url, runs + [bad, run_of(HEAD, 20, branch="pr-1")])
    return bad.commit_id


def test_throttled_run_is_invalid_and_left_out_of_compare_and_detect(db_url, capsys):
    bad = throttled_main(db_url)
    assert {v for v, _ in stored(db_url).values()} == {None}  # stored before judging: not evaluated
    assert all(len(x.commits) == 13 for x in detect_series(db_url))  # not evaluated counts

    code, out, err = cli(capsys, "validate", "--branch", "main", "--db", db_url)
    assert code == 0, err
    lines = out.splitlines()
    assert sum(line.endswith(": valid (was not evaluated)") for line in lines) == 12
    assert f"main @ {bad[:8]}: INVALID (was not evaluated)" in out
    # the rule names itself, once for the run (its worst phase and how many phases); the idle
    # bit beside sw_power_cap is not a reason
    assert "  throttle in 2 phases (eager/decode, compiled_decode/decode), worst: sw_power_cap in 3 of 3 samples (eager/decode)" in lines
    valid, reasons = stored(db_url)[bad]
    assert valid is False and {r["rule"] for r in reasons} == {"throttle"}
    assert stored(db_url)[HEAD] == (None, None)  # another branch: not touched

    # compare: base main passes over the invalid commit to the newest valid one, and says so
    code, out, err = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", db_url)
    assert code == 0, out + err
    assert f"vs base main ({sha(11)[:8]})" in out
    assert "from the base history of up to 10 runs and the runs themselves" in out and "the the" not in out
    assert "left out base run" in out and f"({bad[:8]}): invalid: throttle in 2 phases (eager/decode, compiled_decode/decode), worst: sw_power_cap in 3 of 3 samples (eager/decode)" in out
    code, out, err = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "markdown",
                         "--db", db_url)
    assert "left out base run" in out
    # naming the invalid commit itself leaves nothing to compare
    code, out, err = cli(capsys, "compare", "--base", "main", "--head", bad, "--db", db_url)
    assert code == 9 and "all 1 run(s) invalid, left out" in err and "sw_power_cap" in err

    # detect's series have no point at the invalid commit, and detect says it left one out
    series = detect_series(db_url)
    assert series and all(bad not in [c.commit_id for c in x.commits] and len(x.commits) == 12 for x in series)
    code, out, _ = cli(capsys, "detect", "--branch", "main", "--dry-run", "--db", db_url)
    assert code == 0 and out.splitlines()[1] == ("1 invalid run left out (`commitbench history` lists them with "
                                                 "the reason)")
    code, out, _ = cli(capsys, "detect", "--branch", "main", "--dry-run", "--format", "json", "--db", db_url)
    assert json.loads(out)["invalid_runs_left_out"] == 1

    # still shown, with the reason
    code, out, _ = cli(capsys, "history", "--branch", "main", "--db", db_url)
    assert any(line.startswith(bad[:12]) and "INVALID" in line for line in out.splitlines())
    code, out, _ = cli(capsys, "show", f"#{_id(db_url, bad)}", "--db", db_url)
    assert "  INVALID (left out of compare and detect): throttle in 2 phases (eager/decode, compiled_decode/decode), worst: sw_power_cap in 3 of 3 samples (eager/decode); to fix: a quieter runner" in out
    assert out.count("sw_power_cap") == 1  # once per run, not once per phase


def detect_series(url: str):
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            return histories(s, None, "main")
    finally:
        engine.dispose()


def _id(url: str, commit: str) -> int:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            return s.scalar(select(Benchmark.benchmark_id).where(Benchmark.commit_id == commit))
    finally:
        engine.dispose()


def test_rules_changed_later_apply_to_history(sqlite_url, capsys, tmp_path):
    bad = throttled_main(sqlite_url)
    assert cli(capsys, "validate", "--branch", "main", "--db", sqlite_url)[0] == 0
    rules = tmp_path / "rules.toml"
    rules.write_text('[validity]\nignore_throttle_reasons = ["gpu_idle", "sw_power_cap"]\n')
    run = f"#{_id(sqlite_url, bad)}"

    code, out, _ = cli(capsys, "validate", "--run", run, "--rules", str(rules), "--dry-run", "--db", sqlite_url)
    assert code == 0 and out.splitlines()[0].endswith(": valid (was INVALID)")
    assert stored(sqlite_url)[bad][0] is False  # a dry run stores nothing

    code, out, _ = cli(capsys, "validate", "--run", run, "--rules", str(rules), "--db", sqlite_url)
    assert code == 0 and stored(sqlite_url)[bad] == (True, [])
    # judged again without --rules: by the rules it was judged by last, not the defaults
    code, out, _ = cli(capsys, "validate", "--run", run, "--db", sqlite_url)
    assert out.splitlines()[0].endswith(": valid")


def test_bad_input(sqlite_url, capsys, tmp_path):
    throttled_main(sqlite_url)
    bad_rules = tmp_path / "bad.toml"
    bad_rules.write_text("[validity]\nsm_clock_min_share = 2\n")
    empty = tmp_path / "empty.toml"
    empty.write_text("model = 'micro-llama'\n")
    before = stored(sqlite_url)
    for args, message in [
        (["--branch", "main", "--rules", str(bad_rules)],
         f"{bad_rules} [validity] sm_clock_min_share must be a number from 0 to 1"),
        (["--branch", "main", "--rules", str(empty)], f"{empty} has no [validity] table"),
        (["--run", "ffffffff"], "ffffffff"),
        (["--branch", "nope"], "no finished runs of branch 'nope'"),
    ]:
        code, out, err = cli(capsys, "validate", *args, "--db", sqlite_url)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
    assert stored(sqlite_url) == before
    code, _, err = cli(capsys, "validate", "--branch", "main", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert code == 2 and "no results stored yet" in err


def test_an_invalid_run_is_left_out_of_compares_history(sqlite_url, capsys):
    runs = [sampled(r, throttle=SW_POWER_CAP if i == 5 else 0) for i, r in enumerate(history(12))]
    store_all(sqlite_url, runs + [run_of(HEAD, 20, branch="pr-1")])

    def history_runs() -> set[int]:
        code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json",
                           "--history", "20", "--db", sqlite_url)
        return {f["history_runs"] for s in json.loads(out)["series"] for f in s["figures"] if f["unit"] != "count"}

    assert history_runs() == {11}  # every earlier commit of main
    assert cli(capsys, "validate", "--branch", "main", "--db", sqlite_url)[0] == 0
    assert history_runs() == {10}  # less the throttled one
