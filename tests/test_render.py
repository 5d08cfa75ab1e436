"""The PR comment (render.markdown), parsed: baseline, noise band, counts of every class,
what comes first, folded no-change rows, the size limit with its "N more rows" line, and
the reproducing command last. Reports are built from literal comparisons."""

from __future__ import annotations

import re

import pytest

from benchmark.analysis.compare import Comparison
from benchmark.analysis.sequential import SequentialOptions
from benchmark.analysis.evidence import Delta, Evidence
from benchmark.verdicts import render
from benchmark.verdicts.compare_runs import CLASSES, FigureReport, Missing, Paired, Report, RunInfo, SeriesReport
from db.figures_read import RefRuns

BASE = RefRuns("main", "branch", "main (c0ffee00)", "main", "c0ffee00" + "1" * 32, [1, 2])
HEAD = RefRuns("pr-7", "branch", "pr-7 (feed0000)", "pr-7", "feed0000" + "2" * 32, [3])
RUNS_B = [RunInfo(1, "aaaaaaaa-1111", BASE.commit_id, "runner-1"),
          RunInfo(2, "bbbbbbbb-2222", BASE.commit_id, "runner-2")]
RUNS_H = [RunInfo(3, "cccccccc-3333", HEAD.commit_id, "runner-1")]
COMMAND = "commitbench compare --base main --head pr-7 --context pr --format markdown"


def fig(name: str, verdict: str, change: float = 0.0, gating: bool = True, noise: float | None = 0.005,
        evidence: Evidence | None = None) -> FigureReport:
    c = Comparison(verdict, change, (change - 0.01, change + 0.01), 0.01, 0.01 * (1 + change), 1, 1, 10, noise, "")
    return FigureReport(name, "s", "lower", 0.02, c, gating, evidence)


def report(figures: list[FigureReport], correctness: list[str] = (), missing: list[Missing] = ()) -> Report:
    s = SeriesReport("k", "compiled_decode", "m", "cpu", 2, 1, 10, figures, list(correctness))
    s.missing = list(missing)
    return Report(BASE, HEAD, [s], only_base=[], only_head=[], context="pr", base_runs=RUNS_B, head_runs=RUNS_H)


EV = Evidence((Delta("gpu_util", "decode", 92, 71, "GPU util 92 → 71 % in decode"),), ("host-bound",), ("decode",))


def sample() -> Report:
    return report([fig("time_to_next_token_secs", "regression", 0.08, evidence=EV),
                   fig("peak_rss_bytes", "regression", 0.20, gating=False, evidence=EV),
                   fig("time_to_first_token_secs", "suspicious", 0.025, noise=0.009),
                   fig("compile_prefill_time_secs", "noisy", 0.05, noise=0.04),
                   fig("time_to_second_token_secs", "no_change", 0.001, noise=0.003),
                   fig("time_to_third_token_secs", "no_change", -0.002, noise=0.003)],
                  correctness=["tokens_match_eager: held on every base repetition, fails on 5 of 5 head repetitions"],
                  missing=[Missing("compiled_decode", "graph_breaks", "absent in 1 of 1 head run(s)")])


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in text.splitlines()
            if ln.startswith("| ") and not ln.startswith("| scenario |")]


def test_the_comment_names_baseline_noise_band_and_counts_every_class():
    out = render.markdown(sample(), command=COMMAND)
    lines = out.splitlines()
    assert lines[0] == render.MARKER and lines[1].startswith("### commitbench: :x: head pr-7")
    base = next(ln for ln in lines if ln.startswith("**Baseline:**"))
    assert "main (c0ffee00): runs aaaaaaaa, bbbbbbbb on runner-1, runner-2" in base
    assert "head pr-7 (feed0000): run cccccccc on runner-1" in base
    band = next(ln for ln in lines if ln.startswith("**Noise band:**"))
    assert "run-to-run noise 0.3-4.0 % (median 0.5 %) over 6 figures" in band and "(pr context)" in band
    counts = next(ln for ln in lines if ln.startswith("**Verdicts**"))
    found = dict((v, int(n)) for n, v in re.findall(r"(\d+) ([a-z ]+?)(?:,|$| \()", counts.split(": ", 1)[1]))
    assert found == {"regression": 2, "suspicious": 1, "missing": 1, "noisy": 1, "insufficient": 0,
                     "improvement": 0, "no change": 2}
    assert len(found) == len(CLASSES) and "(1 of the regressions informational)" in counts


def test_correctness_first_then_gating_regressions_then_the_rest_with_no_change_folded():
    out = render.markdown(sample(), command=COMMAND)
    at = {k: out.index(k) for k in ("**correctness regression", "#### Regressions", "#### Other verdicts",
                                    "#### Missing on head", "<details>", "Reproduce")}
    assert list(at) == sorted(at, key=at.get)
    regressions = table_rows(out[at["#### Regressions"]:at["#### Other verdicts"]])
    assert [(r[1], r[7], r[8]) for r in regressions] == [
        ("time\\_to\\_next\\_token\\_secs", "**REGRESSION**", "yes"),
        ("peak\\_rss\\_bytes", "REGRESSION (informational)", "no")]
    assert "- evidence, compiled\\_decode: time\\_to\\_next\\_token\\_secs +8.0 %, peak\\_rss\\_bytes +20.0 %; " \
           "GPU util 92 → 71 % in decode; host-bound" in out
    others = table_rows(out[at["#### Other verdicts"]:at["#### Missing on head"]])
    assert [r[7] for r in others] == ["suspicious", "noisy"]
    folded = out[at["<details>"]:out.index("</details>")]
    assert "<summary>2 figures with no change</summary>" in folded
    assert [r[7] for r in table_rows(folded)] == ["no change", "no change"]
    assert all(r[7] != "no change" for r in table_rows(out[:at["<details>"]]))


def test_the_reproducing_command_is_last():
    lines = render.markdown(sample(), command=COMMAND).rstrip().splitlines()
    assert lines[-3:] == ["```sh", COMMAND, "```"]
    assert lines[-5].startswith("Reproduce")


def test_a_comment_over_the_limit_leaves_rows_out_and_says_where_they_are():
    many = report([fig("time_to_next_token_secs", "regression", 0.08)] * 5
                  + [fig("time_to_second_token_secs", "no_change", 0.001)] * 3000)
    out = render.markdown(many, command=COMMAND, full_report="https://ci.example/run/1/artifacts")
    assert len(out) <= render.MAX_COMMENT
    shown = len(table_rows(out))
    more = re.search(r"\*\*(\d+) more rows: full report at https://ci\.example/run/1/artifacts\*\*", out)
    assert more and shown + int(more.group(1)) == 3005 and shown >= 5  # regressions are kept first
    assert out.rstrip().splitlines()[-2] == COMMAND  # the command survives the cut
    small = render.markdown(many, command=COMMAND, limit=4000)
    assert len(small) <= 4000 and "more rows: full report at the JSON report" in small
    # hundreds of correctness problems: cut too, never past the limit, never silently
    broken = report([fig("time_to_next_token_secs", "regression", 0.08)],
                    correctness=[f"check_{i}: held on every base repetition, fails on 5 of 5 " + "x" * 200
                                 for i in range(400)])
    out = render.markdown(broken, command=COMMAND)
    shown = out.count("- **correctness regression in")
    more = re.search(r"\*\*(\d+) more rows: full report at", out)
    assert len(out) <= render.MAX_COMMENT and 0 < shown < 400 and shown + int(more.group(1)) == 401
    # nothing left out: no such line
    assert "more row" not in render.markdown(sample(), command=COMMAND)


def tally(name: str, verdict: str) -> FigureReport:
    c = Comparison(verdict, None, None, 0.0, 0.0, 1, 1, 0, None, "")
    return FigureReport(name, "count", "lower", 0.02, c, True)


@pytest.mark.parametrize("figures, verdict", [
    # the real case: every gating timing noisy, an informational figure that never moves is no_change
    ([fig("ttnt", "noisy"), fig("ttft", "noisy"), fig("model_weight_bytes", "no_change", gating=False)],
     "insufficient"),
    ([fig("ttnt", "noisy"), fig("peak_rss_bytes", "regression", 0.2, gating=False)], "insufficient"),
    ([fig("ttnt", "noisy"), fig("ttft", "insufficient"), tally("graph_breaks", "no_change")], "insufficient"),
    ([fig("ttnt", "noisy"), fig("ttft", "no_change")], "no_change"),
    ([fig("ttnt", "noisy"), fig("ttft", "improvement", -0.1)], "no_change"),
    ([fig("ttnt", "suspicious", 0.015)], "no_change"),  # resolved like no_change; documented never to gate
    ([fig("ttnt", "noisy"), fig("ttft", "regression", 0.1)], "regression"),
    ([fig("ttnt", "noisy"), tally("graph_breaks", "regression")], "regression"),
])
def test_only_gating_figures_judged_by_statistics_decide(figures, verdict):
    assert report(figures).verdict == verdict


def test_the_undecided_gating_figures_are_named_with_what_decides_them():
    r = report([fig(f"t{i}", "noisy") for i in range(10)] + [fig("ttft", "insufficient"),
                                                            fig("model_weight_bytes", "no_change", gating=False)])
    assert r.undecided and [f.figure for _, f in r.undecided_gating] == [f"t{i}" for i in range(10)] + ["ttft"]
    line = render.to_decide(r)
    assert line.startswith("undecided gating figures (none decided): noisy compiled_decode t0, compiled_decode t1")
    assert "compiled_decode t7 and 2 more (would be decided by more runs on each side" in line
    assert f"`commitbench ab --base {BASE.commit_id[:12]} --head {HEAD.commit_id[:12]}`" in line
    assert line.endswith("; insufficient compiled_decode ttft (would be decided by a valid run with samples of the "
                         "scenario on each side)")
    assert "model_weight_bytes" not in line
    assert render.title(r).endswith("could not decide (no gating figure could be decided: 10 noisy, 1 insufficient; "
                                    "more runs on each side decide, e.g. `commitbench ab`)")
    decided = report([fig("ttnt", "noisy"), fig("ttft", "no_change")])
    assert render.to_decide(decided).startswith("undecided gating figures (the others decided): noisy ")
    assert render.to_decide(report([fig("ttft", "no_change")])) is None


def test_an_undecided_ab_advises_more_rounds_not_an_ab():
    """Inside an A/B (a paired report) the title's advice is a larger --max-rounds or budget:
    "run `commitbench ab`" would send the reader in a circle. Compare keeps its advice."""
    r = report([fig("ttnt", "noisy"), fig("ttft", "noisy")])
    r.paired = Paired(SequentialOptions(max_rounds=4), final=True, prior_branch="main")
    title = render.title(r)
    assert title.endswith("could not decide (no gating figure could be decided: 2 noisy; more rounds decide: a "
                          "larger `--max-rounds` or `--budget-minutes`)")
    assert "commitbench ab" not in title and "more runs on each side" not in title
    assert "`commitbench ab --base" in render.to_decide(r) and "--max-rounds N" in render.to_decide(r)
    assert "more rounds decide" in render.markdown(r) and "more rounds decide" in render.text(r)
    r.paired = None
    assert render.title(r).endswith("; more runs on each side decide, e.g. `commitbench ab`)")
