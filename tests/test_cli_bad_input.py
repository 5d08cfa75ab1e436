"""Bad input: exit 2, one line on stderr, nothing written (in process: refused before any
worker starts). Odd but valid commit messages are accepted and stored exactly (the seed
column keeps the first 70 characters): real runs in real subprocesses, the slow tier."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import COMMITBENCH, cli_in_process, read_run, run_cli, run_uid, upgrade_db

OK = {"branch": "b", "commit": "abcd1234", "message": "m"}


def _ident(**over: str) -> list[str]:
    values = OK | over
    return [f"--branch={values['branch']}", f"--commit={values['commit']}", f"--message={values['message']}"]


def _case(tmp, name):
    """Arguments for one bad-input case (tmp: a per-test directory for files it needs)."""
    fast = ["--model", "micro-llama", "--scenarios", "load"]
    if name == "empty-commit":
        return [*_ident(commit=""), *fast]
    if name == "bad-commit":
        return [*_ident(commit="xyz!"), *fast]
    if name == "long-commit":
        return [*_ident(commit="a" * 100), *fast]
    if name == "empty-branch":
        return [*_ident(branch=""), *fast]
    if name == "multiline-branch":
        return [*_ident(branch="a\nb"), *fast]
    if name == "unknown-model":
        return [*_ident(), "--model", "no-such-model", "--scenarios", "load"]
    if name == "model-dir-without-config":
        (tmp / "empty-model").mkdir()
        return [*_ident(), "--model", str(tmp / "empty-model"), "--scenarios", "load"]
    if name == "url-notaurl":
        return [*_ident(), *fast, "--db", "notaurl"]
    if name == "url-mysql":
        return [*_ident(), *fast, "--db", "mysql://u@h/db"]
    if name == "url-pg-no-database":
        return [*_ident(), *fast, "--db", "postgresql://u@h"]
    if name == "unknown-scenario":
        return [*_ident(), "--model", "micro-llama", "--scenarios", "load,bogus"]
    if name == "new-tokens-0":
        return [*_ident(), *fast, "--new-tokens", "0"]
    if name == "compile-mode":
        return [*_ident(), *fast, "--compile-mode", "bogus"]
    if name == "dtype":
        return [*_ident(), *fast, "--dtype", "int8"]
    if name == "device":
        return [*_ident(), *fast, "--device", "tpu"]
    if name == "cuda-unavailable":
        return [*_ident(), *fast, "--device", "cuda"]
    if name == "sample-interval":
        return [*_ident(), *fast, "--sample-interval-ms", "-5"]
    if name == "config-unknown-key":
        (tmp / "c.toml").write_text('model = "micro-llama"\nbogus_key = 1\n')
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-malformed-toml":
        (tmp / "c.toml").write_text('model = "micro-llama\n[defaults\n')
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-missing":
        return [*_ident(), "--config", str(tmp / "nope.toml")]
    if name == "config-bad-scenario-param":
        (tmp / "c.json").write_text('{"scenarios": [{"kind": "load", "colour": "red"}]}')
        return [*_ident(), "--config", str(tmp / "c.json")]
    if name == "config-duplicate-scenario":
        (tmp / "c.toml").write_text('[[scenarios]]\nkind = "load"\n[[scenarios]]\nkind = "load"\n')
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-bad-validity":
        (tmp / "c.toml").write_text('model = "micro-llama"\n[validity]\nsm_clock_min_share = 2\n')
        return [*_ident(), "--config", str(tmp / "c.toml"), "--scenarios", "load"]
    if name == "json-dir-missing":
        return [*_ident(), *fast, "--json", str(tmp / "no-such-dir" / "r.json")]
    if name == "json-is-a-directory":  # was accepted; the run crashed at the end (IsADirectoryError)
        (tmp / "adir").mkdir()
        return [*_ident(), *fast, "--json", str(tmp / "adir")]
    if name == "timeout-nan":  # was accepted; every scenario "timed out after nan s" at once
        return [*_ident(), *fast, "--timeout", "nan"]
    if name == "timeout-inf":  # was accepted; the runner died of OverflowError, the row stayed "running"
        return [*_ident(), *fast, "--timeout", "inf"]
    # Found by trying the runner as a hostile user would (#6): each got through before.
    if name == "timeout-1e10":  # OverflowError mid-run
        return [*_ident(), *fast, "--timeout", "1e10"]
    if name == "config-empty-scenarios":  # ran the whole default suite
        (tmp / "c.toml").write_text("scenarios = []\n")
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-huge-matrix":  # 10^5 scenarios: hung in validation, 10^8 died of MemoryError
        axis = list(range(3, 103))
        (tmp / "c.toml").write_text(f"[[scenarios]]\nkind = 'eager'\nnew_tokens = {axis}\n"
                                    f"prompt_length = {axis}\nrepetitions = {axis[:10]}\n")
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-latin1":  # UnicodeDecodeError traceback
        (tmp / "c.toml").write_bytes(b'model = "caf\xe9"\n')
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-deep-json":  # RecursionError traceback
        (tmp / "c.json").write_text("[" * 100_000 + "]" * 100_000)
        return [*_ident(), "--config", str(tmp / "c.json")]
    if name == "seed-2**64":  # accepted; the worker failed and a failed row was written
        return [*_ident(), *fast, "--seed", str(2**64)]
    if name == "prompt-longer-than-model":  # micro-llama has 512 positions; was measured, exit 0
        return [*_ident(), "--model", "micro-llama", "--scenarios", "eager", "--prompt-length", "600"]
    if name == "db-in-memory":  # "stored" in a database gone at exit
        return [*_ident(), *fast, "--db", "sqlite://"]
    if name == "db-empty":  # silently used the default SQLite file
        return [*_ident(), *fast, "--db", ""]
    if name == "message-blank":  # stored as ''
        return [*_ident(message="   "), *fast]
    if name == "repository-too-long":  # longer than its column: every later ingest of its spool failed
        return [*_ident(), *fast, "--repository", "r" * 600]
    if name == "model-path-too-long":
        return [*_ident(), "--model", "/" + "m" * 600, "--scenarios", "load"]
    if name == "spool-dir-under-a-file":  # with the database down: traceback at the end, result lost
        (tmp / "afile").write_text("")
        return [*_ident(), *fast, "--spool-dir", str(tmp / "afile" / "spool")]
    if name == "override-used-by-no-scenario":  # compile_mode means nothing to load
        return [*_ident(), *fast, "--compile-mode", "default"]
    if name == "config-unused-compile-mode":  # #19 item 23: only load runs, which takes no compile_mode
        (tmp / "c.toml").write_text('model = "micro-llama"\n[defaults]\ncompile_mode = "bogus"\n'
                                    '[[scenarios]]\nkind = "load"\n')
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "config-unused-fullgraph":
        (tmp / "c.toml").write_text('model = "micro-llama"\n[defaults]\nfullgraph = "yes"\n'
                                    '[[scenarios]]\nkind = "load"\n')
        return [*_ident(), "--config", str(tmp / "c.toml")]
    if name == "commit-time":
        return [*_ident(), *fast, "--commit-time", "last tuesday"]
    if name == "parents":
        return [*_ident(), *fast, "--parents", "abcd,not-hex"]
    raise AssertionError(name)


CASES = ["empty-commit", "bad-commit", "long-commit", "empty-branch", "multiline-branch", "unknown-model",
         "model-dir-without-config", "url-notaurl", "url-mysql", "url-pg-no-database", "unknown-scenario",
         "new-tokens-0", "compile-mode", "dtype", "device", "cuda-unavailable", "sample-interval",
         "config-unknown-key", "config-malformed-toml", "config-missing", "config-bad-scenario-param",
         "config-duplicate-scenario", "json-dir-missing", "json-is-a-directory", "timeout-nan", "timeout-inf",
         "timeout-1e10", "config-empty-scenarios", "config-huge-matrix", "config-latin1", "config-deep-json",
         "seed-2**64", "prompt-longer-than-model", "db-in-memory", "db-empty", "message-blank",
         "repository-too-long", "model-path-too-long", "spool-dir-under-a-file", "override-used-by-no-scenario",
         "commit-time", "parents", "config-bad-validity", "config-unused-compile-mode", "config-unused-fullgraph"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_and_writes_nothing(cb, case):
    files = cb.root / "files"
    files.mkdir()
    r = cli_in_process(["run", *_case(files, case)], cb.env, cwd=files)
    assert r.returncode == 2, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("commitbench: error: ")
    assert r.stdout == ""
    assert not cb.home.exists()  # neither the SQLite default nor its spool dir
    assert not (files / "no-such-dir").exists() and not (files / "adir.tmp").exists()
    assert not list(cb.tmp.iterdir())  # no scratch dir: nothing ran


def test_bad_input_messages_say_what_is_wrong(cb):
    files = cb.root / "files"
    files.mkdir()
    expect = {"bad-commit": "invalid commit id 'xyz!'", "url-mysql": "unsupported database 'mysql'",
              "dtype": "dtype must be one of", "config-unknown-key": "unknown config key(s): bogus_key",
              "unknown-scenario": "unknown scenario kind 'bogus'",
              "prompt-longer-than-model": "eager[prompt_length=600]: prompt_length 600 + new_tokens 20 exceeds "
                                          "the 512 positions of model micro-llama",
              "db-in-memory": "in-memory SQLite database", "message-blank": "--message is blank",
              "spool-dir-under-a-file": "is not a directory",
              "override-used-by-no-scenario": "compile_mode applies to no scenario of this run",
              "seed-2**64": "seed must be an integer from 0 to 4294967295",
              "config-bad-validity": "c.toml [validity] sm_clock_min_share must be a number from 0 to 1",
              "config-unused-compile-mode": "compile_mode must be one of default, reduce-overhead",
              "config-unused-fullgraph": "fullgraph must be true or false, got 'yes'"}
    for case, text in expect.items():
        r = cli_in_process(["run", *_case(files, case)], cb.env, cwd=files)
        assert r.returncode == 2 and text in r.stderr, (case, r.stderr)


@pytest.mark.slow
def test_long_message_with_odd_characters_is_accepted(cb, pg_url):
    """Stored exactly on PostgreSQL (varchar(70) for the seed column, text for the full one)."""
    upgrade_db(pg_url)
    head = "Fix 🚀 “quotes” 'single' \"double\" \\backslash\\ ünïcödé 中文 and more "
    message = head + "'; DROP TABLE benchmarks; --\n\nbody line with\ttab\n" + "x🐍" * 2450 + " end"
    assert len(message) > 5000
    r = run_cli(["run", "--branch", "feature/odd", "--commit", "ABCDEF0123", f"--message={message}",
                 "--model", "micro-llama", "--scenarios", "load", "--repetitions", "1", "--db", pg_url],
                cb.env)
    assert r.returncode == 0, r.stderr
    b = read_run(pg_url, run_uid(r.stdout))["benchmark"]
    assert b["commit_message_full"] == message
    assert b["commit_message"] == message[:70]
    assert b["commit_id"] == "abcdef0123"  # normalized to lower case
    assert b["branch"] == "feature/odd"


@pytest.mark.slow
@pytest.mark.parametrize("message", ["-fix the thing", "- fix", "--fix", "-"])
def test_a_message_or_branch_starting_with_a_dash_is_accepted(cb, message):
    """Real commit messages start with "-"; argparse read "-fix" as an option and refused the
    run, so that commit was never benchmarked."""
    r = run_cli(["run", "--branch", "-dash-branch", "--commit", "abcd", "--message", message,
                 "--model", "micro-llama", "--scenarios", "selftest_error"], cb.env)
    assert r.returncode == 1, r.stderr  # the scenario fails on purpose; the run is stored
    b = read_run(cb.default_url, run_uid(r.stdout))["benchmark"]
    assert (b["commit_message_full"], b["branch"]) == (message, "-dash-branch")
    shown = run_cli(["history", "--branch", "-dash-branch"], cb.env)  # and reading it back by branch
    assert shown.returncode == 0 and "-dash-branch" in shown.stdout.splitlines()[1], shown.stderr


@pytest.mark.slow
def test_escape_sequences_are_printed_escaped(cb):
    """A branch or message with terminal escapes was echoed raw: it could retitle or rewrite
    the reader's terminal. Stored verbatim, printed escaped."""
    branch, message = "x\x1b]0;owned\x07", "\x1b[31mRED\x1b[0m \u202egnp.exe"
    r = run_cli(["run", "--branch", branch, "--commit", "abcd", "--message", message,
                 "--model", "micro-llama", "--scenarios", "selftest_error"], cb.env)
    assert r.returncode == 1, r.stderr
    for stream in (r.stdout, r.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream
    assert "x\\x1b]0;owned\\x07" in r.stdout and "x\\x1b]0;owned\\x07" in r.stderr
    b = read_run(cb.default_url, run_uid(r.stdout))["benchmark"]
    assert (b["branch"], b["commit_message_full"]) == (branch, message)
    shown = run_cli(["history"], cb.env)
    assert shown.returncode == 0 and "\x1b" not in shown.stdout and "\\x1b" in shown.stdout
    header, row = shown.stdout.splitlines()
    assert row.index(" failed ") + 1 == header.index("STATE")  # columns align as printed


@pytest.mark.slow
def test_invalid_utf8_message_is_accepted(cb):
    """Undecodable argv bytes become U+FFFD; stored in the SQLite default database."""
    r = subprocess.run([str(COMMITBENCH).encode(), b"run", b"--branch", b"b", b"--commit", b"abcd",
                        b"--message=bad \xff\xfe bytes", b"--model", b"micro-llama", b"--scenarios", b"load",
                        b"--repetitions", b"1"],
                       env=cb.env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert cb.sqlite_path.exists()
    b = read_run(cb.default_url, run_uid(r.stdout.decode()))["benchmark"]
    assert b["commit_message_full"] == "bad \ufffd\ufffd bytes"
    assert b["commit_message"] == "bad \ufffd\ufffd bytes"
    assert b["status"] == "succeeded"



# -- files handed to compare and ab (--input JSON lines, --thresholds): one line naming the line -----

def _compare_line(base: list, head: list) -> str:
    return json.dumps({"id": "x", "base": [{"reps": base}] * 3, "head": [{"reps": head}] * 3})


def _ab_line(base: list, head: list) -> str:
    return json.dumps({"id": "x", "rounds": [{"order": "AB", "base": {"reps": base}, "head": {"reps": head}}] * 2,
                       "history": [{"reps": base}] * 4})


GOOD = [[1.0, 1.01, 0.99]] * 3
HOSTILE = {  # name: (second line, what the error says about it)
    "400-digit integer": (lambda line: line(GOOD, [[10 ** 400, 1, 1]] * 3), "1000000000000000000000000000000000000000"
                                                                           "... is out of range"),
    "1e308 against 1e-308": (lambda line: line([[1e-308] * 3] * 3, [[1e308] * 3] * 3), "1e-308 is out of range"),
    "subnormal": (lambda line: line([[5e-324] * 3] * 3, [[1e-320] * 3] * 3), "5e-324 is out of range"),
    "1e400": (lambda line: line(GOOD, GOOD).replace("1.01", "1e400", 1), "1e400 is beyond a float's range"),
    "NaN": (lambda line: line(GOOD, GOOD).replace("1.01", "NaN", 1), "NaN is not a number JSON allows"),
    "nested 100,000 deep": (lambda line: "[" * 100_000 + "]" * 100_000, "nested too deeply for JSON to be read"),
}


@pytest.mark.parametrize("command, line", [("compare", _compare_line), ("ab", _ab_line)])
@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_input_line_is_one_line_naming_it(tmp_path, command, line, name):
    second, message = HOSTILE[name]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(line(GOOD, GOOD) + "\n" + second(line) + "\n")
    r = cli_in_process([command, "--input", src, "-o", out], {})
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"commitbench: error: --input {src} line 2: {message}"), r.stderr
    assert not out.exists()


@pytest.mark.parametrize("command, line", [("compare", _compare_line), ("ab", _ab_line)])
def test_input_bytes_that_are_not_utf8_are_one_line_naming_it(tmp_path, command, line):
    src = tmp_path / "in.jsonl"
    src.write_bytes(line(GOOD, GOOD).encode() + b'\n{"id": "caf\xe9"}\n')
    r = cli_in_process([command, "--input", src], {})
    assert r.returncode == 2 and r.stderr == (f"commitbench: error: --input {src} line 2: not UTF-8 text (byte 0xe9 "
                                              "at column 12; save the file as UTF-8)\n")


@pytest.mark.parametrize("command, line", [("compare", _compare_line), ("ab", _ab_line)])
def test_the_widest_numbers_allowed_get_an_answer(tmp_path, command, line):
    """1e30 against 1e-30 (the bounds): a change of 1e60, computed without overflow."""
    src = tmp_path / "in.jsonl"
    src.write_text(line([[1e-30] * 3] * 3, [[1e30] * 3] * 3) + "\n" + line([[1e30] * 3] * 3, [[1e-30] * 3] * 3) + "\n")
    r = cli_in_process([command, "--input", src], {})
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0 and [x["verdict"] for x in rows] == ["regression", "improvement"], r.stderr
    assert rows[0]["change"] == pytest.approx(1e60) and rows[1]["change"] == pytest.approx(-1.0)


@pytest.mark.parametrize("name, content, message", [
    ("t.toml", b"# caf\xe9\ndefault = 0.05\n", ": line 1: not UTF-8 text (byte 0xe9 at column 6"),
    ("t.json", b'{\n"default": "caf\xe9"}', ": line 2: not UTF-8 text (byte 0xe9 at column 16"),
    ("t.toml", b"default = " + b"[" * 100_000 + b"]" * 100_000, ": not valid TOML: nested too deeply"),
    ("t.json", b'{"default": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ": not valid JSON: line 1: nested too deeply"),
    ("t.json", b'{"default": NaN}', ": not valid JSON: line 1: NaN is not a number JSON allows"),
    ("t.json", b'{"default": 1e400}', ": not valid JSON: line 1: 1e400 is beyond a float's range"),
    ("t.json", b'{"default": 1' + b"0" * 400 + b"}", "default must be a relative change in (0, 1)"),
    ("t.toml", b"default = nan", "default must be a relative change in (0, 1), e.g. 0.02, got nan"),
])
def test_a_hostile_thresholds_file_is_one_line(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    src = tmp_path / "in.jsonl"
    src.write_text(_compare_line(GOOD, GOOD) + "\n")
    for command in ("compare", "ab"):
        r = cli_in_process([command, "--input", src, "--thresholds", tmp_path / name], {})
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, (command, r.stderr)
        assert len(r.stderr) < 300 and r.stdout == ""


def test_a_subnormal_threshold_gets_an_answer(tmp_path):
    (tmp_path / "t.json").write_text('{"default": 5e-324}')
    src = tmp_path / "in.jsonl"
    src.write_text(_compare_line(GOOD, [[1.2, 1.21, 1.19]] * 3) + "\n")
    r = cli_in_process(["compare", "--input", src, "--thresholds", tmp_path / "t.json"], {})
    assert r.returncode == 0 and json.loads(r.stdout)["verdict"] == "regression", r.stderr


# -- ids and limits: beyond 64 bits, 0, or digits that are not ASCII --------------------------------

@pytest.fixture(scope="module")
def stored_runs(tmp_path_factory):
    from verdict_data import history, store_all

    url = f"sqlite:///{tmp_path_factory.mktemp('ids') / 'c.sqlite'}"
    store_all(url, history(12, step_at=6, step=0.10))  # detect opens reports
    assert cli_in_process(["detect", "--db", url], {}).returncode == 0
    return url


RUN_ID = "a number from 1 to 9223372036854775807"


@pytest.mark.parametrize("args, message", [
    (["compare", "--base", "main", "--head", "#99999999999999999999"],
     f"run id '#99999999999999999999': #ID is a benchmark id, {RUN_ID}"),
    (["compare", "--base", "main", "--head", "#0"], "run id '#0': #ID is a benchmark id"),
    (["compare", "--base", "run:#99999999999999999999", "--head", "main"], "#ID is a benchmark id"),
    (["compare", "--base", "main", "--head", "#" + "9" * 5000], "#ID is a benchmark id"),
    (["show", "#99999999999999999999"], RUN_ID),
    (["show", "#³"], "run id '#³': #ID is a benchmark id"),
    (["export", "#18446744073709551616", "--format", "json"], RUN_ID),
    (["validate", "--run", "#99999999999999999999"], RUN_ID),
    (["history", "--limit", str(10 ** 20)], "--limit must be 0 (all) or 1 to 1000000, got 100000000000000000000"),
    (["reports", "show", "³"], "report id must be a number such as 3 or #3, got '³'"),
    (["reports", "show", "#99999999999999999999"], "report id must be a number such as 3 or #3"),
])
def test_an_id_or_limit_out_of_range_is_bad_input(stored_runs, args, message):
    r = cli_in_process([*args, "--db", stored_runs], {})
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("commitbench: error: ") and message in r.stderr, r.stderr


def test_ids_in_range_still_name_runs(stored_runs):
    assert cli_in_process(["show", "#1", "--db", stored_runs], {}).returncode == 0
    assert cli_in_process(["reports", "show", "1", "--db", stored_runs], {}).returncode == 0
    r = cli_in_process(["compare", "--base", "#1", "--head", "#12", "--db", stored_runs], {})
    assert r.returncode in (0, 9), r.stderr  # judged, not refused
    r = cli_in_process(["compare", "--base", "main", "--head", "#6000", "--db", stored_runs], {})
    assert r.returncode == 9 and "'#6000' is no stored branch, commit or run" in r.stderr  # a fine id, no such run
