"""Migrations on both backends: fresh upgrade, idempotence, models == schema, and adopting
databases created by the seed's plain SQL file without losing a row."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from benchmark.contracts.result import SEED_KEYS, Metric
from db.migrate import SchemaError, current_revision, head_revision, upgrade
from db.models import Base
from db.session import make_engine, session_scope
from db.store import Store, counts
from results import make_result

ROOT = Path(__file__).resolve().parents[1]
SEED_SQL = ROOT / "db" / "seed_schema.sql"

EXPECTED_COLUMNS = {
    "benchmarks": {
        "benchmark_id", "branch", "commit_id", "commit_message", "gpu_name", "created_at",
        "run_uid", "status", "error", "commit_message_full", "repository", "model_id",
        "synthetic", "gpu_count", "config", "config_hash", "environment", "started_at",
        "finished_at", "commit_time", "commit_parents", "runner_host", "runner_pid", "heartbeat_at",
        "plotted_at", "weight_bytes", "memory_bandwidth_bytes_per_s",
        "valid", "invalid_reasons", "validity_rules", "replay_of",
    },
    "device_measurements": {
        "measurement_id", "benchmark_id", "cpu_util", "mem_megabytes", "gpu_util",
        "gpu_mem_megabytes", "time", "scenario", "phase", "sm_clock_mhz", "power_watts",
        "temperature_c", "throttle_reasons", "cpu_other_util", "gpu_other_processes",
    },
    "model_measurements": {"measurement_id", "benchmark_id", "measurements", "time"},
    "scenario_runs": {
        "scenario_run_id", "benchmark_id", "name", "kind", "params", "status", "error",
        "exit_code", "signal", "stderr_tail", "started_at", "finished_at", "phases", "info",
        "flags", "series_key",
    },
    "metrics": {
        "metric_id", "benchmark_id", "scenario_run_id", "scenario", "name", "unit", "n", "mean",
        "median", "p90", "p99", "min", "max", "stdev", "samples", "series_key", "direction",
        "processes",
    },
    "change_points": {
        "change_point_id", "repository", "branch", "series_key", "scenario", "figure", "gpu_name", "model_id",
        "commit_id", "benchmark_id", "previous_commit_id", "low_commit_id", "high_commit_id", "before", "after",
        "magnitude", "score", "direction", "verdict", "state", "detector", "detected_at", "updated_at",
    },
    "regression_reports": {
        "report_id", "repository", "branch", "series_key", "scenario", "figure", "gpu_name", "model_id",
        "commit_id", "previous_commit_id", "benchmark_id", "change_point_id", "before", "after", "magnitude",
        "direction", "state", "first_bad_commit", "evidence", "accepted_by", "reason", "link", "fixed_by_commit",
        "history", "created_at", "updated_at", "detector", "reported_commit_id",
    },
}
EXPECTED_INDEXES = {
    "benchmarks": {
        ("ux_benchmarks_run_uid", ("run_uid",), True),
        ("ix_benchmarks_branch_created_at", ("branch", "created_at"), False),
        ("ix_benchmarks_commit_id", ("commit_id",), False),
        ("ix_benchmarks_gpu_name", ("gpu_name",), False),
        ("ix_benchmarks_model_id", ("model_id",), False),
        ("ix_benchmarks_created_at", ("created_at",), False),
        ("ix_benchmarks_branch_commit_time", ("branch", "commit_time"), False),
        ("ix_benchmarks_status", ("status",), False),
        ("ix_benchmarks_plotted_at", ("plotted_at",), False),
    },
    "device_measurements": {
        ("ix_device_measurements_benchmark_id_time", ("benchmark_id", "time"), False)
    },
    "model_measurements": {("ix_model_measurements_benchmark_id", ("benchmark_id",), False)},
    "change_points": {("ix_change_points_benchmark_id", ("benchmark_id",), False),
                      ("ix_change_points_state", ("state",), False)},
    "regression_reports": {("ix_regression_reports_state", ("state",), False),
                           ("ix_regression_reports_benchmark_id", ("benchmark_id",), False)},
    "metrics": {
        ("ix_metrics_benchmark_id_name", ("benchmark_id", "name"), False),
        ("ix_metrics_name", ("name",), False),
        ("ix_metrics_scenario_run_id", ("scenario_run_id",), False),
        ("ix_metrics_series_key_name", ("series_key", "name"), False),
    },
    "scenario_runs": {("ix_scenario_runs_series_key", ("series_key",), False)},
}

SEED_VALUES = {k: round(0.1 * (i + 1), 3) for i, k in enumerate(SEED_KEYS)}

# SQLite stand-in for db/seed_schema.sql, written the way someone would by hand.
SQLITE_SEED_DDL = [
    """CREATE TABLE benchmarks (benchmark_id INTEGER PRIMARY KEY AUTOINCREMENT,
       branch VARCHAR(255), commit_id VARCHAR(72), commit_message VARCHAR(70),
       gpu_name VARCHAR(255), created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
    """CREATE TABLE device_measurements (measurement_id INTEGER PRIMARY KEY AUTOINCREMENT,
       benchmark_id INTEGER REFERENCES benchmarks (benchmark_id), cpu_util DOUBLE PRECISION,
       mem_megabytes DOUBLE PRECISION, gpu_util DOUBLE PRECISION,
       gpu_mem_megabytes DOUBLE PRECISION,
       time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
    """CREATE TABLE model_measurements (measurement_id INTEGER PRIMARY KEY AUTOINCREMENT,
       benchmark_id INTEGER REFERENCES benchmarks (benchmark_id), measurements JSON,
       time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
]


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def schema_diffs(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


def ingest(engine, result) -> str:
    store = Store(str(engine.url.render_as_string(hide_password=False)))
    try:
        return store.ingest(result)
    finally:
        store.close()


def snapshot(engine) -> dict[str, list]:
    """Every table's rows (all columns), in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            out[name] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]
    return out


def test_empty_database_has_no_revision(engine):
    assert current_revision(engine) is None


def test_upgrade_from_empty_creates_everything(engine):
    assert upgrade(engine) == head_revision() == current_revision(engine)
    insp = sa.inspect(engine)
    assert set(insp.get_table_names()) == set(EXPECTED_COLUMNS) | {"alembic_version"}
    for table, columns in EXPECTED_COLUMNS.items():
        assert {c["name"] for c in insp.get_columns(table)} == columns, table
        indexes = {(i["name"], tuple(i["column_names"]), bool(i["unique"]))
                   for i in insp.get_indexes(table)}
        assert EXPECTED_INDEXES[table] <= indexes, table
    uniques = insp.get_unique_constraints("scenario_runs")
    assert [u["column_names"] for u in uniques] == [["benchmark_id", "name"]]
    fks = {(fk["referred_table"], tuple(fk["constrained_columns"]), fk["options"].get("ondelete"))
           for fk in insp.get_foreign_keys("metrics")}
    assert fks == {("benchmarks", ("benchmark_id",), "CASCADE"),
                   ("scenario_runs", ("scenario_run_id",), "CASCADE")}


def test_upgrade_is_idempotent(engine):
    upgrade(engine)
    ingest(engine, make_result())
    before = snapshot(engine)
    assert upgrade(engine) == head_revision()
    assert upgrade(engine) == head_revision()
    assert snapshot(engine) == before


def test_models_match_migrated_schema(engine):
    upgrade(engine)
    assert schema_diffs(engine) == []


def test_upgrade_step_by_step(engine):
    assert upgrade(engine, "0001") == "0001"
    assert set(sa.inspect(engine).get_table_names()) == {
        "benchmarks", "device_measurements", "model_measurements", "alembic_version"}
    assert upgrade(engine) == head_revision()
    assert schema_diffs(engine) == []


def test_cascade_delete(engine):
    upgrade(engine)
    ingest(engine, make_result())
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM device_measurements"))
        conn.execute(text("DELETE FROM model_measurements"))
        conn.execute(text("DELETE FROM benchmarks"))
    counts = snapshot(engine)
    assert counts["scenario_runs"] == [] and counts["metrics"] == []


def test_unknown_revision_is_refused(engine):
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="9999"):
        upgrade(engine)


def test_wrong_shape_benchmarks_is_left_unchanged(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE benchmarks (id INTEGER PRIMARY KEY, name VARCHAR(20))"))
        conn.execute(text("INSERT INTO benchmarks (id, name) VALUES (1, 'mine')"))
    before = snapshot(engine)
    with pytest.raises(SchemaError, match="benchmarks lacks seed column"):
        upgrade(engine)
    assert snapshot(engine) == before
    assert current_revision(engine) is None


def test_partial_seed_schema_is_refused(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE benchmarks (benchmark_id INTEGER PRIMARY KEY, "
                          "branch VARCHAR(255), commit_id VARCHAR(72), commit_message VARCHAR(70), "
                          "gpu_name VARCHAR(255), created_at TIMESTAMP NOT NULL)"))
    before = snapshot(engine)
    with pytest.raises(SchemaError, match="seed table device_measurements is missing"):
        upgrade(engine)
    assert snapshot(engine) == before


def test_unrelated_tables_are_kept(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(20))"))
        conn.execute(text("INSERT INTO notes VALUES (1, 'keep me')"))
    upgrade(engine)
    assert snapshot(engine)["notes"] == [(1, "keep me")]


def test_alembic_cli_with_database_url(db_url, tmp_path):
    env = dict(os.environ, DATABASE_URL=db_url)
    alembic = Path(sys.executable).with_name("alembic")
    r = subprocess.run([str(alembic), "-c", str(ROOT / "db" / "alembic.ini"), "upgrade", "head"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_diffs(engine) == []
    finally:
        engine.dispose()


# -- adopting seed databases ---------------------------------------------------------

def _insert_seed_rows(conn, json_sql: str) -> None:
    """Rows written the way the seed's script did (plain SQL, created_at by default)."""
    for i in range(3):
        bid = conn.execute(
            text("INSERT INTO benchmarks (branch, commit_id, commit_message, gpu_name) "
                 "VALUES (:b, :c, :m, :g) RETURNING benchmark_id"),
            {"b": "main" if i < 2 else "pr-1", "c": f"{i:040x}", "m": f"commit {i} ’quoted’ 'x'",
             "g": "NVIDIA A10G"},
        ).scalar_one()
        for j in range(4):
            conn.execute(
                text("INSERT INTO device_measurements (benchmark_id, cpu_util, mem_megabytes, "
                     "gpu_util, gpu_mem_megabytes) VALUES (:bid, :c, :m, :g, :gm)"),
                {"bid": bid, "c": 10.0 + j, "m": 500.5, "g": 90.0 + j, "gm": 12000.25},
            )
        values = {k: v + i for k, v in SEED_VALUES.items()}
        conn.execute(
            text(f"INSERT INTO model_measurements (benchmark_id, measurements) VALUES (:bid, {json_sql})"),
            {"bid": bid, "m": json.dumps(values)},
        )


def _adoption_checks(engine, dashboard_sql: str) -> None:
    before = snapshot(engine)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    after = snapshot(engine)
    # every old row and value is still there (new columns appended, all NULL but 0004's
    # plotted_at: a seed run sits on the time axis at its created_at)
    for table in ("benchmarks", "device_measurements", "model_measurements"):
        assert len(after[table]) == len(before[table]) > 0
        for old, new in zip(before[table], after[table]):
            assert new[: len(old)] == old
            created_at = old[5] if table == "benchmarks" else None
            assert [v for v in new[len(old):] if v is not None] == ([created_at] if created_at else [])

    def dashboard():
        with engine.connect() as conn:
            return conn.execute(text(dashboard_sql), {"branch": "main", "gpu": "NVIDIA A10G"}).all()

    rows = dashboard()
    assert [r.ttft for r in rows] == [pytest.approx(SEED_VALUES["time_to_first_token_secs"] + i)
                                      for i in (1, 0)]

    # new runs go in beside the old ones, and show up in the seed's dashboard
    result = make_result()
    result.branch = "main"
    result.environment = {"gpu_name": "NVIDIA A10G", "gpu_count": 1}
    result.started_at = datetime(2030, 1, 1).timestamp()
    assert ingest(engine, result) == "inserted"
    with session_scope(engine) as s:
        stored = counts(s, result.run_uid)
    assert stored["benchmark_id"] > max(r[0] for r in before["benchmarks"])
    rows = dashboard()
    assert len(rows) == 3 and rows[0].ttft == 2.5
    assert stored["metrics"] == 6
    # old rows untouched by the new ones
    final = snapshot(engine)
    for table in ("benchmarks", "device_measurements", "model_measurements"):
        assert final[table][: len(after[table])] == after[table]


def _unqualify(default) -> str:
    # nextval('"public".x_seq') vs nextval('x_seq'): only the schema differs
    return re.sub(r"""'("?\w+"?\.)""", "'", str(default))


def test_postgres_seed_sql_matches_baseline(pg_url):
    """Revision 0001 creates exactly what db/seed_schema.sql creates."""
    engine = make_engine(pg_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA seed"))
            conn.execute(text("SET LOCAL search_path TO seed"))
            conn.exec_driver_sql(SEED_SQL.read_text())
        insp = sa.inspect(engine)

        def shape(schema):
            return {
                t: [(c["name"], str(c["type"]), c["nullable"], _unqualify(c["default"]))
                    for c in insp.get_columns(t, schema=schema)]
                for t in ("benchmarks", "device_measurements", "model_measurements")
            }

        assert shape("public") == shape("seed")
        assert shape("seed")["model_measurements"][2][1] == "JSONB"
        for t in ("device_measurements", "model_measurements"):
            pub = [(f["constrained_columns"], f["referred_table"]) for f in insp.get_foreign_keys(t)]
            seed = [(f["constrained_columns"], f["referred_table"])
                    for f in insp.get_foreign_keys(t, schema="seed")]
            assert pub == seed
    finally:
        engine.dispose()


def test_postgres_adopts_seed_database(pg_url):
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(SEED_SQL.read_text())
            _insert_seed_rows(conn, "CAST(:m AS jsonb)")
        _adoption_checks(
            engine,
            """SELECT b.commit_id, b.created_at,
                      CAST(mm.measurements ->> 'time_to_first_token_secs' AS double precision) AS ttft
               FROM benchmarks b JOIN model_measurements mm ON b.benchmark_id = mm.benchmark_id
               WHERE b.branch = :branch AND b.gpu_name = :gpu
               ORDER BY b.benchmark_id DESC LIMIT 10""",
        )
        with engine.connect() as conn:
            keys = conn.execute(text(
                "SELECT jsonb_object_keys(measurements) FROM model_measurements "
                "WHERE benchmark_id = 1")).scalars().all()
        assert set(keys) == set(SEED_KEYS)
        assert schema_diffs(engine) == []  # adopted schema == models
    finally:
        engine.dispose()


def test_sqlite_adopts_seed_database(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            for ddl in SQLITE_SEED_DDL:
                conn.execute(text(ddl))
            _insert_seed_rows(conn, ":m")
        _adoption_checks(
            engine,
            """SELECT b.commit_id, b.created_at,
                      CAST(json_extract(mm.measurements, '$.time_to_first_token_secs') AS REAL) AS ttft
               FROM benchmarks b JOIN model_measurements mm ON b.benchmark_id = mm.benchmark_id
               WHERE b.branch = :branch AND b.gpu_name = :gpu
               ORDER BY b.benchmark_id DESC LIMIT 10""",
        )
    finally:
        engine.dispose()


def test_seed_database_with_newer_columns_is_refused(engine):
    """Unversioned seed tables that already have a column commitbench adds: not ours."""
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("ALTER TABLE benchmarks ADD COLUMN run_uid VARCHAR(36)"))
    before = snapshot(engine)
    with pytest.raises(SchemaError, match="already has column"):
        upgrade(engine)
    assert snapshot(engine) == before


def test_0003_backfills_series_keys(engine):
    """Runs stored before series keys existed get the key that a new run of the same
    scenario gets, so a figure's history continues across the upgrade."""
    from benchmark.contracts.config import ScenarioParams
    from benchmark.contracts.result import RunResult, ScenarioResult
    from db.sqltypes import JSONType

    upgrade(engine, "0002")
    env = {"device": "cpu", "cpu_model": "Test CPU", "gpu_name": "cpu", "hostname": "old-host",
           "model": {"model_id": "tiny-llama", "kind": "preset", "synthetic": True}}
    params = ScenarioParams(kind="compiled_decode", dtype="float32", compile_mode="default").to_dict()
    bench = sa.table("benchmarks", sa.column("run_uid"), sa.column("branch"), sa.column("model_id"),
                     sa.column("environment", JSONType), sa.column("status"))
    runs = sa.table("scenario_runs", sa.column("benchmark_id"), sa.column("name"), sa.column("kind"),
                    sa.column("params", JSONType), sa.column("status"))
    mets = sa.table("metrics", sa.column("benchmark_id"), sa.column("scenario_run_id"), sa.column("name"),
                    sa.column("unit"), sa.column("samples", JSONType))
    with engine.begin() as conn:
        bid = conn.execute(bench.insert().values(run_uid="old-run", branch="main", model_id="tiny-llama",
                                                 environment=env, status="succeeded")
                           .returning(sa.literal_column("benchmark_id"))).scalar_one()
        sid = conn.execute(runs.insert().values(benchmark_id=bid, name="compiled_decode[compile_mode=default]",
                                                kind="compiled_decode", params=params, status="succeeded")
                           .returning(sa.literal_column("scenario_run_id"))).scalar_one()
        for name in ("time_to_next_token_secs", "decode_tokens_per_sec", "graphs_compiled"):
            conn.execute(mets.insert().values(benchmark_id=bid, scenario_run_id=sid, name=name, unit="s",
                                              samples=[1.0]))
    assert upgrade(engine) == head_revision()

    with engine.connect() as conn:
        (key,) = conn.execute(text("SELECT series_key FROM scenario_runs")).one()
        metric_rows = dict(conn.execute(text("SELECT name, direction FROM metrics")).all())
        assert {k for (k,) in conn.execute(text("SELECT series_key FROM metrics"))} == {key}
        assert conn.execute(text("SELECT runner_host FROM benchmarks")).scalar_one() == "old-host"
    assert metric_rows == {"time_to_next_token_secs": "lower", "decode_tokens_per_sec": "higher",
                           "graphs_compiled": "info"}
    new = RunResult(run_uid="new-run", branch="main", commit_id="abcd", commit_message="", repository=None,
                    model_id="tiny-llama", synthetic=True, config={}, config_hash="",
                    environment=env | {"model": env["model"] | {"key": "tiny-llama"}, "hostname": "new-host"})
    assert new.series_key(ScenarioResult(name="x", kind="compiled_decode", params=params)) == key


def test_0004_plots_old_runs_and_reads_them_through_the_view(engine):
    """Runs stored before 0004 get a time axis (commit time, else start, else created_at),
    and run_figures gives each figure beside its run's identity."""
    upgrade(engine, "0003")
    bench = sa.table("benchmarks", sa.column("run_uid"), sa.column("branch"), sa.column("commit_time"),
                     sa.column("started_at"), sa.column("created_at"), sa.column("gpu_name"), sa.column("status"))
    t = [datetime(2026, 1, d) for d in (1, 2, 3)]
    with engine.begin() as conn:
        conn.execute(bench.insert(), [
            dict(run_uid="a", branch="main", commit_time=t[0], started_at=t[1], created_at=t[2], status="succeeded"),
            dict(run_uid="b", branch="main", commit_time=None, started_at=t[1], created_at=t[2], status=None),
            dict(run_uid="c", branch="main", commit_time=None, started_at=None, created_at=t[2], status=None)])
        bid = conn.execute(text("SELECT benchmark_id FROM benchmarks WHERE run_uid = 'a'")).scalar_one()
        conn.execute(text("INSERT INTO scenario_runs (benchmark_id, name) VALUES (:b, 'eager')"), {"b": bid})
        sid = conn.execute(text("SELECT scenario_run_id FROM scenario_runs")).scalar_one()
        conn.execute(text("INSERT INTO metrics (benchmark_id, scenario_run_id, scenario, name, median) "
                          "VALUES (:b, :s, 'eager', 'model_load_time', 1.5)"), {"b": bid, "s": sid})
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        plotted = dict(conn.execute(text("SELECT run_uid, plotted_at FROM benchmarks")).all())
        view = conn.execute(text("SELECT run_uid, time, gpu, repository, scenario, figure, median "
                                 "FROM run_figures")).all()
    assert {k: v if isinstance(v, datetime) else datetime.fromisoformat(v) for k, v in plotted.items()} \
        == {"a": t[0], "b": t[1], "c": t[2]}
    assert [tuple(r)[:1] + tuple(r)[2:] for r in view] == [("a", "cpu", "", "eager", "model_load_time", 1.5)]


def test_0004_reader_role_reads_and_cannot_write(pg_url):
    from db.reader import READER_ROLE, ensure_reader

    engine = sa.create_engine(pg_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            state = ensure_reader(conn, "it's a secret")  # a quote: quoted by the server, not by us
            assert state.exists and state.can_login and state.password_set
            grants = {(r.table_name, r.privilege_type) for r in conn.execute(text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = :r AND table_catalog = current_database()"), {"r": READER_ROLE})}
        assert grants == {(t, "SELECT") for t in ("benchmarks", "metrics", "scenario_runs", "device_measurements",
                                                  "model_measurements", "run_figures", "change_points",
                                                  "regression_reports")}
        reader = sa.create_engine(sa.engine.make_url(pg_url).set(username=READER_ROLE, password="it's a secret"))
        try:
            with reader.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM benchmarks")).scalar() == 0
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(text("UPDATE benchmarks SET branch = 'x'"))
        finally:
            reader.dispose()
    finally:
        engine.dispose()


def test_0007_validity_columns_keep_runs_unevaluated_and_downgrade(engine):
    """Runs stored before 0007 keep every row and read as not evaluated (valid NULL), not
    as valid; a run judged after it stores its verdict; downgrading drops only the new columns."""
    from alembic import command

    from db.migrate import alembic_config

    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO benchmarks (run_uid, branch, status) VALUES ('old', 'main', 'succeeded')"))
        bid = conn.execute(text("SELECT benchmark_id FROM benchmarks")).scalar_one()
        conn.execute(text("INSERT INTO device_measurements (benchmark_id, cpu_util, phase) VALUES (:b, 50, 'decode')"),
                     {"b": bid})
    before = snapshot(engine)
    assert upgrade(engine) == head_revision()
    after = snapshot(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT run_uid, valid, invalid_reasons, replay_of FROM benchmarks")).all()
        samples = conn.execute(text("SELECT cpu_util, cpu_other_util, gpu_other_processes "
                                    "FROM device_measurements")).all()
    assert [tuple(r) for r in rows] == [("old", None, None, None)]
    assert [tuple(r) for r in samples] == [(50.0, None, None)]
    assert [r[:len(before["benchmarks"][0])] for r in after["benchmarks"]] == before["benchmarks"]
    judged = make_result()
    judged.valid, judged.invalid_reasons = False, [{"rule": "cpu_load", "detail": "d", "scenario": "eager",
                                                    "phase": "eager_decode"}]
    ingest(engine, judged)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT valid, invalid_reasons FROM benchmarks WHERE run_uid = :u"),
                              {"u": judged.run_uid}).one()
    assert bool(stored[0]) is False
    reasons = stored[1] if isinstance(stored[1], list) else json.loads(stored[1])
    assert reasons[0]["rule"] == "cpu_load"
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("benchmarks")}
    assert "valid" not in columns and "replay_of" not in columns and "plotted_at" in columns
    assert current_revision(engine) == "0006"


def test_0008_masks_passwords_in_stored_commands_and_keeps_everything_else(engine):
    """A run stored before 0008 with `--db postgresql://user:PASSWORD@...` in its command line
    keeps every row and every other environment key; the password becomes ***; a command
    without a secret, and an environment without a command, are left as they were."""
    from db.sqltypes import JSONType

    upgrade(engine, "0007")
    pw = "hunter2-S3cret"
    bench = sa.table("benchmarks", sa.column("run_uid"), sa.column("branch"), sa.column("environment", JSONType))
    envs = {
        "with-password": {"hostname": "h", "torch": "2.5", "command": [
            "commitbench", "run", "--db", f"postgresql://bench:{pw}@db/metrics", f"--db=postgres://u:{pw}@db/m"]},
        "no-password": {"hostname": "h", "command": ["commitbench", "run", "--db", "postgresql://bench@db/metrics"]},
        "no-command": {"hostname": "h"},
        "null": None,
    }
    with engine.begin() as conn:
        conn.execute(bench.insert(), [dict(run_uid=u, branch="main", environment=e) for u, e in envs.items()])
    before = snapshot(engine)
    assert upgrade(engine) == head_revision()
    after = snapshot(engine)
    with engine.connect() as conn:
        stored = {u: e if e is None or isinstance(e, dict) else json.loads(e) for u, e in
                  conn.execute(text("SELECT run_uid, environment FROM benchmarks"))}
    assert stored["with-password"] == envs["with-password"] | {"command": [
        "commitbench", "run", "--db", "postgresql://bench:***@db/metrics", "--db=postgres://u:***@db/m"]}
    assert {u: stored[u] for u in ("no-password", "no-command", "null")} == \
        {u: envs[u] for u in ("no-password", "no-command", "null")}
    assert pw not in repr(after)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}


def test_0009_processes_column_keeps_every_row_and_downgrades_only_when_nothing_needs_it(engine):
    """Figures stored before 0009 keep every row and read as one process (NULL); a figure of
    two processes stores 2 and reads back split by process; downgrading refuses while such
    a row exists (0008 would read its repetitions as one process's), then drops only the column."""
    from alembic import command

    from db.figures_read import of_runs
    from db.migrate import alembic_config

    upgrade(engine, "0008")
    ingest(engine, make_result())
    before = snapshot(engine)
    assert upgrade(engine) == head_revision()
    after = snapshot(engine)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    assert [r[:-1] for r in after["metrics"]] == before["metrics"] and all(r[-1] is None for r in after["metrics"])

    two = make_result("0b6f8a4e-6a51-4f39-9a53-3c1f7f2f0e22")
    eager = two.scenarios[0]
    eager.params["repetitions"] = 2
    eager.metrics = [Metric("eager_time_to_next_token_secs", "s", [1.0, 1.1, 2.0, 2.1], processes=2)]
    ingest(engine, two)
    with session_scope(engine) as s:
        bid = s.execute(text("SELECT benchmark_id FROM benchmarks WHERE run_uid = :u"), {"u": two.run_uid}).scalar()
        (sp,) = [sp for sp in of_runs(s, [bid]) if sp.scenario == "eager"]
        assert sp.figures["eager_time_to_next_token_secs"].processes_reps == [[[1.0], [1.1]], [[2.0], [2.1]]]
    cfg = alembic_config()
    with pytest.raises(RuntimeError, match="1 metrics rows hold figures of several worker processes"):
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008")
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        for table in ("device_measurements", "model_measurements", "benchmarks"):  # metrics cascade
            conn.execute(text(f"DELETE FROM {table} WHERE benchmark_id = :b"), {"b": bid})
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    assert "processes" not in {c["name"] for c in sa.inspect(engine).get_columns("metrics")}
    assert snapshot(engine)["metrics"] == before["metrics"]


def test_0011_backfills_the_detector_and_the_newest_commit_and_loses_nothing(engine):
    """Reports stored before 0011 get the detector of their change point (or, with that row
    gone, the one their first history note names) and the series' newest commit stored when
    they were opened; every other value stays; downgrading drops only the two columns."""
    from alembic import command

    from benchmark.analysis.changepoints import DetectOptions
    from benchmark.verdicts import detect_runs
    from db.migrate import alembic_config
    from verdict_data import history, sha, store_all

    url = engine.url.render_as_string(hide_password=False)
    store_all(url, history(40, step_at=20, step=0.10))
    with session_scope(engine) as session:
        for s in detect_runs.histories(session, None, "main"):
            detect_runs.store_offline(session, s, detect_runs.scan(s, DetectOptions()))
            detect_runs.store_reports(session, s)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")  # 0011 only, whatever precedes it
    with engine.begin() as conn:  # one report's change point is gone: its history still names the detector
        first = conn.execute(text("SELECT MIN(report_id) FROM regression_reports")).scalar()
        conn.execute(text("UPDATE regression_reports SET change_point_id = NULL WHERE report_id = :r"), {"r": first})
    before = snapshot(engine)
    assert len(before["regression_reports"]) == 4
    assert upgrade(engine) == head_revision()
    after = snapshot(engine)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    assert [r[:-2] for r in after["regression_reports"]] == before["regression_reports"]
    assert {r[-2:] for r in after["regression_reports"]} == {("commitbench/1", sha(39))}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")  # 0011 only, whatever precedes it
    assert snapshot(engine)["regression_reports"] == before["regression_reports"]
