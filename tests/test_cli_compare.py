"""`commitbench compare` on stored runs with known answers: verdicts, what comes first,
exit codes, the three output formats, REF resolution, and the JSON-lines mode."""

from __future__ import annotations

import json
import random
import re

import pytest

from benchmark.cli import main
from verdict_data import history, run_of, store_all

HEAD = "feed" + "0" * 36


@pytest.fixture
def main_history(sqlite_url):
    """12 commits of main on one runner, no change."""
    store_all(sqlite_url, history(12))
    return sqlite_url


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def head_run(url: str, **kw) -> None:
    store_all(url, [run_of(HEAD, 20, branch="pr-1", **kw)])


def verdicts(out: str) -> dict[tuple[str, str], str]:
    doc = json.loads(out)
    return {(s["scenario"], f["figure"]): f["verdict"] for s in doc["series"] for f in s["figures"]}


def test_same_code_is_no_regression(main_history, capsys):
    head_run(main_history)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    assert code == 0, out
    v = verdicts(out)
    assert v[("compiled_decode", "time_to_next_token_mean_secs")] == "no_change"
    assert "regression" not in v.values()
    doc = json.loads(out)
    assert doc["verdict"] == "no_change" and doc["base"]["how"] == "branch" and doc["head"]["runs"] == 1
    fig = next(f for s in doc["series"] for f in s["figures"] if f["figure"] == "time_to_next_token_mean_secs")
    assert fig["history_runs"] == 10 and fig["ci"][0] < 0 < fig["ci"][1]


def test_a_slower_head_is_a_regression_in_every_decode_figure(main_history, capsys):
    head_run(main_history, level=0.0115)  # +15 %
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", HEAD[:8], "--format", "json",
                       "--db", main_history)
    assert code == 8
    v = verdicts(out)
    for key in (("compiled_decode", "time_to_next_token_mean_secs"), ("compiled_decode", "time_to_next_token_secs"),
                ("eager", "eager_time_to_next_token_secs"), ("eager", "eager_decode_tokens_per_sec")):
        assert v[key] == "regression", key
    fig = next(f for s in json.loads(out)["series"] for f in s["figures"]
               if f["figure"] == "time_to_next_token_mean_secs")
    assert fig["ci"][0] < 0.15 < fig["ci"][1] and abs(fig["change"] - 0.15) < 0.03


def test_a_faster_head_is_an_improvement(main_history, capsys):
    head_run(main_history, level=0.0085)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    assert code == 0
    assert verdicts(out)[("eager", "eager_decode_tokens_per_sec")] == "improvement"


def test_correctness_comes_first_then_failed_scenarios(main_history, capsys):
    head_run(main_history, tokens_match=False, eager_fails=True)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", main_history)
    assert code == 8
    lines = out.splitlines()
    assert "regression found" in lines[0]
    assert lines[1].startswith("correctness regression in compiled_decode: tokens_match_eager: held on every base "
                               "repetition, fails on 5 of 5 head repetitions")
    assert lines[2] == "eager failed on head (succeeded on base): RuntimeError: boom"


def test_a_new_graph_break_is_a_regression(main_history, capsys):
    head_run(main_history, graph_breaks=2)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    assert code == 8
    assert verdicts(out)[("compiled_decode", "graph_breaks")] == "regression"
    assert verdicts(out)[("compiled_decode", "time_to_next_token_mean_secs")] == "no_change"


def test_process_noise_is_not_a_regression(sqlite_url, capsys):
    """A 4 % offset of one process, on a runner whose history shows 3 % run-to-run noise:
    within the noise. A Welch test on the pooled per-token samples would call it a regression."""
    store_all(sqlite_url, history(12, process_cv=0.03, sample_cv=0.003))
    head_run(sqlite_url, offset=0.04, sample_cv=0.003)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", sqlite_url)
    assert code in (0, 9), out  # no regression, or too noisy to decide: never a regression
    assert verdicts(out)[("compiled_decode", "time_to_next_token_secs")] in ("no_change", "noisy")
    assert "regression" not in verdicts(out).values()


def test_markdown_for_the_pr_comment(main_history, capsys):
    store_all(main_history, [run_of(HEAD, 20, branch="pr-<b>|@team", level=0.0115)])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", HEAD, "--format", "markdown",
                       "--db", main_history)
    assert code == 8
    lines = out.splitlines()
    assert lines[0] == "<!-- commitbench-compare -->"
    assert lines[1].startswith("### commitbench: :x: head ") and "regression found" in lines[1]
    table = [ln for ln in lines if ln.startswith("| compiled\\_decode | time\\_to\\_next\\_token\\_mean\\_secs |")]
    assert len(table) == 1 and "**REGRESSION**" in table[0]
    assert "<details>" in out  # the unchanged figures are folded away


def test_markdown_escapes_outside_text(main_history, capsys, tmp_path):
    store_all(main_history, [run_of(HEAD, 20, branch="pr-1", eager_fails=True)])
    # a failure message with markdown, HTML and a mention in it
    from db.store import Store

    store = Store(main_history)
    store.open(auto_upgrade=False)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE scenario_runs SET error = '<img src=x> @org/team | `x`' WHERE status = 'failed'")
    store.close()
    out_file = tmp_path / "c.md"
    code, _, err = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "markdown",
                       "-o", str(out_file), "--db", main_history)
    text = out_file.read_text()
    assert code == 8 and f"written: {out_file}" in err
    assert "&lt;img src=x&gt; &#64;org/team \\| \\`x\\`" in text and "<img" not in text


def test_different_series_cannot_be_compared(main_history, capsys):
    store_all(main_history, [run_of(HEAD, 20, branch="pr-1", cpu_model="Other CPU")])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", main_history)
    assert code == 9
    assert "could not compare" in out.splitlines()[0]
    assert "only on base (not compared): compiled_decode, eager" in out


def test_replicated_runs_without_history(sqlite_url, capsys):
    """Three runs a side (what `commitbench ab` stores): their spread is the noise estimate."""
    store_all(sqlite_url, [run_of("a" * 40, i, branch="ab/base", rng=random.Random(i)) for i in range(3)]
              + [run_of("b" * 40, 3 + i, branch="ab/head", level=0.012, rng=random.Random(10 + i)) for i in range(3)])
    code, out, _ = cli(capsys, "compare", "--base", "a" * 8, "--head", "b" * 8, "--format", "json",
                       "--history", "0", "--db", sqlite_url)
    assert code == 8
    doc = json.loads(out)
    assert doc["base"]["how"] == "commit" and doc["base"]["runs"] == 3
    assert verdicts(out)[("compiled_decode", "time_to_next_token_mean_secs")] == "regression"


@pytest.mark.parametrize("args, message", [
    (["--base", "main", "--head", "pr-1", "--threshold", "1.5"],
     "--threshold must be a relative change in (0, 1), e.g. 0.02, got 1.5"),
    (["--base", "main"], "give --base REF and --head REF (or --input FILE)"),
    (["--base", "main", "--head", "pr-1", "--history", "-1"], "--history must be an integer from 0 to 10000, got -1"),
    (["--base", "main", "--head", "pr-1", "--history", str(10**20)],
     f"--history must be an integer from 0 to 10000, got {10**20}"),
    (["--base", "main", "--head", "pr-1", "-o", "/etc/passwd/x"], "--output /etc/passwd/x: /etc/passwd is not a directory"),
    (["--base", "run:0000", "--head", "pr-1"], "no run '0000'"),
    (["--base", "commit:zzzz", "--head", "pr-1"], "commit:zzzz: a commit id is 4-64 hex characters"),
])
def test_bad_input(main_history, capsys, args, message):
    head_run(main_history)
    code, out, err = cli(capsys, "compare", *args, "--db", main_history)
    assert code == 2 and out == ""
    assert err.strip() == f"commitbench: error: {message}"


@pytest.mark.parametrize("args, message", [
    (["--base", "main", "--head", "nosuchbranch"], "'nosuchbranch' is no stored branch, commit or run"),
    (["--base", "never-benchmarked", "--head", "pr-1"], "'never-benchmarked' is no stored branch, commit or run"),
    (["--base", "commit:abcdef", "--head", "pr-1"], "no finished runs of commit 'abcdef'"),
    (["--base", "branch:x", "--head", "pr-1"], "no finished runs of branch 'x'"),
])
def test_nothing_stored_under_a_ref_cannot_be_compared(main_history, capsys, args, message):
    head_run(main_history)
    code, out, err = cli(capsys, "compare", *args, "--db", main_history)
    assert code == 9 and out == ""
    assert err.strip() == f"commitbench: error: could not compare: {message}"


def test_thresholds_file(main_history, capsys, tmp_path):
    head_run(main_history, level=0.0103)  # +3 %
    bad = tmp_path / "bad.toml"
    bad.write_text("[figures]\nno_such_figure = 0.1\n")
    code, _, err = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(bad),
                       "--db", main_history)
    assert code == 2 and "thresholds: figures: unknown figure 'no_such_figure'" in err
    loose = tmp_path / "loose.toml"
    loose.write_text("default = 0.02\n[figures]\ntime_to_next_token_mean_secs = 0.10\n")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(loose),
                       "--format", "json", "--db", main_history)
    fig = {f["figure"]: f for s in json.loads(out)["series"] for f in s["figures"]}
    assert fig["time_to_next_token_mean_secs"]["threshold"] == 0.10
    assert fig["time_to_next_token_mean_secs"]["verdict"] != "regression"
    assert fig["time_to_next_token_secs"]["threshold"] == 0.02


def test_input_mode(tmp_path, capsys):
    same = [[1.0, 1.01, 0.99, 1.0, 1.0]] * 3
    slower = [[1.2, 1.21, 1.19, 1.2, 1.2]] * 3
    lines = [{"id": "a", "base": [{"reps": same}] * 3, "head": [{"reps": same}] * 3},
             {"id": "b", "base": [{"reps": same}] * 3, "head": [{"reps": slower}] * 3}]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    code, out, _ = cli(capsys, "compare", "--input", str(src))
    assert code == 0
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[1]["verdict"] == "regression"
    assert abs(rows[1]["change"] - 0.2) < 1e-9 and set(rows[0]) == {"id", "verdict", "change", "ci"}
    # a significant worsening below the 2 % threshold: suspicious, in --input too
    small = [{"reps": [[v * 1.015] * 5] * 3} for v in (0.999, 1.0, 1.001)]
    src.write_text(json.dumps({"id": "c", "base": [{"reps": [[v] * 5] * 3} for v in (0.999, 1.0, 1.001)],
                               "head": small}) + "\n")
    code, out, _ = cli(capsys, "compare", "--input", str(src))
    assert code == 0 and json.loads(out)["verdict"] == "suspicious"
    src.write_text(json.dumps(lines[0]) + "\n{not json\n")
    out_file = tmp_path / "out.jsonl"
    code, _, err = cli(capsys, "compare", "--input", str(src), "-o", str(out_file))
    assert code == 2 and "line 2:" in err and not out_file.exists()


def test_one_run_a_side_without_history_cannot_decide(sqlite_url, capsys):
    """Nothing tells how much one process differs from the next: every timing is noisy, and
    the comparison as a whole could not compare (9), not "no regression" (0)."""
    store_all(sqlite_url, [run_of("a" * 40, 1, branch="main"), run_of(HEAD, 2, branch="pr-1")])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", sqlite_url)
    assert code == 9
    assert out.splitlines()[0].endswith("could not decide (no gating figure could be decided: 4 noisy; more runs "
                                        "on each side decide, e.g. `commitbench ab`)")
    assert "noisy" in out and "REGRESSION" not in out


GATING_TIMINGS = ["compiled_decode time_to_next_token_mean_secs", "compiled_decode time_to_next_token_secs",
                  "eager eager_decode_tokens_per_sec", "eager eager_time_to_next_token_secs"]


def test_every_gating_timing_noisy_cannot_decide_whatever_informational_figures_say(sqlite_url, capsys):
    """The real case (transformers releases as a history on a loaded 2-core machine): every
    gating timing is noisy, while model_weight_bytes, informational, never moves and so is
    no_change. That no_change decides nothing about speed: exit 9 naming the noisy gating
    figures and what would decide them, not "no regression" (which compare said before)."""
    weights = 498_000_000.0
    # 8 % run-to-run noise in the history: a 99 % interval far wider than 2.5 x the 2 % threshold
    store_all(sqlite_url, history(8, process_cv=0.08, weight_bytes=weights))
    store_all(sqlite_url, [run_of(HEAD, 20, branch="pr-1", offset=0.0, weight_bytes=weights)])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", sqlite_url)
    assert code == 9, out
    doc = json.loads(out)
    v = verdicts(out)
    assert v[("eager", "model_weight_bytes")] == "no_change"  # what used to count as the decision
    assert v[("compiled_decode", "graph_breaks")] == "no_change"  # a tally at 0 decides nothing either
    assert doc["verdict"] == "insufficient"
    assert sorted(f"{u['scenario']} {u['figure']}" for u in doc["undecided"]) == GATING_TIMINGS
    assert {u["verdict"] for u in doc["undecided"]} == {"noisy"}
    assert doc["to_decide"].startswith("undecided gating figures (none decided): noisy ")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", sqlite_url)
    lines = out.splitlines()
    assert code == 9
    assert lines[0] == ("head pr-1 (feed0000) vs base main (c0000007): could not decide (no gating figure could be "
                        "decided: 4 noisy; more runs on each side decide, e.g. `commitbench ab`)")
    assert lines[1].startswith("undecided gating figures (none decided): noisy ")
    assert all(name in lines[1] for name in GATING_TIMINGS)
    assert "model_weight_bytes" not in lines[1]
    assert lines[1].endswith("(would be decided by more runs on each side, or base history on the same runner: "
                             f"`commitbench ab --base c00000070000 --head {HEAD[:12]}` runs both interleaved on one "
                             "machine)")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "markdown",
                       "--db", sqlite_url)
    assert code == 9 and ":grey_question:" in out and "could not decide" in out
    assert "**Undecided gating figures** (none decided): noisy compiled\\_decode " in out


def test_informational_figures_alone_never_decide(main_history, capsys, tmp_path):
    """Every timing made informational: their no_change decides nothing (exit 9), while a
    gating tally's rise still gates (exit 8)."""
    head_run(main_history)
    settings = tmp_path / "t.toml"
    settings.write_text("informational = " + json.dumps(list(SLOWER)) + "\n")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(settings),
                       "--format", "json", "--db", main_history)
    assert code == 9, out
    doc = json.loads(out)
    assert doc["counts"]["no_change"] >= 4 and doc["undecided"] == [] and doc["to_decide"] is None
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(settings),
                       "--db", main_history)
    assert out.splitlines()[0].endswith(": could not decide (no gating figure was compared: informational figures "
                                        "and tallies decide nothing)")
    store_all(main_history, [run_of("beef" + "0" * 36, 21, branch="pr-2", graph_breaks=1)])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-2", "--thresholds", str(settings),
                       "--db", main_history)
    assert code == 8, out


def test_one_decided_gating_figure_decides_and_the_undecided_ones_are_named(sqlite_url, capsys, tmp_path):
    """Eager steady and quiet, compiled noisy: the eager figures decide (exit 0), and the line
    still names the compiled figures left undecided. The thresholds do it: with 2 % run-to-run
    noise, a 10 % threshold resolves the eager figures and a 1 % one cannot resolve the others."""
    store_all(sqlite_url, history(12, process_cv=0.02))
    store_all(sqlite_url, [run_of(HEAD, 20, branch="pr-1", offset=0.0)])
    settings = tmp_path / "t.toml"
    settings.write_text("default = 0.01\n[figures]\neager_time_to_next_token_secs = 0.1\n"
                        "eager_decode_tokens_per_sec = 0.1\n")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(settings),
                       "--db", sqlite_url)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].endswith(": no regression")
    assert lines[1].startswith("undecided gating figures (the others decided): noisy compiled_decode "
                               "time_to_next_token_mean_secs, compiled_decode time_to_next_token_secs (would be "
                               "decided by more runs on each side")


def test_a_scenario_skipped_on_head_is_named_not_judged(main_history, capsys):
    head_run(main_history, compiled_skipped="needs a CUDA GPU (device is cpu)")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", main_history)
    assert code == 0, out  # the eager figures decide; a skipped scenario is no regression
    assert "missing: compiled_decode: skipped on head: needs a CUDA GPU (device is cpu)" in out
    assert "failed on head" not in out


SLOWER = ("time_to_next_token_mean_secs", "time_to_next_token_secs", "eager_time_to_next_token_secs",
          "eager_decode_tokens_per_sec")


def test_a_regression_carries_its_evidence(sqlite_url, capsys):
    store_all(sqlite_url, history(12, gpu_util=92.0))
    store_all(sqlite_url, [run_of(HEAD, 20, branch="pr-1", level=0.0115, gpu_util=71.0, graph_breaks=1)])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", sqlite_url)
    assert code == 8
    fig = {(s["scenario"], f["figure"]): f for s in json.loads(out)["series"] for f in s["figures"]}
    ev = fig[("compiled_decode", "time_to_next_token_mean_secs")]["evidence"]
    assert ev["summary"] == "GPU util 92 → 71 % in decode; graph breaks 0 → 1; host-bound; more graph breaks"
    assert [d["phase"] for d in ev["deltas"]] == ["decode", None]
    assert fig[("eager", "eager_time_to_next_token_secs")]["evidence"]["summary"] == \
        "device readings missing on one side or both"  # the eager scenario has no sampler readings here
    assert fig[("compiled_decode", "graph_breaks")]["evidence"]["hints"] == ["host-bound", "more graph breaks"]
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", sqlite_url)
    line = next(ln for ln in out.splitlines() if ln.startswith("evidence, compiled_decode: "))
    assert re.fullmatch(r"evidence, compiled_decode: graph_breaks"
                        r", time_to_next_token_mean_secs \+1[4-6]\.\d %, time_to_next_token_secs \+1[4-6]\.\d %; "
                        r"GPU util 92 → 71 % in decode; graph breaks 0 → 1; host-bound; more graph breaks",
                        line), line
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "markdown",
                       "--db", sqlite_url)
    assert "- evidence, compiled\\_decode: graph\\_breaks, time\\_to\\_next\\_token\\_mean\\_secs +1" in out


def test_no_regression_reads_no_evidence(main_history, capsys):
    head_run(main_history)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    assert code == 0
    assert all(f["evidence"] is None for s in json.loads(out)["series"] for f in s["figures"])


def test_informational_regressions_are_listed_but_do_not_gate_and_contexts_differ(main_history, capsys, tmp_path):
    head_run(main_history, level=0.0115)  # +15 %
    settings = tmp_path / "t.toml"
    settings.write_text("[pr]\ninformational = " + json.dumps(list(SLOWER)) + "\n[main]\ndefault = 0.02\n")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(settings),
                       "--format", "json", "--db", main_history)
    # --context pr by default: every regression there is informational, so none fails (8); and with every
    # timing informational no gating figure is left to decide (9: informational figures decide nothing)
    assert code == 9, out
    doc = json.loads(out)
    assert doc["verdict"] == "insufficient" and doc["context"] == "pr"
    fig = {f["figure"]: f for s in doc["series"] for f in s["figures"]}
    assert all(fig[n]["verdict"] == "regression" and fig[n]["gating"] is False for n in SLOWER)
    assert doc["counts"]["regression"] == 4
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(settings),
                       "--db", main_history)
    assert "REGRESSION (informational)" in out and "(4 of the regressions informational)" in out
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(settings),
                       "--context", "main", "--format", "json", "--db", main_history)
    assert code == 8 and json.loads(out)["context"] == "main"  # after merge the same figures gate


def test_registry_defaults_gate_timings_not_memory(main_history, capsys):
    head_run(main_history)
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    fig = {f["figure"]: f for s in json.loads(out)["series"] for f in s["figures"]}
    assert fig["time_to_next_token_secs"]["gating"] and fig["graph_breaks"]["gating"]


def test_a_figure_head_no_longer_stores_is_missing_with_its_reason(main_history, capsys):
    head_run(main_history, drop=("graph_breaks",))
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    assert code == 0, out  # missing never gates
    doc = json.loads(out)
    assert doc["missing"] == [{"scenario": "compiled_decode", "figure": "graph_breaks",
                               "reason": "absent in 1 of 1 head run(s) (every base run stored it)"}]
    assert doc["counts"]["missing"] == 1
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", main_history)
    assert "missing: compiled_decode graph_breaks: absent in 1 of 1 head run(s)" in out


def test_a_series_absent_in_head_is_missing(main_history, capsys):
    store_all(main_history, [run_of(HEAD, 20, branch="pr-1", cpu_model="Other CPU")])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", main_history)
    assert code == 9
    doc = json.loads(out)
    assert [m["scenario"] for m in doc["missing"]] == ["compiled_decode", "eager"]
    assert doc["missing"][0]["figure"] is None and doc["missing"][0]["reason"].startswith("absent in head: no run of")


@pytest.mark.parametrize("text, message", [
    ("informational = ['graph_breaks']\ngating = ['graph_breaks']\n",
     "thresholds: graph_breaks is both gating and informational"),
    ("[main]\ninformational = ['tokens_match_eager']\n",
     "thresholds: main.informational: tokens_match_eager is a correctness check, which always gates"),
    ("[pr]\nthreshold = 0.1\n", "thresholds: unknown key pr.'threshold' (allowed: default, figures, gating, "
                                "informational)"),
    ("[main.figures]\nnope = 0.1\n", "thresholds: main.figures: unknown figure 'nope' (docs/reference/figures.md lists them)"),
    ("[pr]\ndefault = 2\n", "thresholds: pr.default must be a relative change in (0, 1), e.g. 0.02, got 2"),
    ("main = 3\n", "thresholds: main must be a table of default, figures, gating, informational"),
    ("gating = 'graph_breaks'\n", "thresholds: gating must be a list of figure names"),
])
def test_bad_thresholds_file(main_history, capsys, tmp_path, text, message):
    head_run(main_history)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    code, out, err = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--thresholds", str(bad),
                         "--db", main_history)
    assert code == 2 and out == ""
    assert err.strip() == f"commitbench: error: {message}"


def test_bad_context(main_history, capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "--base", "main", "--head", "pr-1", "--context", "release", "--db", main_history])
    assert e.value.code == 2 and "invalid choice: 'release'" in capsys.readouterr().err


def test_derived_compile_speedup_and_break_even_are_compared_informationally(sqlite_url, capsys, tmp_path):
    store_all(sqlite_url, history(12, compile_time=1.0))
    store_all(sqlite_url, [run_of(HEAD, 20, branch="pr-1", compiled_slowdown=1.10, compile_time=1.0)])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", sqlite_url)
    assert code == 8  # the compiled decode step itself regressed, and gates
    doc = json.loads(out)
    [d] = [s for s in doc["series"] if s["scenario"] == "derived:compiled_decode"]
    fig = {f["figure"]: f for f in d["figures"]}
    ttnt, even = fig["compile_speedup_ttnt"], fig["compile_break_even_tokens"]
    assert ttnt["verdict"] == "regression" and ttnt["gating"] is False and ttnt["direction"] == "higher"
    assert ttnt["base"] == pytest.approx(2.0, rel=0.02) and ttnt["change"] == pytest.approx(1 / 1.1 - 1, abs=0.02)
    assert ttnt["history_runs"] == 10
    # 1 s of compiling over a 10 ms saving per token: 100 tokens; with 11 ms steps, 111
    assert even["base"] == pytest.approx(100, rel=0.05) and even["head"] == pytest.approx(111, rel=0.05)
    assert even["verdict"] == "regression" and even["gating"] is False
    assert "compile_speedup_ttft" not in fig  # the test data has no first-token figures
    settings = tmp_path / "t.toml"
    settings.write_text("gating = ['compile_speedup_ttnt']\n[figures]\ncompile_break_even_tokens = 0.5\n")
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--thresholds",
                       str(settings), "--db", sqlite_url)
    [d] = [s for s in json.loads(out)["series"] if s["scenario"] == "derived:compiled_decode"]
    fig = {f["figure"]: f for f in d["figures"]}
    assert fig["compile_speedup_ttnt"]["gating"] is True
    assert fig["compile_break_even_tokens"]["threshold"] == 0.5 and fig["compile_break_even_tokens"]["verdict"] != \
        "regression"  # +11 % is within a 50 % threshold


def test_the_docs_thresholds_example_is_valid_and_means_what_it_says(tmp_path):
    from pathlib import Path

    from benchmark.verdicts.thresholds import load

    page = (Path(__file__).resolve().parents[1] / "docs" / "compare.md").read_text()
    start = page.index("default = 0.02                        # both contexts")
    example = tmp_path / "t.toml"
    example.write_text(page[start:page.index("```", start)])
    pr, after_merge = load(example, context="pr"), load(example, context="main")
    assert (pr.default, after_merge.default) == (0.02, 0.03)
    assert pr.gates("model_weight_bytes") and not pr.gates("peak_rss_bytes")
    assert pr.gates("compile_prefill_time_secs") and not after_merge.gates("compile_prefill_time_secs")
    assert after_merge.of("model_load_time") == 0.10 and pr.of("model_load_time") == 0.02
    assert pr.of("time_to_next_token_secs") == after_merge.of("time_to_next_token_secs") == 0.03


def test_base_and_head_in_different_environments_are_labelled(sqlite_url, capsys):
    """A step that an upgrade caused: the report says what differs besides the code."""
    runs = history(12)
    for r in runs:
        r.environment = r.environment | {"torch": "2.12.0", "transformers": "4.57.0"}
    head = run_of(HEAD, 20, branch="pr-1", level=0.0115)
    head.environment = head.environment | {"torch": "2.13.0", "transformers": "4.57.0"}
    head.config_hash = "1" * 64
    store_all(sqlite_url, runs + [head])
    for fmt in ("text", "markdown"):
        code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", fmt, "--db", sqlite_url)
        assert code == 8
        assert ("base and head differ besides the code: config 00000000 -> 11111111; torch 2.12.0 -> 2.13.0 "
                "(a change may come from that)") in out.replace("&gt;", ">")
    store_all(sqlite_url, [run_of("feed" + "1" * 36, 21, branch="pr-2")])  # no torch recorded: no claim
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-2", "--db", sqlite_url)
    assert "differ besides the code" not in out


def test_the_code_under_tests_own_version_is_not_an_environment_change(sqlite_url, capsys):
    """#19 item 13: benchmarking transformers' checkout, its version moves with the commit."""
    runs = history(12)
    for r in runs:
        r.environment = r.environment | {"torch": "2.12.0", "transformers": "4.57.0", "code_under_test": ["transformers"]}
    head = run_of(HEAD, 20, branch="pr-1", level=0.0115)
    head.environment = head.environment | {"torch": "2.12.0", "transformers": "4.58.0.dev0",
                                           "code_under_test": ["transformers"]}
    store_all(sqlite_url, runs + [head])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", sqlite_url)
    assert code == 8 and "differ besides the code" not in out
