"""Read commands never write (#19, items 9 and 10): they open SQLite read-only, so a database
in a directory its reader may not write (a mounted artifact, a CI cache, another user's
files) reads as well as any, and they never migrate a database at an older schema: only
`run`, `ingest` and `db upgrade` do; every other command says "run `commitbench db upgrade`".

The read-only directory is real. Root ignores permissions, and `chattr +i` as root is no
stand-in (SQLite's `mode=ro` alone opens there, and fails on a read-only mount), so as root
the commands run in a mount namespace of their own where the directory is bind-mounted
read-only (EROFS, as a mounted artifact is); as any other user (CI) on files that user made
read-only (chmod). Either way SQLite cannot create the -shm file a WAL database needs there,
which is what failed ("unable to open database file")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from benchmark.flows.store import reading
from db.migrate import current_revision, head_revision
from db.session import make_engine
from helpers import child_env, cli_in_process
from verdict_data import history, sha, store_all

BATCH = Path(__file__).resolve().parent / "cli_batch.py"
OLDER = "0008"  # a schema before head that a database with runs can be taken back to

# Every command that only reads, with arguments that find something in `stored` (--db follows).
READ_COMMANDS = [
    ["history"],
    ["history", "--series-list"],
    ["show", "latest"],
    ["export", "latest", "--format", "csv"],
    ["export", "--scenario", "compiled_decode", "--format", "json"],
    ["compare", "--base", sha(0), "--head", sha(15)],
    ["reports", "list"],
    ["reports", "show", "1"],
    ["reports", "tracking-issue", "--branch", "main"],
    ["status"],
    ["detect", "--dry-run"],
    ["validate", "--branch", "main", "--dry-run"],
    ["db", "current"],
]
# Commands that write to a database at head but must not migrate one.
WRITING_COMMANDS = [
    ["detect"],
    ["validate", "--branch", "main"],
    ["reports", "accept", "1", "--by", "me", "--reason", "trade-off"],
    ["db", "close-stale"],
]
EXIT = {"db close-stale": 2}  # `db` says "bad input" for a schema it cannot use, as it always has; others 3
UPGRADE = "run `commitbench db upgrade`"


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A SQLite file at head with a step in its history: runs, change points, reports."""
    path = tmp_path_factory.mktemp("stored") / "bench.sqlite"
    url = f"sqlite:///{path}"
    store_all(url, history(16, step_at=8, step=0.2))
    r = cli_in_process(["detect", "--db", url], child_env(path.parent / "home", path.parent))
    assert r.returncode == 0 and "regression" in r.stdout, r.stdout + r.stderr
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _private_mounts() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "true"], capture_output=True).returncode == 0


def as_reader(commands: list[list[str]], url: str, tmp: Path, read_only: Path | None = None) -> list[dict]:
    """`commands` with --db URL, in one process; `read_only`: a directory that process may not
    write (see the module's opening)."""
    env = child_env(tmp / "home", tmp / "cache", tmp / "tmp")
    argv = [sys.executable, str(BATCH)]
    if read_only is not None:
        if os.geteuid() == 0 and not _private_mounts():
            pytest.skip("root without a mount namespace of its own: no directory here is read-only to it")
        for p in read_only.iterdir():
            p.chmod(0o444)
        read_only.chmod(0o555)
        if os.geteuid() == 0:
            argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', "sh",
                    str(read_only), *argv]
    try:
        r = subprocess.run(argv, input=json.dumps([[*c, "--db", url] for c in commands]), env=env,
                           capture_output=True, text=True, timeout=300)
    finally:
        if read_only is not None:
            read_only.chmod(0o755)
            for p in read_only.iterdir():
                p.chmod(0o644)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def test_read_commands_read_a_database_they_may_not_write(stored, tmp_path):
    """The drill of #19 item 9: every read command exited 3 "unable to open database file" when
    the SQLite file and its directory were read-only. Now each prints what it prints on a
    writable copy, and leaves the file's bytes and the directory's listing as they were: no
    -wal, -shm or -journal file appears, on the writable copy either."""
    db_dir = tmp_path / "artifact"
    db_dir.mkdir()
    db = db_dir / "bench.sqlite"
    shutil.copy(stored, db)
    url = f"sqlite:///{db}"
    commands = READ_COMMANDS + [["report", "-o", str(tmp_path / "report.html")]]
    before, files = digest(db), listing(db_dir)

    writable = as_reader(commands, url, tmp_path)
    assert (digest(db), listing(db_dir)) == (before, files)
    read_only = as_reader(commands, url, tmp_path, read_only=db_dir)
    assert (digest(db), listing(db_dir)) == (before, files)
    for command, w, r in zip(commands, writable, read_only):
        assert r["returncode"] not in (1, 3) and "unable to open" not in r["stderr"], (command, r["stderr"])
        assert r["returncode"] == w["returncode"], (command, r["stderr"])
        if command != ["status"]:  # its ages count from now
            assert r["stdout"] == w["stdout"] and r["stderr"] == w["stderr"], command
    assert "c000000f0000" in read_only[0]["stdout"]  # history lists the runs


def test_a_write_ahead_log_in_a_read_only_directory_is_read_or_named(stored, tmp_path):
    """Where a writer left a -wal file with writes in it, `immutable=1` would read the database
    without them: its -shm beside it lets SQLite read them (`mode=ro`), and without one the
    command says which file holds them, instead of showing the database as it was before."""
    db_dir = tmp_path / "artifact"
    db_dir.mkdir()
    db = db_dir / "bench.sqlite"
    shutil.copy(stored, db)
    writer = sqlite3.connect(db, isolation_level=None)  # held open: its commit stays in the -wal
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE benchmarks SET branch = 'only-in-the-wal' WHERE benchmark_id = 1")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    for name in listing(db_dir):
        shutil.copy(db_dir / name, snapshot / name)
    writer.close()
    assert {"bench.sqlite-wal", "bench.sqlite-shm"} <= set(listing(snapshot))
    assert (snapshot / "bench.sqlite-wal").stat().st_size > 0

    url = f"sqlite:///{snapshot / 'bench.sqlite'}"
    [with_shm] = as_reader([["history", "--branch", "only-in-the-wal"]], url, tmp_path, read_only=snapshot)
    assert with_shm["returncode"] == 0 and "only-in-the-wal" in with_shm["stdout"], with_shm["stderr"]

    (snapshot / "bench.sqlite-shm").unlink()
    [without] = as_reader([["history"]], url, tmp_path, read_only=snapshot)
    assert without["returncode"] == 3 and without["stdout"] == "", without
    assert "bench.sqlite-wal holds writes that are not yet in bench.sqlite" in without["stderr"]
    assert len(without["stderr"].strip().splitlines()) == 1


def test_a_read_session_cannot_write(stored, tmp_path):
    """SQLite itself refuses a write through a read command's session, and no reader changes
    the journal mode or takes the write lock (BEGIN IMMEDIATE is a write)."""
    db = tmp_path / "bench.sqlite"
    shutil.copy(stored, db)
    url = f"sqlite:///{db}"
    before = digest(db)
    with reading(url) as session:
        assert session.execute(text("SELECT count(*) FROM benchmarks")).scalar() == 16
        with pytest.raises(OperationalError, match="attempt to write a readonly database"):
            session.execute(text("DELETE FROM benchmarks"))
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA query_only").scalar() == 1
            with pytest.raises(OperationalError, match="readonly database"):
                conn.exec_driver_sql("CREATE TABLE t (a)")
    finally:
        engine.dispose()
    assert digest(db) == before and listing(tmp_path) == ["bench.sqlite"]


# --- item 10: an older schema is never migrated by a read command ------------------------


def _older(stored: Path, tmp_path: Path) -> Path:
    """A copy of `stored` taken back to schema OLDER, its runs kept."""
    from alembic import command

    from db.migrate import alembic_config

    db = tmp_path / "older.sqlite"
    shutil.copy(stored, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, OLDER)
        assert current_revision(engine) == OLDER
    finally:
        engine.dispose()
    return db


def _seed(tmp_path: Path) -> Path:
    """A database as the seed's script made them (no schema version at all), with its rows."""
    from test_db_migrations import SQLITE_SEED_DDL, _insert_seed_rows

    db = tmp_path / "seed.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")  # not ours: the seed knew no WAL
    try:
        with engine.begin() as conn:
            for ddl in SQLITE_SEED_DDL:
                conn.execute(text(ddl))
            _insert_seed_rows(conn, ":m")
    finally:
        engine.dispose()
    return db


@pytest.mark.parametrize("make", [_older, _seed], ids=["older-revision", "seed"])
def test_no_command_but_run_ingest_and_db_upgrade_migrates(stored, tmp_path, make):
    """`history` on an older SQLite file migrated it silently. Now every read command, and every
    command that writes to a database at head without migrating it, leaves the revision and
    the file's bytes as they were and says, in one line, to run `commitbench db upgrade`;
    `db current` says where the schema is. `db upgrade` then migrates it."""
    db = make(stored, tmp_path) if make is _older else make(tmp_path)
    url = f"sqlite:///{db}"
    revision, before = (OLDER if make is _older else None), digest(db)
    env = child_env(tmp_path / "home", tmp_path / "cache")
    for command in READ_COMMANDS + WRITING_COMMANDS + [["report", "-o", str(tmp_path / "r.html")]]:
        r = cli_in_process([*command, "--db", url], env)
        if command == ["db", "current"]:
            assert r.returncode == 0 and f"schema at {revision or 'nothing'} (head is {head_revision()})" \
                in r.stdout, r.stdout + r.stderr
        else:
            assert r.returncode == EXIT.get(" ".join(command), 3) and r.stdout == "", (command, r.stdout, r.stderr)
            assert r.stderr.strip().endswith(UPGRADE) and len(r.stderr.strip().splitlines()) == 1, (command, r.stderr)
        assert digest(db) == before, command
        assert sorted(p.name for p in tmp_path.glob(f"{db.name}*")) == [db.name], command
    engine = make_engine(url)
    try:
        assert current_revision(engine) == revision
    finally:
        engine.dispose()
    assert not (tmp_path / "r.html").exists()
    r = cli_in_process(["db", "upgrade", "--db", url], env)
    assert r.returncode == 0 and f"schema at {head_revision()} (head)" in r.stdout, r.stdout + r.stderr
    assert cli_in_process(["history", "--db", url], env).returncode == 0


def test_replay_reads_no_older_schema_either(stored, tmp_path, cb):
    """`replay` reads the run to replay first: on an older schema it says so, as the others do."""
    db = _older(stored, tmp_path)
    before = digest(db)
    r = cli_in_process(["replay", "#1", "--db", f"sqlite:///{db}", "--dry-run"], cb.env)
    assert r.returncode == 3 and r.stderr.strip().endswith(UPGRADE), r.stderr
    assert digest(db) == before


def test_read_commands_on_a_server_run_in_read_only_transactions(stored, pg_url, tmp_path):
    """On PostgreSQL a read command's connection makes every transaction READ ONLY, so the
    server itself refuses a write a read path might attempt; every read command still works
    there (detect --dry-run's advisory lock included) and exits as it does on SQLite."""
    store_all(pg_url, history(16, step_at=8, step=0.2))
    assert cli_in_process(["detect", "--db", pg_url], child_env(tmp_path / "home", tmp_path)).returncode == 0
    on_server = as_reader(READ_COMMANDS, pg_url, tmp_path)
    on_file = as_reader(READ_COMMANDS, f"sqlite:///{stored}", tmp_path)
    for command, r, f in zip(READ_COMMANDS, on_server, on_file):
        assert r["returncode"] == f["returncode"] and "read-only" not in r["stderr"], (command, r["stderr"])
    assert "c000000f0000" in on_server[0]["stdout"]  # history lists the runs

    engine = make_engine(pg_url, read_only=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW transaction_read_only")).scalar() == "on"
            with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
                conn.execute(text("UPDATE benchmarks SET branch = 'x'"))
    finally:
        engine.dispose()
    writer = make_engine(pg_url)
    try:
        with writer.connect() as conn:
            assert conn.execute(text("SHOW transaction_read_only")).scalar() == "off"
    finally:
        writer.dispose()
