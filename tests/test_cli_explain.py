"""`commitbench explain` end to end on a real SQLite file with stored profiled runs: the named
operators in three formats, REF resolution as compare's, and bad input."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from verdict_data import profile, profiled_run, store_all

BASE, HEAD, SAME = "ba5e" + "0" * 36, "feed" + "0" * 36, "5a5e" + "0" * 36


@pytest.fixture
def stored(sqlite_url):
    """base on main; head (an extra mm and a host sync) on pr-1; an unchanged head on pr-2.
    Eager decode steps: 20 ms at base, 20.2 ms at head (run_of's eager level is twice `level`)."""
    store_all(sqlite_url, [
        profiled_run(BASE, 1, 0.010, "main", profile()),
        profiled_run(HEAD, 2, 0.0101, "pr-1", profile(("aten::item", 1, 2.0), ("aten::_local_scalar_dense", 1, 6.0),
                                                      mm=(16, 420.0))),
        profiled_run(SAME, 3, 0.010, "pr-2", profile()),
    ])
    return sqlite_url


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_names_the_extra_matrix_multiply_first_then_the_host_sync(stored, capsys):
    code, out, err = cli(capsys, "explain", "--base", "main", "--head", "pr-1", "--db", stored)
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.startswith("  aten::")]
    assert [r[0] for r in rows] == ["aten::mm", "aten::_local_scalar_dense", "aten::item"]
    assert rows[0][1] == "slower" and rows[1][1] == "new" and "host sync" in out
    # the figure moved 200 us per token; the extra mm explains 120 of them: 60 %
    assert "eager_time_to_next_token_secs: 20000.0 -> 20200.0 us/token" in out
    assert " ".join(rows[0]).endswith("+120.0 60 %")
    assert "trace (head): /somewhere/trace.json.gz" in out


def test_json_and_markdown(stored, capsys, tmp_path):
    code, out, _ = cli(capsys, "explain", "--base", BASE[:8], "--head", HEAD[:8], "--format", "json", "--db", stored)
    assert code == 0
    (scenario,) = json.loads(out)["scenarios"]
    assert scenario["scenario"] == "eager" and scenario["figure_delta_us_per_token"] == pytest.approx(200.0)
    first = scenario["movers"][0]
    assert first["operator"] == "aten::mm" and first["calls_per_token"] == [15, 16]
    assert first["share"] == pytest.approx(0.6)
    target = tmp_path / "explain.md"
    code, _, err = cli(capsys, "explain", "--base", "main", "--head", "pr-1", "--format", "markdown",
                       "-o", str(target), "--db", stored)
    assert code == 0 and "written" in err
    md = target.read_text()
    assert md.startswith("### eager: base main (ba5e0000)") and "| `aten::mm` | slower | 15 -> 16 |" in md


def test_an_unchanged_head_names_no_mover(stored, capsys):
    code, out, _ = cli(capsys, "explain", "--base", "main", "--head", "pr-2", "--db", stored)
    assert code == 0
    assert "no operator moved beyond the noise floor" in out


@pytest.mark.parametrize("args, code, message", [
    (["--scenario", "compiled_decode[compile_mode=default]"], 2, "not profiled on both sides (profiled on both: eager)"),
    (["--head", "no-such-branch"], 9, "--head no-such-branch"),  # as compare: nothing stored under it
    (["-o", "/nonexistent/dir/x.md"], 2, "--output"),
])
def test_bad_input(stored, capsys, args, code, message):
    argv = {"--base": "main", "--head": "pr-1"}
    rest = []
    for i in range(0, len(args), 2):
        if args[i] in argv:
            argv[args[i]] = args[i + 1]
        else:
            rest += args[i:i + 2]
    got, out, err = cli(capsys, "explain", *[w for kv in argv.items() for w in kv], *rest, "--db", stored)
    assert got == code and message in err and out == ""


def test_runs_without_profiles_have_nothing_to_explain(sqlite_url, capsys):
    store_all(sqlite_url, [profiled_run(BASE, 1, 0.010, "main", None), profiled_run(HEAD, 2, 0.010, "pr-1", None)])
    code, out, err = cli(capsys, "explain", "--base", "main", "--head", "pr-1", "--db", sqlite_url)
    assert code == 9 and "no scenario has a profile on both sides" in err and "--profile" in err and out == ""


def test_compares_section_explains_only_regressed_scenarios_and_never_fails(stored, sqlite_url):
    from benchmark.flows.explain import for_regressions
    from benchmark.flows.store import reading

    with reading(stored) as session:
        (x,) = for_regressions(session, "main", "pr-1", None, {"eager"})
        assert x.explanation.movers[0].name == "aten::mm"
        assert for_regressions(session, "main", "pr-1", None, {"compiled_decode[compile_mode=default]"}) == []
        assert for_regressions(session, "main", "pr-1", None, set()) == []
        assert for_regressions(session, "main", "no-such-branch", None, {"eager"}) == []


def test_compare_shows_what_got_slower_under_a_regression_where_both_sides_have_profiles(sqlite_url, capsys):
    """A 20 % slower eager decode step, stored with profiles (main's two earlier commits give
    compare its noise): compare's report ends with explain's section for the regressed scenario."""
    history = [profiled_run(c * 40, h, 0.010, "main", profile()) for c, h in (("1", 0.5), ("2", 0.7))]
    store_all(sqlite_url, history + [profiled_run(BASE, 1, 0.010, "main", profile()),
                                     profiled_run(HEAD, 2, 0.012, "pr-1", profile(mm=(30, 600.0))),
                                     profiled_run(SAME, 3, 0.010, "pr-2", profile())])
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--db", sqlite_url)
    assert code == 8
    assert "what got slower (operator profiles):" in out and "aten::mm" in out.split("what got slower")[1]
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-1", "--format", "json", "--db", sqlite_url)
    doc = json.loads(out)
    assert [x["scenario"] for x in doc["explain"]] == ["eager"]
    code, out, _ = cli(capsys, "compare", "--base", "main", "--head", "pr-2", "--format", "json", "--db", sqlite_url)
    assert code == 0 and json.loads(out)["explain"] == []  # no regression: nothing to explain
