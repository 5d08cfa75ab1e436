"""No credential kept or printed: the command line a run stores is masked, GitHub's token and
an --api-url's password never reach the terminal, and an end-to-end scan of every output of a
run, an ingest, a compare, an export and a pr-comment finds none of the secrets given to them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from benchmark.cli import issue, pr_comment
from benchmark.contracts.secrets import MASK, masked_argv, mask_urls, redact, token_problem
from github_stub import GitHubStub, run_command
from helpers import IDENT, run_cli

PW = "hunter2-S3cret"


# ------------------------------------------------------------------ the stored command line


@pytest.mark.parametrize("argv, stored", [
    (["commitbench", "run", "--db", f"postgresql://bench:{PW}@db.example.com/metrics"],
     ["commitbench", "run", "--db", "postgresql://bench:***@db.example.com/metrics"]),
    (["commitbench", "run", f"--db=postgresql+psycopg2://bench:{PW}@db:5432/metrics?sslmode=require"],
     ["commitbench", "run", "--db=postgresql+psycopg2://bench:***@db:5432/metrics?sslmode=require"]),
    # a password holding "@", as libpq and SQLAlchemy read an unescaped one: up to the last "@"
    (["run", "--db", f"postgres://bench:{PW}@x@db/metrics"], ["run", "--db", "postgres://bench:***@db/metrics"]),
    # libpq keywords in the query
    (["run", "--db", f"postgresql://bench@db/metrics?password={PW}&sslmode=require"],
     ["run", "--db", "postgresql://bench@db/metrics?password=***&sslmode=require"]),
    # a URL anywhere: inside another option's text
    (["run", "--message", f"see https://me:{PW}@git.example.com/x.git and more"],
     ["run", "--message", "see https://me:***@git.example.com/x.git and more"]),
    # credential options, both spellings; a variable's name is not a credential
    (["x", "--password", PW, "--api-token=" + PW, "--token-env", "GH_TOKEN"],
     ["x", "--password", MASK, "--api-token=***", "--token-env", "GH_TOKEN"]),
    # a flag named like a credential takes no value: the next option is kept
    (["push", "--update-password", "--dry-run", "--secret", "-x" + PW],
     ["push", "--update-password", "--dry-run", "--secret", MASK]),
])
def test_masked_argv_hides_every_password(argv, stored):
    assert list(masked_argv(argv)) == stored
    assert PW not in " ".join(masked_argv(argv))


@pytest.mark.parametrize("argv", [
    ["commitbench", "run", "--db", "postgresql://bench@db.example.com/metrics"],
    ["commitbench", "run", "--db", "sqlite:////home/me/results.sqlite", "--scenarios", "load"],
    ["pr-comment", "--api-url", "https://ghe.example.com:8443/api/v3", "--token-env", "GITHUB_TOKEN"],
    ["run", "--message", "user:name@host, not a URL; a:b"],
])
def test_a_command_without_a_secret_is_kept_as_typed(argv):
    assert list(masked_argv(argv)) == argv


def test_redact_and_token_problem_never_hold_the_secret():
    assert redact(f"401 (Authorization: Bearer {PW}) at http://u:{PW}@h/", [PW, "ab"]) == \
        "401 (Authorization: Bearer ***) at http://u:***@h/"
    assert redact("a b ab", ["ab"]) == "a b ab"  # too short to be a secret: words stay whole
    reason = token_problem("GITHUB_TOKEN", "ghs_abc\ndef")
    assert "$GITHUB_TOKEN" in reason and "ghs_abc" not in reason and "def" not in reason
    assert token_problem("GITHUB_TOKEN", "ghs_" + "a" * 36) == ""
    assert mask_urls("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_spool_file_written_before_masking_is_stored_masked(db_url):
    """A result file from an older commitbench (its command as typed) ingested now: the row
    holds the masked command."""
    from db.store import Store
    from helpers import read_run
    from results import make_result

    result = make_result()
    result.environment = dict(result.environment or {}, command=["commitbench", "run", "--db",
                                                                  f"postgresql://bench:{PW}@db/metrics"])
    store = Store(db_url)
    try:
        store.open(auto_upgrade=True)
        store.ingest(result)
    finally:
        store.close()
    stored = read_run(db_url, result.run_uid)["benchmark"]["environment"]["command"]
    assert stored == ["commitbench", "run", "--db", "postgresql://bench:***@db/metrics"]


# ------------------------------------------------------------------ pr-comment and issue

TOKEN = "ghs_secretToken0123456789"
COMMANDS = {
    "pr-comment": (pr_comment, ["--repo", "octo/lib", "--pr", "7"]),
    "issue": (issue, ["--repo", "octo/lib", "--title", "commitbench: regressions"]),
}


@pytest.fixture(params=sorted(COMMANDS))
def post(request, monkeypatch, capsys, tmp_path):
    """post(url, *args, token=..., secrets=...) -> (exit code, stdout, stderr); run_command
    checks that none of `secrets` reached stdout or stderr."""
    module, fixed = COMMANDS[request.param]

    def call(url: str, *args: str, token: str = TOKEN, secrets: tuple[str, ...] = ()):
        return run_command(module, fixed, args, url=url, body="<!-- commitbench -->\nbody\n", token=token,
                           body_file=tmp_path / "body.md", monkeypatch=monkeypatch, capsys=capsys,
                           secrets=(token, *secrets))

    return call


def test_a_token_with_a_newline_is_refused_naming_the_variable(post):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}) as github:
        code, out, err = post(github.url, token="ghs_first\nghs_second", secrets=("ghs_first", "ghs_second"))
        assert code == 2 and out == "" and "GITHUB_TOKEN" in err and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err and github.requests == []


def test_a_refusal_that_echoes_the_authorization_header_is_redacted(post):
    wrong = "ghs_wrongToken0123456789"
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}, echo_credentials=True) as github:
        code, _, err = post(github.url, token=wrong)
    assert code == 6 and "Bad credentials (Authorization: Bearer ***)" in err


def test_a_password_in_the_api_url_is_refused_and_never_printed(post):
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}) as github:
        url = github.url.replace("http://", f"http://bot:{PW}@")
        code, out, err = post(url, secrets=(PW,))
        assert code == 2 and out == "" and "--api-url must not hold a user or password" in err
        assert "bot:***@" in err and github.requests == []


def test_an_unreachable_api_is_named_without_its_password(monkeypatch):
    """The message of a URL that does get as far as a connection (GITHUB_API_URL, not checked
    by argparse): what `shown` prints has the password masked."""
    from benchmark import github

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with pytest.raises(github.Failure) as e:
        github.call("GET", "http://127.0.0.1:1/x", TOKEN, f"http://bot:{PW}@127.0.0.1:1")
    assert e.value.code == 5 and "unreachable" in str(e.value) and PW not in github.shown(str(e.value))
    assert PW not in str(e.value)


# ------------------------------------------------------------------ every output of a session


def _scan(secret: str, texts: dict[str, str], roots: list[Path]) -> list[str]:
    """Where `secret` appears: the named texts, and every file under `roots` (bytes)."""
    found = [name for name, text in texts.items() if secret in text]
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and secret.encode() in path.read_bytes():
                found.append(str(path))
    return found


def _rows(sqlite_file: Path) -> str:
    """Every row of every table, as text."""
    con = sqlite3.connect(sqlite_file)
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(r) for t in tables for r in con.execute(f'SELECT * FROM "{t}"'))
    finally:
        con.close()


@pytest.mark.slow
def test_no_secret_in_any_output_of_a_run_compare_export_and_pr_comment(cb, tmp_path):
    """A real run whose --db carries a password (an unreachable PostgreSQL: the run is spooled),
    its spool file ingested into SQLite, compared, exported and posted with a token: neither
    the password nor the token is in any stdout, stderr, file written or database row."""
    out = tmp_path / "out"
    out.mkdir()
    spool, db_file = out / "spool", out / "results.sqlite"
    sqlite = f"sqlite:///{db_file}"
    env = dict(cb.env, GITHUB_TOKEN=TOKEN)
    texts: dict[str, str] = {}

    def cli(name: str, args: list, ok: tuple[int, ...] = (0,)):
        r = run_cli(args, env)
        texts[f"{name} stdout"], texts[f"{name} stderr"] = r.stdout, r.stderr
        assert r.returncode in ok, (name, r.returncode, r.stderr[-2000:])
        return r

    unreachable = f"postgresql://bench:{PW}@127.0.0.1:1/metrics"
    cli("run", ["run", *IDENT, "--model", "micro-llama", "--scenarios", "load", "--db", unreachable,
                "--spool-dir", spool, "--json", out / "run.json"], ok=(3,))
    [spooled] = spool.glob("*.json")
    stored = json.loads((out / "run.json").read_text())["environment"]["command"]
    assert "postgresql://bench:***@127.0.0.1:1/metrics" in stored  # masked, not dropped
    cli("ingest", ["ingest", spooled, "--db", sqlite])
    cli("compare", ["compare", "--base", "test-branch", "--head", "test-branch", "--db", sqlite,
                    "--format", "markdown", "-o", out / "compare.md"], ok=(0, 8, 9))  # 9: one run, nothing to compare
    cli("export", ["export", "latest", "--format", "json", "-o", out / "export.json", "--db", sqlite])
    assert "bench:***@" in (out / "export.json").read_text()
    body = out / "compare.md"
    assert body.exists()
    with GitHubStub(token=TOKEN, pulls={"octo/lib": [7]}, echo_credentials=True) as github:
        cli("pr-comment", ["pr-comment", "--repo", "octo/lib", "--pr", "7", "--body-file", body,
                           "--api-url", github.url])
        env["GITHUB_TOKEN"] = "ghs_wrongToken0123456789"  # refused, and echoed back by the server
        cli("pr-comment refused", ["pr-comment", "--repo", "octo/lib", "--pr", "7", "--body-file", body,
                                   "--api-url", github.url], ok=(6,))
        cli("pr-comment password in --api-url", ["pr-comment", "--repo", "octo/lib", "--pr", "7", "--body-file", body,
                                                 "--api-url", github.url.replace("http://", f"http://bot:{PW}@")],
            ok=(2,))
        texts["posted comment"] = json.dumps(github.comments("octo/lib", 7))
    texts["database rows"] = _rows(db_file)
    assert "bench:***@" in texts["database rows"]
    for secret in (PW, TOKEN, "ghs_wrongToken0123456789"):
        assert _scan(secret, texts, [out]) == [], secret
