"""The dashboards at scale: a benchmark script, not a test.

    python -m yardsticks.bench_scale [--pg-url URL] [--runs 10000] [--samples-per-run 1000]
                                     [--repeat 20] [--out FILE.md] [--keep]

Without --pg-url it starts a throwaway PostgreSQL (tests/pg_server.PgServer); with one,
it creates (and drops) databases there. Steps:

1. The runner's sample writer, side by side: the same rows stored through Store.ingest
   with the executemany path (Store(copy_samples=False)) and with COPY (the default), in a
   scratch database; and a check that the bulk path below writes exactly the rows the store does.
2. A database at head (db.migrate.upgrade, so with the migrations' indexes) filled with
   --runs runs of --samples-per-run device samples, 3 scenarios and ~30 figures each, over
   a year of commit times, several repositories, branches, GPUs and models. Most runs go
   in by COPY; an evenly spread sample (--store-runs) through Store.ingest, the runner's
   path, timed. Beside it the seed's schema (db/seed_schema.sql: primary keys only) with
   the same runs in its three tables.
3. Every panel, variable and annotation query of dashboards/json/*.json, rendered as
   Grafana would (tests/grafana_sql.render), timed over a 30-day and a 1-year window
   with single values, with branch = All, and with the dashboards' defaults (branch and
   scenario All); the seed dashboard's typical queries on the seed database; EXPLAIN
   (ANALYZE, BUFFERS) of the slowest. A markdown report goes to stdout and --out.

Timings are client-side: execute plus fetching every row (what Grafana waits for).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import queue
import random
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import db.store as store_module
from benchmark.contracts import figures
from benchmark.contracts.inputs import SEED_MESSAGE_CHARS
from benchmark.contracts.result import (CANCELLED, FAILED, SUCCEEDED, DeviceSample, Metric, Phase, RunResult,
                                        ScenarioResult)
from db.migrate import upgrade
from db.reader import READER_ROLE, ensure_reader
from db.store import Store, clean, utc
from db.url import normalize_url

REPO = Path(__file__).resolve().parents[1]
# tests/ has no __init__.py (as in its conftest): its PostgreSQL server and Grafana's query
# expansion are borrowed from there, by name
sys.path.insert(0, str(REPO / "tests"))
from grafana_sql import ALL_VALUE, TimeRange, Variable, render  # noqa: E402
DASHBOARDS = REPO / "dashboards" / "json"
SEED_SCHEMA = REPO / "db" / "seed_schema.sql"
TARGET_MS = 100.0
SLOW_WARMUP_S = 0.5  # a query slower than this once is repeated only SLOW_REPEAT times
SLOW_REPEAT = 3
STATEMENT_TIMEOUT_MS = 300_000
BATCH_RUNS = 100  # runs per COPY batch (one transaction per batch and database)

# --- what the generated runs look like ------------------------------------------------
REPOSITORIES = [("https://github.com/huggingface/transformers", 0.85), ("https://github.com/acme/transformers", 0.15)]
GPUS = [("NVIDIA H100 80GB HBM3", 0.5), ("NVIDIA A100-SXM4-80GB", 0.3), ("NVIDIA L4", 0.2)]
MODELS = [("meta-llama/Llama-2-7b-hf", 0.7), ("Qwen/Qwen2.5-0.5B-Instruct", 0.3)]
MAIN_SHARE = 0.6  # the rest: feature branches, each alive for about two weeks
FEATURE_BRANCHES = 80
SCENARIOS = [  # name, kind, params, share of the run's samples, seconds, phases, figures (name, repetitions)
    ("eager", "eager", {"batch_size": 1, "new_tokens": 20}, 0.25, 60.0, ("load", "forward", "generate"), [
        ("first_eager_forward_pass_time_secs", 1), ("second_eager_forward_pass_time_secs", 1),
        ("eager_forward_time_secs", 10), ("first_eager_generate_time_secs", 1),
        ("second_eager_generate_time_secs", 1), ("eager_generate_time_secs", 10),
        ("eager_time_to_first_token_secs", 10), ("eager_time_to_next_token_secs", 190),
        ("eager_decode_tokens_per_sec", 10), ("decode_matches_generate", 10)]),
    ("compiled_decode", "compiled_decode", {"compile_mode": "reduce-overhead"}, 0.5, 200.0,
     ("load", "compile", "decode"), [
        ("compile_prefill_time_secs", 1), ("compile_decode_step_time_secs", 1), ("time_to_first_token_secs", 10),
        ("time_to_second_token_secs", 10), ("time_to_third_token_secs", 10), ("time_to_next_token_mean_secs", 10),
        ("time_to_next_token_secs", 190), ("decode_tokens_per_sec", 10), ("tokens_match_eager", 10),
        ("recompiles_during_measurement", 1), ("graph_breaks", 1), ("energy_per_token_joules", 10),
        ("decode_roofline_fraction", 10)]),
    ("compiled_generate[compile_mode=reduce-overhead]", "compiled_generate", {"compile_mode": "reduce-overhead"},
     0.25, 100.0, ("load", "compile", "generate"), [
        ("first_compile_generate_time_secs", 1), ("second_compile_generate_time_secs", 1),
        ("third_compile_generate_time_secs", 1), ("fourth_compile_generate_time_secs", 1),
        ("compiled_generate_time_secs", 10), ("compiled_generate_tokens_per_sec", 10),
        ("peak_memory_allocated_bytes", 1)]),
]
BASE_VALUE = {"s": 0.05, "tokens/s": 60.0, "bytes": 1.4e10, "bool": 1.0, "count": 0.0, "ratio": 0.7, "J": 4.0}
GPU_SPEED = {"NVIDIA H100 80GB HBM3": 1.0, "NVIDIA A100-SXM4-80GB": 1.6, "NVIDIA L4": 4.0}


def pick(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    x = rng.random()
    for value, share in choices:
        x -= share
        if x < 0:
            return value
    return choices[-1][0]


def make_run(i: int, n_runs: int, samples_per_run: int, now: float, rng: random.Random) -> RunResult:
    """Run i of n, in commit order over the year before `now`."""
    span = 365 * 86400.0 - 4 * 3600.0
    commit_time = now - 365 * 86400.0 + span * (i + rng.random()) / n_runs
    started = commit_time + rng.uniform(300, 3600)
    repository, gpu, model = pick(rng, REPOSITORIES), pick(rng, GPUS), pick(rng, MODELS)
    if rng.random() < MAIN_SHARE:
        branch = "main"
    else:
        k = min(FEATURE_BRANCHES - 1, int(i * FEATURE_BRANCHES / n_runs) + rng.choice((0, 0, 1)))
        branch = f"feature/pr-{31000 + k}"
    x = rng.random()
    status = SUCCEEDED if x < 0.94 else FAILED if x < 0.98 else CANCELLED
    speed = GPU_SPEED[gpu] * (1.0 if model.startswith("meta") else 0.3) * (1 + 0.1 * math.sin(i / 500))
    env = {"gpu_name": gpu, "gpu_count": 1, "device": "cuda:0", "driver": "560.35.03", "cuda": "12.4",
           "torch": "2.5.1", "transformers": "4.46.0", "python": "3.11.7", "cpu_model": "AMD EPYC 9654",
           "hostname": f"gpu-runner-{rng.randrange(4)}", "runner_pid": rng.randrange(1000, 60000)}
    config = {"warmup": 1, "repetitions": 10, "new_tokens": 20, "prompt": "Why dogs are so cute?",
              "scenarios": [s[0] for s in SCENARIOS]}
    scenarios, t = [], started
    for n, (name, kind, params, share, seconds, phase_names, figs) in enumerate(SCENARIOS):
        failed = status == FAILED and n == 2
        phases = [Phase(p, t + seconds * k / 3, t + seconds * (k + 1) / 3) for k, p in enumerate(phase_names)]
        count = round(samples_per_run * share) if n < 2 else samples_per_run - sum(
            round(samples_per_run * s[3]) for s in SCENARIOS[:2])
        step = seconds / max(1, count)
        samples = [DeviceSample(
            time=t + k * step, scenario=name, phase=phase_names[min(2, int(3 * k / max(1, count)))],
            cpu_util=100.0 + rng.random() * 5, mem_megabytes=3000.0 + k * 0.5,
            gpu_util=min(100.0, 40 + rng.random() * 60), gpu_mem_megabytes=15000.0 + rng.random() * 100, sm_clock_mhz=1980.0, power_watts=300 + rng.random() * 400,
            temperature_c=55 + rng.random() * 10, throttle_reasons=0 if rng.random() < 0.9 else 4)
            for k in range(count)]
        metrics = []
        if not failed:
            for fig, reps in figs:
                unit = figures.figure(fig).unit
                base = BASE_VALUE[unit] * (speed if unit == "s" else 1 / speed if unit == "tokens/s" else 1.0)
                if fig.startswith(("first_", "compile_")):
                    base *= 20
                values = [base if unit in ("bool", "count") else base * (1 + 0.05 * rng.random())
                          for _ in range(reps)]
                metrics.append(Metric.of(fig, values))
        scenarios.append(ScenarioResult(
            name=name, kind=kind, params={**params, "dtype": "float16", "attn_implementation": "sdpa"},
            status=FAILED if failed else SUCCEEDED, error="subprocess died of SIGSEGV" if failed else None,
            exit_code=-11 if failed else 0, signal="SIGSEGV" if failed else None,
            stderr_tail="Fatal Python error: Segmentation fault" if failed else None,
            started_at=t, finished_at=t + seconds, phases=phases, metrics=metrics,
            info={"generated_tokens": 20, "sampler_hz": round(count / seconds, 1)}, samples=samples))
        t += seconds + 5
    result = RunResult(
        run_uid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), branch=branch,
        commit_id=f"{rng.getrandbits(160):040x}", commit_message=f"Commit {i}: improve decoding speed of {model}",
        repository=repository, model_id=model, synthetic=False, config=config,
        config_hash=hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest(), environment=env,
        status=status, error="scenario compiled_generate failed" if status == FAILED else None,
        started_at=started, finished_at=t, commit_time=commit_time,
        commit_parents=[f"{rng.getrandbits(160):040x}"], weight_bytes=13_476_839_424,
        memory_bandwidth_bytes_per_s=2.9e12 / GPU_SPEED[gpu], scenarios=scenarios)
    for s in result.scenarios:
        s.series_key = result.series_key(s)
    return result


# --- the bulk path: the store's rows, by COPY ---------------------------------------------
def csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, datetime):
        return v.isoformat(" ")
    if not isinstance(v, str):
        v = json.dumps(v)
    return '"' + v.replace('"', '""') + '"'


def csv_row(values: Sequence[Any]) -> str:
    return ",".join(csv_value(v) for v in values) + "\n"


BENCHMARK_COLS = ("benchmark_id", "run_uid", "branch", "commit_id", "commit_message", "commit_message_full",
                  "gpu_name", "gpu_count", "status", "error", "repository", "model_id", "synthetic", "config",
                  "config_hash", "environment", "commit_parents", "runner_host", "runner_pid", "weight_bytes",
                  "memory_bandwidth_bytes_per_s", "started_at", "finished_at", "commit_time", "heartbeat_at",
                  "plotted_at", "created_at")
MODEL_COLS = ("benchmark_id", "measurements", "time")
SCENARIO_COLS = ("scenario_run_id", "benchmark_id", "series_key", "name", "kind", "params", "status", "error",
                 "exit_code", "signal", "stderr_tail", "phases", "info", "flags", "started_at", "finished_at")
METRIC_COLS = ("benchmark_id", "scenario_run_id", "scenario", "series_key", "name", "unit", "direction", "n",
               "mean", "median", "p90", "p99", "min", "max", "stdev", "samples")
SEED_DEVICE_COLS = ("benchmark_id", "cpu_util", "mem_megabytes", "gpu_util", "gpu_mem_megabytes", "time")


@dataclass
class Tables:
    """CSV text per table, for one batch of runs."""

    parts: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, lines: Sequence[str] | Iterator[str]) -> None:
        lines = list(lines)
        self.parts.setdefault(table, []).extend(lines)
        self.rows[table] = self.rows.get(table, 0) + len(lines)


def store_rows(result: RunResult, benchmark_id: int, first_scenario_run_id: int, out: Tables) -> None:
    """What Store.ingest writes for `result` (db.store._save_run / _save_scenario), as CSV;
    check_bulk_matches_store holds the two to each other."""
    env = result.environment or {}
    started, finished = utc(result.started_at), utc(result.finished_at)
    out.add("benchmarks", [csv_row(clean([
        benchmark_id, result.run_uid, result.branch, result.commit_id,
        (result.commit_message or "")[:SEED_MESSAGE_CHARS], result.commit_message, env.get("gpu_name"),
        env.get("gpu_count"), result.status, result.error, result.repository, result.model_id, result.synthetic,
        result.config, result.config_hash, env, list(result.commit_parents), env.get("hostname"),
        env.get("runner_pid"), result.weight_bytes, result.memory_bandwidth_bytes_per_s]) + [
        started, finished, utc(result.commit_time), finished,
        utc(result.commit_time if result.commit_time is not None else result.started_at), started])])
    measurements = {k: v for k, v in result.seed_measurements().items() if v is not None}
    out.add("model_measurements", [csv_row([benchmark_id, measurements, finished or started])])
    for n, s in enumerate(result.scenarios):
        srid = first_scenario_run_id + n
        name = clean(s.name)
        key = result.series_key(s)
        out.add("scenario_runs", [csv_row([srid, benchmark_id, key] + clean([
            s.name, s.kind, s.params, s.status, s.error, s.exit_code, s.signal, s.stderr_tail,
            [{"name": p.name, "start": p.start, "end": p.end} for p in s.phases], s.info, s.flags]) + [
            utc(s.started_at), utc(s.finished_at)])])
        out.add("metrics", [csv_row([
            benchmark_id, srid, name, key, m.name, m.unit, figures.direction(m.name),
            st.n if st else len(m.samples), st.mean if st else None, st.median if st else None,
            st.p90 if st else None, st.p99 if st else None, st.min if st else None, st.max if st else None,
            st.stdev if st else None, list(m.samples)]) for m in s.metrics for st in [m.stats]])
        out.add("device_measurements", store_module._csv_lines(benchmark_id, name, s.samples, ""))


def seed_rows(result: RunResult, benchmark_id: int, rng: random.Random, out: Tables) -> None:
    """The seed's three tables for the same run; all 13 jsonb keys, as the seed wrote them."""
    started = utc(result.started_at)
    out.add("benchmarks", [csv_row([benchmark_id, result.branch, result.commit_id,
                                    result.commit_message[:SEED_MESSAGE_CHARS], result.gpu_name, started])])
    seed = {k: (v if v is not None else 1.0 + rng.random()) for k, v in result.seed_measurements().items()}
    out.add("model_measurements", [csv_row([benchmark_id, seed, utc(result.finished_at)])])
    seconds: dict[float, str] = {}
    num = store_module._csv_float
    out.add("device_measurements", [
        f"{benchmark_id},{num(d.cpu_util)},{num(d.mem_megabytes)},{num(d.gpu_util)},{num(d.gpu_mem_megabytes)},"
        f"{store_module._csv_time(d.time, seconds)}\n" for s in result.scenarios for d in s.samples])


OURS_ORDER = [("benchmarks", BENCHMARK_COLS), ("model_measurements", MODEL_COLS),
              ("scenario_runs", SCENARIO_COLS), ("metrics", METRIC_COLS),
              ("device_measurements", store_module.SAMPLE_COLUMNS)]
SEED_ORDER = [("benchmarks", ("benchmark_id", "branch", "commit_id", "commit_message", "gpu_name", "created_at")),
              ("model_measurements", MODEL_COLS), ("device_measurements", SEED_DEVICE_COLS)]


def copy_tables(conn, tables: Tables, order) -> None:
    cur = conn.cursor()
    for table, cols in order:
        if tables.parts.get(table):
            cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)",
                            io.StringIO("".join(tables.parts[table])))
    cur.close()
    conn.commit()


# --- helpers ---------------------------------------------------------------------------
def say(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def dsn(url: str) -> str:
    """A SQLAlchemy URL -> libpq keywords for psycopg2."""
    u = make_url(normalize_url(url))
    parts = {"host": u.host, "port": u.port, "user": u.username, "password": u.password, "dbname": u.database}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "-"
    mark = " ⚠" if v > TARGET_MS else ""
    return (f"{v:.1f}" if v < 100 else f"{v:,.0f}") + mark


class Server:
    """Where the databases live: a throwaway cluster, or --pg-url's server."""

    def __init__(self, pg_url: str | None) -> None:
        self.own = None
        if pg_url is None:
            from pg_server import PgServer

            self.own = PgServer().start()
            self.admin_url = self.own.url("postgres")
        else:
            self.admin_url = normalize_url(pg_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create(self, name: str) -> str:
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def settings(self) -> dict[str, str]:
        with self.admin.connect() as c:
            out = {"version": c.execute(text("SHOW server_version")).scalar()}
            for s in ("shared_buffers", "work_mem", "effective_cache_size", "max_wal_size", "fsync",
                      "synchronous_commit", "jit"):
                out[s] = c.execute(text(f"SHOW {s}")).scalar()
        return out

    def stop(self) -> None:
        self.admin.dispose()
        if self.own is not None:
            self.own.stop()


# --- 1. the writer, side by side --------------------------------------------------------
def writer_side_by_side(url: str, rows: int, reps: int) -> list[dict[str, Any]]:
    stores = {"executemany": Store(url, copy_samples=False), "COPY": Store(url)}
    for store in stores.values():
        store.open(auto_upgrade=True)
    rng = random.Random(7)
    t0 = 1_767_225_600.0
    samples = [DeviceSample(time=t0 + k * 0.01, scenario="compiled_decode", phase=("compile", "decode")[k % 2],
                            cpu_util=100 + rng.random(), mem_megabytes=3000.0 + k, gpu_util=rng.random() * 100,
                            gpu_mem_megabytes=15000 + rng.random(), sm_clock_mhz=1980.0, power_watts=650.5,
                            temperature_c=61.0, throttle_reasons=4) for k in range(rows)]
    out = []
    try:
        for rep in range(reps):
            for path in ("executemany", "COPY") if rep % 2 == 0 else ("COPY", "executemany"):
                result = make_run(0, 1, 0, t0, random.Random(0))  # the same run each time, but its uid
                result.run_uid = str(uuid.uuid4())
                result.scenarios[1].samples = samples
                start = time.perf_counter()
                stores[path].ingest(result)
                seconds = time.perf_counter() - start
                out.append({"path": path, "rep": rep, "rows": rows, "seconds": seconds, "rate": rows / seconds})
                say(f"  writer {path:11s} rep {rep}: {rows:,} samples in {seconds:.2f} s = {rows / seconds:,.0f}/s")
    finally:
        for store in stores.values():
            store.close()
    return out


def check_bulk_matches_store(url: str) -> None:
    """The bulk path writes what Store.ingest writes (ids, run_uid, heartbeat aside)."""
    store = Store(url)
    store.open(auto_upgrade=True)
    try:
        a = make_run(5, 10, 300, 1_767_225_600.0, random.Random(11))
        b = make_run(5, 10, 300, 1_767_225_600.0, random.Random(11))
        b.run_uid = str(uuid.uuid4())
        store.ingest(a)
        raw = psycopg2.connect(dsn(url))
        cur = raw.cursor()
        cur.execute("SELECT (SELECT max(benchmark_id) FROM benchmarks), "
                    "(SELECT max(scenario_run_id) FROM scenario_runs)")
        bid, srid = (x + 1000 for x in cur.fetchone())
        tables = Tables()
        store_rows(b, bid, srid, tables)
        copy_tables(raw, tables, OURS_ORDER)
        skip = {"benchmark_id", "scenario_run_id", "metric_id", "measurement_id", "run_uid", "heartbeat_at"}
        for table, order in (("benchmarks", "1"), ("model_measurements", "1"), ("scenario_runs", "name"),
                             ("metrics", "scenario_run_id, name"), ("device_measurements", "measurement_id")):
            got = []
            for uid in (a.run_uid, b.run_uid):
                cur.execute(f"SELECT t.* FROM {table} t JOIN benchmarks r USING (benchmark_id) "
                            f"WHERE r.run_uid = %s ORDER BY {order}", (uid,))
                names = [d[0] for d in cur.description]
                got.append([{k: v for k, v in zip(names, row) if k not in skip} for row in cur.fetchall()])
            if got[0] != got[1]:
                diff = next((x, y) for x, y in zip(*got) if x != y) if len(got[0]) == len(got[1]) else \
                    (len(got[0]), len(got[1]))
                raise SystemExit(f"bulk path differs from Store.ingest in {table}: {diff}")
        raw.close()
        say("  bulk path writes what Store.ingest writes: ok")
    finally:
        store.close()


# --- 2. generation -------------------------------------------------------------------------
@dataclass
class Generated:
    runs: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seed_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    store_runs: list[RunResult] = field(default_factory=list)
    store_seconds: float = 0.0
    store_samples: int = 0
    store_per_run: list[float] = field(default_factory=list)
    vacuum_seconds: float = 0.0


def generate(ours_url: str, seed_url: str, n_runs: int, samples_per_run: int, n_store: int, now: float,
             seed: int) -> Generated:
    gen = Generated()
    sampled = {round(k * n_runs / n_store + n_runs / n_store / 2) for k in range(n_store)} if n_store else set()
    batches: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            rng = random.Random(seed)
            extra = random.Random(seed + 1)
            for start in range(0, n_runs, BATCH_RUNS):
                ours, theirs, keep = Tables(), Tables(), []
                for i in range(start, min(n_runs, start + BATCH_RUNS)):
                    result = make_run(i, n_runs, samples_per_run, now, rng)
                    seed_rows(result, i + 1, extra, theirs)
                    if i in sampled:
                        keep.append(result)
                    else:
                        store_rows(result, i + 1, 3 * i + 1, ours)
                batches.put((ours, theirs, keep))
        except BaseException as e:  # noqa: BLE001 - reported by the consumer
            failure.append(e)
        finally:
            batches.put(None)

    ours_conn, seed_conn = psycopg2.connect(dsn(ours_url)), psycopg2.connect(dsn(seed_url))
    producer = threading.Thread(target=produce, daemon=True)
    start = time.perf_counter()
    producer.start()
    done = 0
    while (item := batches.get()) is not None:
        ours, theirs, keep = item
        copy_tables(ours_conn, ours, OURS_ORDER)
        copy_tables(seed_conn, theirs, SEED_ORDER)
        gen.store_runs.extend(keep)
        for t, n in ours.rows.items():
            gen.rows[t] = gen.rows.get(t, 0) + n
        for t, n in theirs.rows.items():
            gen.seed_rows[t] = gen.seed_rows.get(t, 0) + n
        done += theirs.rows["benchmarks"]
        elapsed = time.perf_counter() - start
        if done % (BATCH_RUNS * 10) == 0 or done == n_runs:
            rows = gen.rows.get("device_measurements", 0) + gen.seed_rows.get("device_measurements", 0)
            say(f"  {done:,}/{n_runs:,} runs, {rows:,} device rows in both databases, {elapsed:.0f} s "
                f"({rows / elapsed:,.0f} rows/s), ETA {elapsed / done * (n_runs - done):.0f} s")
    producer.join()
    if failure:
        raise failure[0]
    gen.runs = done
    gen.seconds = time.perf_counter() - start
    for conn in (ours_conn, seed_conn):
        cur = conn.cursor()
        for table, col in (("benchmarks", "benchmark_id"), ("scenario_runs", "scenario_run_id")):
            cur.execute("SELECT to_regclass(%s)", (table,))
            if cur.fetchone()[0] is not None:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), "
                            f"(SELECT COALESCE(max({col}), 0) + 1 FROM {table}), false)")
        conn.commit()
    ours_conn.close()
    seed_conn.close()

    # the runner's path, on the full database
    say(f"  storing {len(gen.store_runs)} runs through Store.ingest (the runner's path)")
    store = Store(ours_url)
    store.open(auto_upgrade=False)
    try:  # the public call, timed whole (the sample write alone is step 1's comparison)
        for result in gen.store_runs:
            t = time.perf_counter()
            assert store.ingest(result) == "inserted"
            seconds = time.perf_counter() - t
            gen.store_per_run.append(seconds)
            gen.store_seconds += seconds
            gen.store_samples += sum(len(s.samples) for s in result.scenarios)
    finally:
        store.close()

    start = time.perf_counter()
    for url in (ours_url, seed_url):
        conn = psycopg2.connect(dsn(url))
        conn.autocommit = True
        conn.cursor().execute("VACUUM (ANALYZE)")
        conn.close()
    gen.vacuum_seconds = time.perf_counter() - start
    return gen


# --- 3. the queries -------------------------------------------------------------------------
@dataclass
class Query:
    dashboard: str
    kind: str  # panel / variable / annotation
    title: str
    sql: str


def dashboard_queries(path: Path) -> tuple[dict[str, Any], list[Query]]:
    d = json.loads(path.read_text())
    name = path.stem
    out = []
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("rawSql") or q.get("query") if isinstance(q, dict) else q
            if q:
                out.append(Query(name, "variable", f"${v['name']}", q))

    def walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in panels:
            yield p
            yield from walk(p.get("panels") or [])

    for p in walk(d.get("panels") or []):
        for t in p.get("targets") or []:
            if t.get("rawSql"):
                out.append(Query(name, "panel", p.get("title") or "?", t["rawSql"]))
    for a in d.get("annotations", {}).get("list", []):
        sql = (a.get("target") or {}).get("rawSql")
        if sql:
            out.append(Query(name, "annotation", a.get("name") or "?", sql))
    return d, out


PREFERRED = {"repository": REPOSITORIES[0][0], "branch": "main", "gpu": GPUS[0][0], "gpu_name": GPUS[0][0],
             "model": MODELS[0][0], "scenario": "compiled_decode"}


def variable_values(cur, d: dict[str, Any], case: str, tr, interval_s: float) -> list:
    """The dashboard's variables as Grafana would hold them: each query variable's options
    from its query (with the variables before it), the current value a realistic one.
    case: "single", "branch=All", or "defaults" (branch and scenario All)."""
    out: list[Variable] = []
    for v in d.get("templating", {}).get("list", []):
        name, kind = v["name"], v.get("type")
        multi, include_all = bool(v.get("multi")), bool(v.get("includeAll"))
        current = (v.get("current") or {}).get("value")
        if kind == "query":
            q = v.get("query")
            q = q.get("rawSql") or q.get("query") if isinstance(q, dict) else q
            cur.execute(render(q, out, tr, interval_s))
            cols = [c[0] for c in cur.description]
            at = cols.index("__value") if "__value" in cols else 0
            options = [str(r[at]) for r in cur.fetchall() if r[at] is not None]
        elif kind == "custom":
            options = [o.strip() for o in (v.get("query") or "").split(",") if o.strip()]
        else:  # textbox, constant
            options = [current if isinstance(current, str) and current else (v.get("query") or "")]
        all_case = include_all and (name == "branch" and case != "single" or name == "scenario" and case == "defaults")
        if all_case:
            value: Any = [ALL_VALUE]
        elif name in PREFERRED and PREFERRED[name] in options:
            value = [PREFERRED[name]]
        elif name == "base" and options:
            value = [options[min(20, len(options) - 1)]]
        elif isinstance(current, str) and current in options:
            value = [current]
        elif isinstance(current, list) and current and all(c in options for c in current):
            value = list(current)
        else:
            value = options[:1] or [""]
        out.append(Variable(name, value, options, multi=multi, include_all=include_all))
    return out


@dataclass
class Timing:
    p50: float
    p95: float
    n: int
    rows: int


def time_query(cur, sql: str, repeat: int) -> Timing:
    def once() -> tuple[float, int]:
        t = time.perf_counter()
        cur.execute(sql)
        n = 0
        while chunk := cur.fetchmany(50_000):  # every row converted, as Grafana reads them; bounded memory
            n += len(chunk)
        return (time.perf_counter() - t) * 1000, n

    warm, rows = once()
    n = repeat if warm < SLOW_WARMUP_S * 1000 else min(repeat, SLOW_REPEAT)
    ms = [once()[0] for _ in range(n)]
    return Timing(statistics.median(ms), pct(ms, 95), n, rows)


@dataclass
class Window:
    label: str
    days: int


WINDOWS = [Window("30 days", 30), Window("1 year", 365)]
CASES = ["single", "branch=All", "defaults"]


def time_range(end: datetime, days: int):
    return TimeRange(end - timedelta(days=days), end)


def interval_for(days: int) -> float:
    """Grafana's $__interval for the range over ~1000 px, rounded as its roundInterval does
    (no committed query uses it; it only has to be valid)."""
    return 1800.0 if days <= 30 else 43200.0


def run_dashboards(url: str, end: datetime, repeat: int) -> tuple[list[dict[str, Any]], list[str]]:
    paths = sorted(DASHBOARDS.glob("*.json"))
    if not paths:
        raise SystemExit(f"no dashboards in {DASHBOARDS}")
    conn = psycopg2.connect(dsn(url))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    results, problems = [], []
    for path in paths:
        d, queries = dashboard_queries(path)
        for w in WINDOWS:
            tr = time_range(end, w.days)
            for case in CASES:
                variables = variable_values(cur, d, case, tr, interval_for(w.days))
                for q in queries:
                    sql = render(q.sql, variables, tr, interval_for(w.days))
                    try:
                        t = time_query(cur, sql, repeat)
                    except psycopg2.Error as e:
                        problems.append(f"{q.dashboard} {q.kind} {q.title!r} ({w.label}, {case}): "
                                        f"{str(e).strip().splitlines()[0]}")
                        continue
                    results.append({"dashboard": q.dashboard, "kind": q.kind, "title": q.title,
                                    "window": w.label, "case": case, "timing": t, "sql": sql})
                say(f"  {path.stem}: {w.label}, {case}: {len(queries)} queries")
    conn.close()
    return results, problems


SEED_KEYS = figures.SEED_KEYS


def seed_queries() -> list[Query]:
    """The seed dashboard's queries (transformers v4.46 benchmark/grafana_dashboard.json),
    with its quoting ('${branch}') and variables branch, gpu_name, last_n_commits."""
    join = ("FROM benchmarks as b JOIN model_measurements AS m ON b.benchmark_id = m.benchmark_id "
            "WHERE b.branch = '${branch}' AND gpu_name = '${gpu_name}' ORDER BY b.benchmark_id DESC "
            "LIMIT ${last_n_commits};")
    out = [
        Query("seed", "variable", "$branch", "SELECT DISTINCT branch FROM benchmarks;"),
        Query("seed", "variable", "$StartTime", "SELECT created_at - INTERVAL '5 secs' FROM benchmarks "
              "WHERE branch = '${branch}' ORDER BY benchmark_id ASC LIMIT 1;"),
        Query("seed", "variable", "$EndTime", "SELECT time + INTERVAL '5 secs' FROM benchmarks AS b JOIN "
              "device_measurements AS d ON b.benchmark_id = d.benchmark_id WHERE branch = '${branch}' "
              "ORDER BY b.benchmark_id DESC, d.measurement_id DESC LIMIT 1;"),
        Query("seed", "panel", "commits table", "SELECT commit_id as commit_id, commit_message, gpu_name, "
              "created_at AS date FROM benchmarks WHERE branch = '${branch}' ORDER BY benchmark_id DESC "
              "LIMIT ${last_n_commits};"),
    ]
    out += [Query("seed", "panel", key, f"SELECT CAST(m.measurements->'{key}' AS double precision) AS {key}, "
                  f"left(b.commit_id, 7), m.time {join}") for key in SEED_KEYS]
    for col in ("cpu_util", "gpu_util", "mem_megabytes", "gpu_mem_megabytes"):
        out.append(Query("seed", "panel", f"{col}, one run (time filter)",
                         f"SELECT d.{col}, d.time FROM benchmarks AS b JOIN device_measurements AS d "
                         "ON b.benchmark_id = d.benchmark_id WHERE branch = '${branch}' AND $__timeFilter(d.time)"))
    out.append(Query("seed", "panel", "cpu_util as committed (every sample of the branch)",
                     "SELECT d.cpu_util, d.time FROM benchmarks AS b JOIN device_measurements AS d "
                     "ON b.benchmark_id = d.benchmark_id WHERE branch = '${branch}';"))
    return out


def run_seed(url: str, end: datetime, repeat: int) -> list[dict[str, Any]]:
    """The seed's queries: last N commits, N = the branch's runs on that GPU in the window;
    device panels over the newest run's span (the seed's StartTime..EndTime link)."""
    conn = psycopg2.connect(dsn(url))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    results = []
    branch, gpu = PREFERRED["branch"], PREFERRED["gpu_name"]
    cur.execute("SELECT benchmark_id FROM benchmarks WHERE branch = %s AND gpu_name = %s "
                "ORDER BY benchmark_id DESC LIMIT 1", (branch, gpu))
    newest = cur.fetchone()[0]
    cur.execute("SELECT min(time), max(time) FROM device_measurements WHERE benchmark_id = %s", (newest,))
    lo, hi = cur.fetchone()
    run_span = TimeRange((lo - timedelta(seconds=5)).replace(tzinfo=timezone.utc, microsecond=0),
                         (hi + timedelta(seconds=6)).replace(tzinfo=timezone.utc, microsecond=0))
    for w in WINDOWS:
        tr = time_range(end, w.days)
        cur.execute("SELECT count(*) FROM benchmarks WHERE branch = %s AND gpu_name = %s AND created_at >= %s",
                    (branch, gpu, (end - timedelta(days=w.days)).replace(tzinfo=None)))
        last_n = cur.fetchone()[0]
        variables = [Variable("branch", [branch]), Variable("gpu_name", [gpu]),
                     Variable("last_n_commits", [str(last_n)])]
        for q in seed_queries():
            device = "d.time" in q.sql and "$__timeFilter" in q.sql
            sql = render(q.sql, variables, run_span if device else tr, interval_for(w.days))
            t = time_query(cur, sql, repeat)
            results.append({"dashboard": "seed", "kind": q.kind, "title": q.title, "window": w.label,
                            "case": f"last {last_n}", "timing": t, "sql": sql})
        say(f"  seed: {w.label}: {len(seed_queries())} queries (last {last_n} commits)")
    conn.close()
    return results


def explain(url: str, sql: str) -> str:
    conn = psycopg2.connect(dsn(url))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    plan = "\n".join(r[0] for r in cur.fetchall())
    conn.close()
    return plan


def sizes(url: str) -> list[tuple[str, int, str, str]]:
    conn = psycopg2.connect(dsn(url))
    cur = conn.cursor()
    cur.execute("""SELECT c.relname, c.reltuples::bigint, pg_size_pretty(pg_table_size(c.oid)),
                          pg_size_pretty(pg_indexes_size(c.oid))
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC""")
    out = cur.fetchall()
    cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    out.append(("(database)", -1, cur.fetchone()[0], ""))
    conn.close()
    return out


# --- the report -------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def query_table(results: list[dict[str, Any]], window: str, cases: Sequence[str]) -> str:
    keyed: dict[tuple[str, str, str], dict[str, Timing]] = {}
    for r in results:
        if r["window"] == window:
            keyed.setdefault((r["dashboard"], r["kind"], r["title"]), {})[r["case"]] = r["timing"]
    headers = ["dashboard", "query", "rows"]
    for c in cases:
        headers += [f"{c} p50", f"{c} p95"]
    rows = []
    for (dash, kind, title), by_case in keyed.items():
        first = next(iter(by_case.values()))
        row = [dash, f"{kind}: {title}", first.rows]
        for c in cases:
            t = by_case.get(c)
            row += [fmt_ms(t.p50) if t else "-", (fmt_ms(t.p95) + (f" (n={t.n})" if t.n < SLOW_REPEAT + 1 else ""))
                    if t else "-"]
        rows.append(row)
    return table(headers, rows)


def report(args, settings, writer, gen: Generated | None, ours, problems, seed, explains, ours_sizes,
           seed_sizes, disk, load) -> str:
    out = ["# commitbench dashboards at scale", ""]
    out.append(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {os.cpu_count()} CPUs, shared with "
               f"other engineers' test runs (load average {load[0]} at the start, {load[1]} at the end), so "
               "absolute figures are pessimistic and noisy. PostgreSQL "
               + ", ".join(f"{k} {v}" for k, v in settings.items())
               + (" (a throwaway cluster: tests/pg_server.py)" if args.pg_url is None else "")
               + ". Latencies: client-side wall time of execute + fetching every row, psycopg2, localhost; "
               f"p50/p95 over {args.repeat} runs after one warm-up (n shown where a query over "
               f"{SLOW_WARMUP_S:g} s was repeated {SLOW_REPEAT} times). ⚠ = over {TARGET_MS:.0f} ms.")
    out.append("")
    out.append("## The runner's device-sample writer")
    out.append("")
    if writer:
        by = {p: [w["rate"] for w in writer if w["path"] == p] for p in ("executemany", "COPY")}
        out.append(f"The same {writer[0]['rows']:,} samples in one scenario, through `Store.ingest` (the whole "
                   "run's transaction: header, seed row, 3 scenarios, 30 figures, the samples), alternating "
                   "the two paths, in a scratch database at head:")
        out.append("")
        out.append(table(["path", "samples/s per repetition", "median samples/s"],
                         [[p, ", ".join(f"{r:,.0f}" for r in rs), f"{statistics.median(rs):,.0f}"]
                          for p, rs in by.items()]))
        out.append("")
        out.append(f"COPY / executemany: {statistics.median(by['COPY']) / statistics.median(by['executemany']):.1f}x.")
        out.append("")
    if gen and gen.store_runs:
        per = sorted(gen.store_per_run)
        out.append(f"On the full database, {len(gen.store_runs)} of the generated runs ({gen.store_samples:,} "
                   "samples) went in through `Store.ingest`:")
        out.append("")
        out.append(table(["measure", "value"], [
            ["samples/s, whole ingest (run header, scenarios, figures, samples)",
             f"{gen.store_samples / gen.store_seconds:,.0f}"],
            ["ingest per run, p50 / p95", f"{statistics.median(per) * 1000:.0f} ms / {pct(per, 95) * 1000:.0f} ms"],
        ]))
        out.append("")
    if gen:
        out.append("## Data")
        out.append("")
        out.append(f"{gen.runs:,} runs x {args.samples_per_run:,} samples over a year of commit times, "
                   f"{len(REPOSITORIES)} repositories, main + {FEATURE_BRANCHES} feature branches, {len(GPUS)} GPUs, "
                   f"{len(MODELS)} models, 3 scenarios and {sum(len(s[6]) for s in SCENARIOS)} figures per run "
                   f"(fewer for failed runs). Generated and loaded by COPY into both databases in "
                   f"{gen.seconds:.0f} s (indexes in place, as the migrations create them), then "
                   f"VACUUM (ANALYZE) {gen.vacuum_seconds:.0f} s. Disk: {disk}.")
        out.append("")
        for label, rows in (("commitbench schema (head)", ours_sizes), ("seed schema", seed_sizes)):
            out.append(f"{label}:")
            out.append("")
            out.append(table(["table", "rows", "table size", "index size"],
                             [[n, f"{r:,}" if r >= 0 else "", ts, ix] for n, r, ts, ix in rows]))
            out.append("")
    if ours:
        out.append("## The committed dashboards (dashboards/json)")
        out.append("")
        out.append("Cases: **single** = repository, branch main, GPU, model, scenario compiled_decode, one "
                   "value each; **branch=All** = the same with every branch; **defaults** = what the "
                   "dashboards open with (branch and scenario All). run/head = the newest run of the "
                   "selection, base = the 21st newest. `rows` = rows returned in the single case.")
        out.append("")
        for w in WINDOWS:
            out.append(f"### {w.label}")
            out.append("")
            out.append(query_table(ours, w.label, CASES))
            out.append("")
        worst = max(ours, key=lambda r: r["timing"].p95)
        over = sorted({(r["dashboard"], r["kind"], r["title"]) for r in ours if r["timing"].p95 > TARGET_MS})
        out.append(f"Slowest: {worst['dashboard']} {worst['kind']} **{worst['title']}** ({worst['window']}, "
                   f"{worst['case']}): p95 {worst['timing'].p95:.1f} ms. "
                   + (f"Over {TARGET_MS:.0f} ms at p95 somewhere: {len(over)} of "
                      f"{len({(r['dashboard'], r['kind'], r['title']) for r in ours})} queries"
                      + (": " + "; ".join(f"{d} {k} {t}" for d, k, t in over) if over else "") + "."))
        out.append("")
        if problems:
            out.append("Queries that failed:")
            out.append("")
            out += [f"- {p}" for p in problems]
            out.append("")
    if seed:
        out.append("## The seed's dashboard on the seed's schema (primary keys only)")
        out.append("")
        out.append("Branch main, gpu_name H100; `last N commits` = that branch's runs on that GPU in the window, "
                   "the seed's way of showing a period. Device panels: the seed's SQL had no time filter (it "
                   "returned every sample of the branch: the last row); the \"one run\" rows add "
                   "`$__timeFilter(d.time)` over the newest run's span (the seed linked there with "
                   "StartTime/EndTime), which is the best it could do without an index.")
        out.append("")
        for w in WINDOWS:
            cases = sorted({r["case"] for r in seed if r["window"] == w.label})
            out.append(f"### {w.label}")
            out.append("")
            out.append(query_table(seed, w.label, cases))
            out.append("")
    for title, plan, sql in explains:
        out.append(f"## EXPLAIN (ANALYZE, BUFFERS): {title}")
        out.append("")
        out.append("```sql")
        out.append(sql.strip())
        out.append("```")
        out.append("")
        out.append("```")
        out.append(plan)
        out.append("```")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yardsticks.bench_scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-url", help="a server where databases may be created and dropped (default: a throwaway one)")
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--samples-per-run", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--store-runs", type=int, default=100, help="of --runs, stored through Store.ingest")
    p.add_argument("--writer-rows", type=int, default=100_000, help="samples for the side-by-side writer benchmark")
    p.add_argument("--writer-reps", type=int, default=4)
    p.add_argument("--seed", type=int, default=1, help="random seed of the generated data")
    p.add_argument("--out", type=Path)
    p.add_argument("--keep", action="store_true", help="keep the databases (and a throwaway server) at the end")
    args = p.parse_args(argv)
    if args.runs < 1 or args.store_runs > args.runs:
        p.error("--runs must be >= 1 and >= --store-runs")

    load = [" ".join(f"{x:.1f}" for x in os.getloadavg()), ""]
    say(f"disk before: {disk_free()}")
    server = Server(args.pg_url)
    tag = f"{os.getpid()}"
    names = {"writer": f"cb_bench_writer_{tag}", "ours": f"cb_bench_{tag}", "seed": f"cb_bench_seed_{tag}"}
    created: list[str] = []
    try:
        settings = server.settings()
        say("1. the sample writer, side by side")
        url = server.create(names["writer"])
        created.append(names["writer"])
        writer = writer_side_by_side(url, args.writer_rows, args.writer_reps) if args.writer_rows else []
        check_bulk_matches_store(url)
        server.drop(names["writer"])
        created.remove(names["writer"])

        say("2. generating")
        ours_url, seed_url = server.create(names["ours"]), server.create(names["seed"])
        created += [names["ours"], names["seed"]]
        engine = create_engine(ours_url)
        upgrade(engine)
        engine.dispose()
        seed_engine = create_engine(seed_url)
        with seed_engine.begin() as c:
            c.exec_driver_sql(SEED_SCHEMA.read_text())
        seed_engine.dispose()
        now_dt = datetime.now(timezone.utc).replace(microsecond=0)
        gen = generate(ours_url, seed_url, args.runs, args.samples_per_run, args.store_runs, now_dt.timestamp(),
                       args.seed)
        disk = disk_free()
        say(f"disk after loading: {disk}")
        read_url = reader_url(server, ours_url) if args.pg_url is None else ours_url

        say("3. the dashboards' queries")
        ours, problems = run_dashboards(read_url, now_dt, args.repeat)
        seed = run_seed(seed_url, now_dt, args.repeat)
        explains = []
        if ours:
            worst = max(ours, key=lambda r: r["timing"].p95)
            explains.append((f"the slowest dashboard query, {worst['dashboard']} {worst['kind']} "
                             f"\"{worst['title']}\" ({worst['window']}, {worst['case']})",
                             explain(read_url, worst["sql"]), worst["sql"]))
        if seed:
            worst = max((r for r in seed if "as committed" not in r["title"]), key=lambda r: r["timing"].p95)
            explains.append((f"the slowest seed query (bar the whole-branch one), \"{worst['title']}\" "
                             f"({worst['window']})", explain(seed_url, worst["sql"]), worst["sql"]))
        load[1] = " ".join(f"{x:.1f}" for x in os.getloadavg())
        md = report(args, settings, writer, gen, ours, problems, seed, explains, sizes(ours_url), sizes(seed_url),
                    disk, load)
        print(md)
        if args.out:
            args.out.write_text(md + "\n")
            say(f"report written to {args.out}")
    finally:
        if args.keep:
            say("kept: " + ", ".join(server.url(n) for n in created))
            if server.own is not None:
                say(f"server data in {server.own.data} (pg_ctl -D {server.own.data} stop, then remove "
                    f"{server.own.tmp})")
            server.admin.dispose()
        else:
            for n in created:
                server.drop(n)
            server.stop()
    return 0


def reader_url(server: Server, ours_url: str) -> str:
    """On the throwaway server only: Grafana's role, with a password, so every query runs
    with its grants. (Never on --pg-url's server: that would change a real role's password.)"""
    engine = create_engine(ours_url)
    with engine.begin() as c:
        ensure_reader(c, password="bench")
    engine.dispose()
    return make_url(ours_url).set(username=READER_ROLE, password="bench").render_as_string(hide_password=False)


def disk_free() -> str:
    parts = []
    for path in ("/work", "/tmp"):
        if os.path.exists(path):
            u = shutil.disk_usage(path)
            parts.append(f"{path} {u.free / 2**30:.0f} GiB free of {u.total / 2**30:.0f}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
