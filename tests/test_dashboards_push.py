"""`commitbench dashboards push` against a Grafana HTTP API stand-in (tests/grafana_stub.py:
a real HTTP server on 127.0.0.1, not a Grafana; see its docstring for what that leaves out)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from grafana_stub import POSTGRES_PLUGIN, GrafanaStub, NotGrafana

from benchmark.cli import main
from benchmark.cli.dashboards import commitbench_version
from benchmark.contracts import exitcodes
from dashboards import push

REPO = Path(__file__).resolve().parents[1]
TOKEN = "glsa_TestTokenThatMustNeverBePrinted_0123abcd"
PASSWORD = "reader-Password-never-printed-42"
ENV_KEYS = ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD", "MY_TOKEN",
            "COMMITBENCH_PG_ADDRESS", "COMMITBENCH_PG_DATABASE", "COMMITBENCH_PG_SSLMODE",
            "COMMITBENCH_READER_PASSWORD")
BASE_ENV = {"GRAFANA_TOKEN": TOKEN, "COMMITBENCH_READER_PASSWORD": PASSWORD,
            "COMMITBENCH_PG_ADDRESS": "db.example.com:5432", "COMMITBENCH_PG_DATABASE": "metrics"}


def dashboard(uid: str, title: str, **extra) -> dict:
    return {"uid": uid, "title": title, "schemaVersion": 39, "tags": ["commitbench"],
            "time": {"from": "now-30d", "to": "now"},
            "panels": [{"id": 1, "type": "timeseries", "title": "median",
                        "datasource": {"type": "grafana-postgresql-datasource", "uid": "commitbench-pg"},
                        "targets": [{"refId": "A", "rawSql": "SELECT 1", "format": "table"}]}], **extra}


@pytest.fixture
def boards(tmp_path) -> Path:
    d = tmp_path / "json"
    d.mkdir()
    for dash in (dashboard("cb-overview", "commitbench: overview"), dashboard("cb-series", "commitbench: series")):
        (d / f"{dash['uid']}.json").write_text(json.dumps(dash, indent=2))
    return d


@pytest.fixture
def grafana():
    with GrafanaStub(token=TOKEN, viewer_token="viewer-token-abcdef") as stub:
        yield stub


@pytest.fixture
def cli(monkeypatch, capsys, boards):
    """cli(url, *args, env=...) -> (exit code, stdout, stderr), in this process."""

    def call(url: str | None, *args: str, env: dict | None = None, dashboards_dir: Path | None = boards):
        for k in ENV_KEYS:
            monkeypatch.delenv(k, raising=False)
        for k, v in (BASE_ENV if env is None else env).items():
            monkeypatch.setenv(k, v)
        argv = ["dashboards", "push", *(["--grafana-url", url] if url else []),
                *(["--dashboards-dir", str(dashboards_dir)] if dashboards_dir else []), *args]
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return call


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_one_line_error(err: str, *words: str) -> None:
    assert len(lines(err)) == 1 and err.startswith("commitbench: error: "), err
    for w in words:
        assert w in err, (w, err)
    assert TOKEN not in err and PASSWORD not in err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- pushing


def test_first_push_creates_the_datasource_the_folder_and_every_dashboard(grafana, cli):
    code, out, err = cli(grafana.url)
    assert code == exitcodes.OK, err
    ds = grafana.datasources["commitbench-pg"]
    assert (ds["name"], ds["type"], ds["access"], ds["url"], ds["user"]) == (
        "commitbench", "grafana-postgresql-datasource", "proxy", "db.example.com:5432", "commitbench_reader")
    assert ds["jsonData"] == {"database": "metrics", "sslmode": "require", "postgresVersion": 1500,
                              "timescaledb": False, "maxOpenConns": 10}
    assert ds["isDefault"] is False  # a team's Grafana keeps its own default datasource
    assert grafana.secrets["commitbench-pg"] == {"password": PASSWORD}
    assert ds["secureJsonFields"] == {"password": True}
    assert grafana.folders["commitbench"]["title"] == "commitbench"
    assert set(grafana.dashboards) == {"cb-overview", "cb-series"}
    for uid, entry in grafana.dashboards.items():
        assert entry["folderUid"] == "commitbench"
        assert entry["messages"] == [f"commitbench {commitbench_version()}"]
        assert entry["dashboard"]["panels"][0]["datasource"]["uid"] == "commitbench-pg"
    assert lines(out) == [
        f"Grafana 11.3.0 at {grafana.url}",
        "datasource commitbench-pg (commitbench): created",
        "folder commitbench: created",
        "dashboard cb-overview (commitbench: overview): created",
        "dashboard cb-series (commitbench: series): created",
        "4 created, 0 updated, 0 unchanged",
    ]
    assert err == "" and TOKEN not in out and PASSWORD not in out
    assert [r for r in grafana.writes] == [("POST", "/api/datasources"), ("POST", "/api/folders"),
                                           ("POST", "/api/dashboards/db"), ("POST", "/api/dashboards/db")]


def test_a_second_push_reports_everything_unchanged_and_writes_nothing(grafana, cli):
    assert cli(grafana.url)[0] == exitcodes.OK
    before = len(grafana.requests)
    versions = {u: e["dashboard"]["version"] for u, e in grafana.dashboards.items()}
    code, out, err = cli(grafana.url)
    assert code == exitcodes.OK, err
    assert [line.rsplit(": ", 1)[1] for line in lines(out)[1:-1]] == ["unchanged"] * 4
    assert lines(out)[-1] == "0 created, 0 updated, 4 unchanged"
    second = grafana.requests[before:]
    assert second and all(method == "GET" for method, _ in second), second
    assert {u: e["dashboard"]["version"] for u, e in grafana.dashboards.items()} == versions
    assert grafana.datasources["commitbench-pg"]["version"] == 1


def test_a_changed_dashboard_is_updated_and_only_it(grafana, cli, boards):
    assert cli(grafana.url)[0] == exitcodes.OK
    changed = dashboard("cb-series", "commitbench: series over time")
    changed["panels"][0]["title"] = "p90"
    (boards / "cb-series.json").write_text(json.dumps(changed))
    before = len(grafana.writes)
    code, out, err = cli(grafana.url)
    assert code == exitcodes.OK, err
    assert "dashboard cb-series (commitbench: series over time): updated (panels, title)" in lines(out)
    assert "dashboard cb-overview (commitbench: overview): unchanged" in lines(out)
    assert grafana.writes[before:] == [("POST", "/api/dashboards/db")]
    stored = grafana.dashboards["cb-series"]
    assert stored["dashboard"]["title"] == "commitbench: series over time"
    assert stored["dashboard"]["version"] == 2 and len(stored["messages"]) == 2


def test_a_dashboard_moved_out_of_the_folder_is_moved_back(grafana, cli):
    assert cli(grafana.url)[0] == exitcodes.OK
    grafana.dashboards["cb-overview"]["folderUid"] = ""  # someone moved it to the root
    code, out, _ = cli(grafana.url)
    assert code == exitcodes.OK
    assert "dashboard cb-overview (commitbench: overview): updated (moved into folder commitbench)" in lines(out)
    assert grafana.dashboards["cb-overview"]["folderUid"] == "commitbench"


def test_a_changed_datasource_value_updates_it_keeping_what_grafana_added(grafana, cli):
    assert cli(grafana.url)[0] == exitcodes.OK
    # Someone configured a CA certificate in Grafana's UI: jsonData the YAML does not set.
    grafana.datasources["commitbench-pg"]["jsonData"]["tlsConfigurationMethod"] = "file-content"
    before = len(grafana.writes)
    code, out, err = cli(grafana.url, "--pg-sslmode", "verify-full", "--pg-address", "db2.example.com:6432")
    assert code == exitcodes.OK, err
    assert "datasource commitbench-pg (commitbench): updated (url, jsonData.sslmode)" in lines(out)
    assert grafana.writes[before:] == [("PUT", "/api/datasources/uid/commitbench-pg")]
    ds = grafana.datasources["commitbench-pg"]
    assert ds["url"] == "db2.example.com:6432" and ds["jsonData"]["sslmode"] == "verify-full"
    assert ds["jsonData"]["tlsConfigurationMethod"] == "file-content"
    assert ds["version"] == 2 and grafana.secrets["commitbench-pg"] == {"password": PASSWORD}


def test_the_password_is_sent_again_only_when_asked(grafana, cli):
    assert cli(grafana.url)[0] == exitcodes.OK
    env = {**BASE_ENV, "COMMITBENCH_READER_PASSWORD": "rotated-password-9876"}
    code, out, _ = cli(grafana.url, env=env)
    assert code == exitcodes.OK and "datasource commitbench-pg (commitbench): unchanged" in lines(out)
    assert grafana.secrets["commitbench-pg"] == {"password": PASSWORD}  # Grafana cannot say it differs
    code, out, err = cli(grafana.url, "--update-password", env=env)
    assert code == exitcodes.OK, err
    assert "datasource commitbench-pg (commitbench): updated (password)" in lines(out)
    assert grafana.secrets["commitbench-pg"] == {"password": "rotated-password-9876"}
    assert "rotated-password-9876" not in out + err


def test_dry_run_reads_and_says_what_would_change_without_writing(grafana, cli):
    code, out, err = cli(grafana.url, "--dry-run")
    assert code == exitcodes.OK, err
    assert "datasource commitbench-pg (commitbench): would be created" in lines(out)
    assert "dashboard cb-series (commitbench: series): would be created" in lines(out)
    assert lines(out)[-1] == "4 to create, 0 to update, 0 unchanged; dry run: nothing was written"
    assert grafana.writes == [] and grafana.datasources == {} and grafana.dashboards == {}
    assert PASSWORD not in out


def test_a_dashboard_in_the_folder_but_not_among_the_files_is_reported_and_left(grafana, cli, boards):
    assert cli(grafana.url)[0] == exitcodes.OK
    (boards / "cb-series.json").unlink()
    code, out, _ = cli(grafana.url)
    assert code == exitcodes.OK
    assert ("dashboard cb-series (commitbench: series): in folder commitbench but not among the files, "
            "left as it is") in lines(out)
    assert lines(out)[-1] == "0 created, 0 updated, 3 unchanged, 1 not among the files left alone"
    assert "cb-series" in grafana.dashboards


def test_no_dashboards_yet_still_installs_the_datasource(grafana, cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli(grafana.url, dashboards_dir=empty)
    assert code == exitcodes.OK
    assert "no dashboards in" in err and "commitbench-pg" in grafana.datasources


def test_basic_auth_from_grafana_user_and_password(cli):
    with GrafanaStub(users={"admin": "admin-pass-xyz"}) as stub:
        env = {k: v for k, v in BASE_ENV.items() if k != "GRAFANA_TOKEN"}
        code, _, err = cli(stub.url, env={**env, "GRAFANA_USER": "admin", "GRAFANA_PASSWORD": "admin-pass-xyz"})
        assert code == exitcodes.OK, err
        assert "commitbench-pg" in stub.datasources
        code, _, err = cli(stub.url, env={**env, "GRAFANA_USER": "admin", "GRAFANA_PASSWORD": "wrong-pass"})
        assert code == exitcodes.GRAFANA_AUTH_REFUSED
        assert_one_line_error(err, "$GRAFANA_USER")
        assert "wrong-pass" not in err


def test_a_grafana_served_under_a_path(cli):
    with GrafanaStub(token=TOKEN, prefix="/grafana") as stub:
        code, out, err = cli(stub.url + "/")
        assert code == exitcodes.OK, err
        assert "commitbench-pg" in stub.datasources and lines(out)[0].endswith("/grafana")


def test_the_generated_dashboards_load():
    """dashboards/json as dashboards.generate leaves it (empty until it has run)."""
    for dash in push.load_dashboards():
        assert push.UID_RE.match(dash["uid"]) and "id" not in dash


# ---------------------------------------------------------------- what goes wrong


def test_nothing_listening(cli):
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = cli(url)
    assert code == exitcodes.GRAFANA_UNREACHABLE
    assert_one_line_error(err, url, "connection refused")
    assert TOKEN not in out


def test_a_host_that_does_not_resolve(cli):
    code, _, err = cli("http://grafana.invalid:3000")  # .invalid never resolves (RFC 2606)
    assert code == exitcodes.GRAFANA_UNREACHABLE
    assert_one_line_error(err, "http://grafana.invalid:3000", "cannot resolve")


def test_a_web_server_that_is_not_grafana(cli, tmp_path):
    with NotGrafana(str(tmp_path)) as other:
        code, out, err = cli(other.url)
    assert code == exitcodes.GRAFANA_UNREACHABLE
    assert_one_line_error(err, other.url, "is not a Grafana", "404", "HTML")
    assert other.requests == 1  # only /api/health: nothing else was tried
    assert TOKEN not in out


def test_a_bad_token_is_named_by_its_variable_never_shown(grafana, cli):
    code, out, err = cli(grafana.url, env={**BASE_ENV, "GRAFANA_TOKEN": "glsa_wrong_token_0000"})
    assert code == exitcodes.GRAFANA_AUTH_REFUSED
    assert_one_line_error(err, "refused the token in $GRAFANA_TOKEN", "401", "Invalid API key",
                          "read datasource commitbench-pg")
    assert "glsa_wrong_token_0000" not in out + err
    assert grafana.writes == []
    code, _, err = cli(grafana.url, "--token-env", "MY_TOKEN", env={**BASE_ENV, "MY_TOKEN": "nope-nope-nope"})
    assert code == exitcodes.GRAFANA_AUTH_REFUSED
    assert_one_line_error(err, "the token in $MY_TOKEN")
    assert "nope-nope-nope" not in err


def test_a_token_that_may_only_read(grafana, cli):
    code, out, err = cli(grafana.url, env={**BASE_ENV, "GRAFANA_TOKEN": "viewer-token-abcdef"})
    assert code == exitcodes.GRAFANA_AUTH_REFUSED
    assert_one_line_error(err, "403", "create datasource commitbench-pg")
    assert "viewer-token-abcdef" not in out + err
    assert grafana.datasources == {}


def test_grafana_refusing_the_datasource_type(cli):
    refusal = (400, "Plugin not registered: grafana-postgresql-datasource")
    with GrafanaStub(token=TOKEN, refuse_types={"grafana-postgresql-datasource": refusal}) as stub:
        code, out, err = cli(stub.url)
        assert code == exitcodes.GRAFANA_REFUSED
        assert_one_line_error(err, "refused to create datasource commitbench-pg", "(400)",
                              "Plugin not registered: grafana-postgresql-datasource")
        assert stub.writes == [("POST", "/api/datasources")]  # nothing after it
        assert stub.datasources == {} and stub.folders == {} and stub.dashboards == {}


def test_a_grafana_without_the_postgresql_plugin_gets_no_write(cli):
    with GrafanaStub(token=TOKEN, version="9.5.0",
                     plugins=[{"id": "prometheus", "type": "datasource", "name": "Prometheus"}]) as stub:
        code, _, err = cli(stub.url)
        assert code == exitcodes.GRAFANA_REFUSED
        assert_one_line_error(err, "Grafana 9.5.0", "has no grafana-postgresql-datasource plugin")
        assert stub.writes == []


def test_an_older_plugin_id_with_the_new_one_as_alias_is_accepted(cli):
    plugin = {**POSTGRES_PLUGIN, "id": "postgres", "aliasIDs": ["grafana-postgresql-datasource"]}
    with GrafanaStub(token=TOKEN, plugins=[plugin]) as stub:
        assert cli(stub.url)[0] == exitcodes.OK


def test_a_datasource_of_the_same_name_and_another_uid(grafana, cli):
    grafana.datasources["other"] = {"uid": "other", "name": "commitbench", "type": "prometheus", "readOnly": False}
    code, _, err = cli(grafana.url)
    assert code == exitcodes.GRAFANA_REFUSED
    assert_one_line_error(err, "create datasource commitbench-pg", "(409)", "same name already exists")


def test_a_read_only_datasource_that_differs_is_not_touched(grafana, cli):
    assert cli(grafana.url)[0] == exitcodes.OK
    grafana.datasources["commitbench-pg"]["readOnly"] = True  # provisioned from a file
    before = len(grafana.writes)
    code, _, err = cli(grafana.url, "--pg-database", "other")
    assert code == exitcodes.GRAFANA_REFUSED
    assert_one_line_error(err, "read-only", "jsonData.database")
    assert grafana.writes[before:] == []
    assert cli(grafana.url)[0] == exitcodes.OK  # the same: unchanged, fine


def test_a_failure_midway_says_what_was_done_before_it(grafana, cli, monkeypatch):
    from grafana_stub import Reply

    def fail(query, body):
        raise Reply(500, {"message": "Internal server error", "traceID": ""})

    monkeypatch.setattr(grafana, "save_dashboard", fail)
    code, out, err = cli(grafana.url)
    assert code == exitcodes.GRAFANA_REFUSED
    assert_one_line_error(err, "failed to save dashboard cb-overview (500): Internal server error")
    assert lines(out)[1:] == ["datasource commitbench-pg (commitbench): created", "folder commitbench: created"]


def test_html_where_grafana_answers_json(grafana, cli, monkeypatch):
    """A proxy in front of Grafana that lets /api/health through and answers the rest with
    its login page."""
    def login_page(uid, query, body):
        raise Reply(200, "<html><body>Sign in</body></html>")

    from grafana_stub import Reply
    monkeypatch.setattr(grafana, "get_datasource", login_page)
    code, _, err = cli(grafana.url)
    assert code == exitcodes.GRAFANA_UNREACHABLE
    assert_one_line_error(err, "read datasource commitbench-pg", "an HTML page", "not Grafana's JSON")
    assert grafana.writes == []


def test_a_datasource_without_a_stored_password_gets_one(grafana, cli):
    assert cli(grafana.url)[0] == exitcodes.OK
    grafana.datasources["commitbench-pg"]["secureJsonFields"] = {}
    grafana.secrets["commitbench-pg"] = {}
    code, out, _ = cli(grafana.url)
    assert code == exitcodes.OK
    assert "datasource commitbench-pg (commitbench): updated (password not stored)" in lines(out)
    assert grafana.secrets["commitbench-pg"] == {"password": PASSWORD}


@pytest.mark.parametrize("drop, args, words", [
    ("COMMITBENCH_READER_PASSWORD", [], ["COMMITBENCH_READER_PASSWORD is not set"]),
    ("COMMITBENCH_PG_ADDRESS", [], ["--pg-address", "COMMITBENCH_PG_ADDRESS"]),
    ("COMMITBENCH_PG_DATABASE", [], ["--pg-database", "COMMITBENCH_PG_DATABASE"]),
    ("GRAFANA_TOKEN", [], ["GRAFANA_TOKEN", "GRAFANA_USER"]),
    (None, ["--token-env", "MY_TOKEN"], ["$MY_TOKEN (--token-env) is not set"]),
    (None, ["--pg-address", "db.example.com"], ["--pg-address 'db.example.com'", "HOST:PORT"]),
    (None, ["--pg-address", "db:99999"], ["port"]),
    (None, ["--pg-sslmode", "prefer"], ["--pg-sslmode 'prefer'", "verify-full"]),
    (None, ["--timeout", "0"], ["--timeout"]),
])
def test_a_missing_or_bad_value_is_named_and_nothing_is_sent(grafana, cli, drop, args, words):
    env = {k: v for k, v in BASE_ENV.items() if k != drop}
    code, out, err = cli(grafana.url, *args, env=env)
    assert code == exitcodes.BAD_INPUT
    assert_one_line_error(err, *words)
    assert grafana.requests == [] and out == ""


@pytest.mark.parametrize("url, words", [
    ("ftp://grafana:3000", ["http(s)://"]),
    ("http://admin:secret-pass@grafana:3000", ["must not hold credentials"]),
    ("http://", ["no host"]),
])
def test_a_bad_grafana_url(cli, url, words):
    code, _, err = cli(url)
    assert code == exitcodes.BAD_INPUT
    assert_one_line_error(err, *words)
    assert "secret-pass" not in err


def test_bad_dashboard_files_are_named_before_anything_is_sent(grafana, cli, boards):
    (boards / "zz-copy.json").write_text(json.dumps(dashboard("cb-overview", "a copy")))
    code, _, err = cli(grafana.url)
    assert code == exitcodes.BAD_INPUT
    assert_one_line_error(err, "zz-copy.json", "cb-overview")
    (boards / "zz-copy.json").write_text("{not json")
    assert cli(grafana.url)[0] == exitcodes.BAD_INPUT
    (boards / "zz-copy.json").write_text(json.dumps({"title": "no uid"}))
    assert cli(grafana.url)[0] == exitcodes.BAD_INPUT
    assert grafana.requests == []


# ---------------------------------------------------------------- the pieces


def test_the_payload_is_the_provisioning_yaml_with_values_for_its_variables():
    values = push.DatasourceValues("pg:5432", "metrics", "disable", PASSWORD)
    payload = push.datasource_payload(values)
    assert payload["uid"] == "commitbench-pg" and payload["url"] == "pg:5432"
    assert payload["jsonData"]["sslmode"] == "disable" and payload["secureJsonData"] == {"password": PASSWORD}
    assert "$" not in json.dumps({k: v for k, v in payload.items() if k != "secureJsonData"})
    assert PASSWORD not in repr(values)


def test_exported_ids_are_dropped(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({**dashboard("a", "A"), "id": 17, "version": 9}))
    (dash,) = push.load_dashboards(tmp_path)
    assert "id" not in dash and "version" not in dash


@pytest.mark.parametrize("address, ok", [
    ("db:5432", True), ("10.0.0.1:5432", True), ("[::1]:5432", True), ("db", False), ("::1:5432", False),
    ("db:0", False), ("db:port", False), (":5432", False), ("user@db:5432", False), ("db /x:5432", False),
])
def test_pg_address(address, ok):
    assert (push.check_address(address) == "") is ok


@pytest.mark.slow
def test_push_in_a_real_subprocess(grafana, boards):
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env.update(BASE_ENV)
    command = [sys.executable, "-m", "benchmark.cli", "dashboards", "push", "--grafana-url", grafana.url,
               "--dashboards-dir", str(boards)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[-1] == "4 created, 0 updated, 0 unchanged"
    bad = subprocess.run(command, cwd=REPO, env={**env, "GRAFANA_TOKEN": "glsa_bad_subprocess_token"},
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == exitcodes.GRAFANA_AUTH_REFUSED
    assert_one_line_error(bad.stderr, "$GRAFANA_TOKEN")
    assert "glsa_bad_subprocess_token" not in bad.stdout + bad.stderr
