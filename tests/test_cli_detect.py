"""`commitbench detect` on stored histories with known steps: what it finds and where,
storing idempotently on SQLite and PostgreSQL, the newest-commit mode and --input."""

from __future__ import annotations

import json
import re
import random

import pytest
from sqlalchemy import create_engine, text

from benchmark.cli import main
from verdict_data import history, run_of, sha, store_all


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def stored(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT scenario, figure, commit_id, state, verdict, detector FROM change_points "
                "ORDER BY scenario, figure, detector, commit_id"))]
    finally:
        engine.dispose()


def test_a_step_is_found_at_its_commit_and_stored_once(db_url, capsys):
    store_all(db_url, history(40, step_at=20, step=0.10))
    code, out, _ = cli(capsys, "detect", "--format", "json", "--db", db_url)
    assert code == 0
    doc = json.loads(out)
    assert doc["stored"]["inserted"] == len(doc["change_points"]) > 0
    found = {(c["scenario"], c["figure"]): c for c in doc["change_points"]}
    for key in (("compiled_decode", "time_to_next_token_mean_secs"), ("compiled_decode", "time_to_next_token_secs"),
                ("eager", "eager_time_to_next_token_secs"), ("eager", "eager_decode_tokens_per_sec")):
        assert found[key]["commit_id"] == sha(20), key
        assert found[key]["previous_commit_id"] == sha(19)
        assert found[key]["verdict"] == "regression"
    ttnt = found[("compiled_decode", "time_to_next_token_mean_secs")]
    assert abs(ttnt["magnitude"] - 0.10) < 0.01 and abs(ttnt["before"] - 0.010) < 0.0003
    assert all(c["commit_id"] == sha(20) for c in doc["change_points"])  # nothing else: no false alarms
    rows = stored(db_url)
    assert len(rows) == len(doc["change_points"]) and {r[3] for r in rows} == {"detected"}

    code, out, _ = cli(capsys, "detect", "--db", db_url)  # again: nothing changes
    assert code == 0 and "stored: 0 new, 0 updated, 0 withdrawn" in out.splitlines()[0]
    assert stored(db_url) == rows


def test_new_runs_extend_the_analysis(sqlite_url, capsys):
    runs = history(60, step_at=30, step=-0.08)
    store_all(sqlite_url, runs[:25])
    cli(capsys, "detect", "--db", sqlite_url)
    assert stored(sqlite_url) == []
    store_all(sqlite_url, runs[25:])
    code, out, _ = cli(capsys, "detect", "--format", "json", "--db", sqlite_url)
    doc = json.loads(out)
    assert {c["commit_id"] for c in doc["change_points"]} == {sha(30)}
    assert {(c["figure"], c["verdict"]) for c in doc["change_points"]} >= {
        ("time_to_next_token_mean_secs", "improvement"), ("eager_decode_tokens_per_sec", "improvement")}


def test_a_failed_commit_and_an_outlier_are_not_change_points(sqlite_url, capsys):
    runs = history(40)
    runs[15] = run_of(sha(15), 15, eager_fails=True)
    runs[25] = run_of(sha(25), 25, level=0.013)  # one run 30 % slow, then back
    store_all(sqlite_url, runs)
    code, out, _ = cli(capsys, "detect", "--format", "json", "--db", sqlite_url)
    assert code == 0 and json.loads(out)["change_points"] == []


def test_a_point_no_longer_found_is_withdrawn(sqlite_url, capsys):
    runs = history(40, step_at=20, step=0.10)
    store_all(sqlite_url, runs)
    cli(capsys, "detect", "--db", sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:  # the step's runs turn out invalid: their scenarios failed
        conn.execute(text("UPDATE scenario_runs SET status = 'failed' WHERE benchmark_id IN "
                          "(SELECT benchmark_id FROM benchmarks WHERE commit_time >= "
                          "(SELECT commit_time FROM benchmarks WHERE commit_id = :c))"), {"c": sha(20)})
    engine.dispose()
    code, out, _ = cli(capsys, "detect", "--db", sqlite_url)
    assert "0 new, 0 updated" in out.splitlines()[0] and "withdrawn" in out.splitlines()[0]
    assert {r[3] for r in stored(sqlite_url)} == {"withdrawn"}


def test_newest_commit_mode(sqlite_url, capsys):
    store_all(sqlite_url, history(30))
    code, out, _ = cli(capsys, "detect", "--newest", "--branch", "main", "--format", "markdown", "--db", sqlite_url)
    assert code == 0 and "No suspected change at the newest commits" in out
    store_all(sqlite_url, [run_of(sha(30), 30, level=0.0115), run_of(sha(31), 31, level=0.0115)])
    code, out, _ = cli(capsys, "detect", "--newest", "--branch", "main", "--format", "json", "--db", sqlite_url)
    doc = json.loads(out)
    flagged = {(c["figure"], c["commit_id"], c["state"]) for c in doc["change_points"]}
    assert ("time_to_next_token_mean_secs", sha(30), "suspected") in flagged or \
        ("time_to_next_token_mean_secs", sha(30), "confirmed") in flagged
    assert {r[5] for r in stored(sqlite_url)} == {"commitbench-newest/1"}
    code, out, _ = cli(capsys, "detect", "--newest", "--branch", "main", "--dry-run", "--db", sqlite_url)
    first = out.splitlines()[0]  # the noun takes the plural: "changes at the newest commits", never "commitss"
    assert code == 0 and "commitss" not in out and re.search(r"; (1 suspected change|\d+ suspected changes) at the "
                                                             r"newest commits$", first), first


def test_dry_run_stores_nothing(sqlite_url, capsys):
    store_all(sqlite_url, history(40, step_at=20, step=0.10))
    code, out, _ = cli(capsys, "detect", "--dry-run", "--db", sqlite_url)
    assert code == 0 and "change points" in out.splitlines()[0] and "stored" not in out.splitlines()[0]
    assert stored(sqlite_url) == []


def test_input_mode(tmp_path, capsys):
    rng = random.Random(3)
    flat = [1.0 + rng.gauss(0, 0.005) for _ in range(60)]
    step = flat[:30] + [v * 1.1 for v in flat[30:]]
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "flat", "values": flat}) + "\n"
                   + json.dumps({"id": "step", "values": step, "reps": [[v, v * 1.001, v * 0.999] for v in step]})
                   + "\n")
    code, out, _ = cli(capsys, "detect", "--input", str(src))
    assert code == 0
    assert [json.loads(ln) for ln in out.splitlines()] == [{"id": "flat", "change_points": []},
                                                          {"id": "step", "change_points": [30]}]


def _flat(n: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    return [1.0 + rng.gauss(0, 0.005) for _ in range(n)]


def test_input_newest_mode(tmp_path, capsys):
    """The newest-commit question of file data: a 5 % step in the last two commits is suspected at
    its first commit; a flat series, and one whose step is old (the newest commits sit at its level),
    name nothing; a lone outlier at the end is withdrawn once its successor goes back: not named."""
    flat = _flat(40)
    newest_step = flat[:38] + [v * 1.05 for v in flat[38:]]
    old_step = flat[:15] + [v * 1.05 for v in flat[15:]]
    outlier = flat[:38] + [flat[38] * 1.03, flat[39]]  # newest() calls it "withdrawn"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(c) + "\n" for c in [
        {"id": "flat", "values": flat},
        {"id": "newest", "values": newest_step, "reps": [[v, v * 1.002, v * 0.998] for v in newest_step]},
        {"id": "reps only", "reps": [[v, v * 1.002, v * 0.998] for v in newest_step]},
        {"id": "old", "values": old_step},
        {"id": "outlier", "values": outlier}]))
    code, out, err = cli(capsys, "detect", "--input", str(src), "--newest")
    assert code == 0 and err == ""
    assert [json.loads(ln) for ln in out.splitlines()] == [
        {"id": "flat", "suspected": []}, {"id": "newest", "suspected": [38]}, {"id": "reps only", "suspected": [38]},
        {"id": "old", "suspected": []}, {"id": "outlier", "suspected": []}]


def test_input_modes_round_trip(tmp_path, capsys):
    """Every id (any JSON value) comes back as it went in, one line per input line in their order,
    each line the JSON that re-serializes to itself; -o writes the same lines to a file."""
    ids = ["a", 7, None, {"repo": "o/r", "figure": "ttnt"}, ["x", 1.5]]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "values": _flat(30, seed=k)}) + "\n\n" for k, i in enumerate(ids)))
    for mode, key in ((["--newest"], "suspected"), ([], "change_points")):
        code, out, _ = cli(capsys, "detect", "--input", str(src), *mode)
        lines = out.splitlines()
        assert code == 0 and [json.loads(ln)["id"] for ln in lines] == ids
        assert all(json.dumps(json.loads(ln)) == ln and json.loads(ln)[key] == [] for ln in lines)
        dest = tmp_path / f"out{len(mode)}.jsonl"
        code, _, _ = cli(capsys, "detect", "--input", str(src), *mode, "-o", str(dest))
        assert code == 0 and dest.read_text() == out


BAD_LINES = [
    ('{"id": 1}', 'line 1: "values" (a list of numbers) is required, or "reps"'),
    ('{"id": 1, "values": [1, "x"]}', 'line 1: "values" must be a list of numbers (null for a missing commit)'),
    ('{"id": 1, "values": [1, 2], "reps": [[1]]}', 'line 1: "reps" has 1 commits, "values" 2: one per commit in both'),
    ('[1, 2]', "line 1: a line must be a JSON object"),
    ('{"id": 1, "values": [1, -2]}', "line 1: values must be positive (relative changes are measured)"),
    ('{"id": 1, "reps": [[1, 2], "x"]}', 'line 1: "reps" must be a list (one per commit) of lists of numbers'),
    ('{"id": 1, "values": [1, 2', "line 1: not JSON (Expecting"),
]


@pytest.mark.parametrize("newest", [[], ["--newest"]])
@pytest.mark.parametrize("line, message", BAD_LINES)
def test_input_mode_refuses_bad_lines(tmp_path, capsys, line, message, newest):
    src = tmp_path / "in.jsonl"
    src.write_text(line + "\n")
    code, out, err = cli(capsys, "detect", "--input", str(src), *newest)
    assert code == 2 and out == "" and message in err


@pytest.mark.parametrize("newest", [[], ["--newest"]])
def test_input_mode_checks_every_line_first(tmp_path, capsys, newest):
    """Good lines before a bad one: the bad one's number in the error, nothing written (not to -o either)."""
    src = tmp_path / "in.jsonl"
    good = json.dumps({"id": "ok", "values": _flat(40)})
    src.write_text(good + "\n\n" + good + "\n" + '{"id": "bad", "values": [1, null, 0]}\n')
    dest = tmp_path / "out.jsonl"
    code, out, err = cli(capsys, "detect", "--input", str(src), *newest, "-o", str(dest))
    assert code == 2 and out == "" and not dest.exists()
    assert f"--input {src} line 4: values must be positive" in err and len(err.splitlines()) == 1


def test_input_mode_refuses_stored_series_options(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "values": _flat(10)}) + "\n")
    code, out, err = cli(capsys, "detect", "--input", str(src), "--newest", "--branch", "main")
    assert code == 2 and out == "" and "--input reads the file's series: no --branch or --repository" in err


def test_unknown_branch(sqlite_url, capsys):
    store_all(sqlite_url, history(3))
    code, _, err = cli(capsys, "detect", "--branch", "nope", "--db", sqlite_url)
    assert code == 2 and "no runs stored for branch 'nope'" in err


def test_derived_compile_speedup_has_its_own_change_points(db_url, capsys):
    """Only the compiled decode step slows at commit 20: the compile speedup steps there too,
    as a series of its own (derived:compiled_decode), and the eager figures do not move."""
    rng = random.Random(5)
    store_all(db_url, [run_of(sha(i), i, rng=rng, compiled_slowdown=1.10 if i >= 20 else 1.0, compile_time=1.0)
                           for i in range(40)])
    code, out, _ = cli(capsys, "detect", "--format", "json", "--db", db_url)
    assert code == 0
    found = {(c["scenario"], c["figure"]): c for c in json.loads(out)["change_points"]}
    speedup = found[("derived:compiled_decode", "compile_speedup_ttnt")]
    assert speedup["commit_id"] == sha(20) and speedup["verdict"] == "regression"
    assert abs(speedup["before"] - 2.0) < 0.05 and abs(speedup["magnitude"] - (1 / 1.1 - 1)) < 0.02
    assert found[("derived:compiled_decode", "compile_break_even_tokens")]["commit_id"] == sha(20)
    assert not any(scenario == "eager" for scenario, _ in found)
    rows = stored(db_url)
    assert ("derived:compiled_decode", "compile_speedup_ttnt", sha(20), "detected", "regression",
            "commitbench/1") in rows
