"""The device-sample writer (db.store._write_samples) on both backends: COPY on PostgreSQL,
one executemany on SQLite. Every field round-trips exactly, re-saving replaces, and a
failure anywhere in the run's transaction (the COPY itself included) leaves nothing."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

import db.store as store_module
from benchmark.contracts.result import RUNNING, DeviceSample
from db.models import Benchmark, DeviceMeasurement, MetricRow, ModelMeasurement, ScenarioRun
from db.session import session_scope
from db.store import utc
from results import T0, make_result

COLUMNS = ("cpu_util", "mem_megabytes", "gpu_util", "gpu_mem_megabytes", "sm_clock_mhz", "power_watts",
           "temperature_c", "throttle_reasons")

# Text the CSV must carry verbatim: its delimiter, quote and NULL spellings, backslashes
# (COPY's text-format escape), the end-of-data marker alone on a line, line breaks, tabs.
TRICKY = [
    "", " ", "a,b", '"', '""', 'say "hi", then go', "back\\slash", "\\", "\\N", "NULL", "null",
    "\\.", "x\n\\.\ny", "line1\nline2", "cr\rlf\r\n", "\ttab\t", ",", ",,", '",', "café 🚀 ✓",
    "' OR 1=1; --", "  padded  ",
]

FLOATS = [0.0, -0.0, 0.1, 1 / 3, -2.5, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.123456789,
          2.0**53 + 1, 99.99999999999999, 1e22]


def is_pg(store) -> bool:
    return store.engine.dialect.name == "postgresql"


def stored(store, bid: int) -> list[DeviceMeasurement]:
    with session_scope(store.engine) as s:
        rows = list(s.scalars(select(DeviceMeasurement).where(DeviceMeasurement.benchmark_id == bid)
                              .order_by(DeviceMeasurement.measurement_id)))
        s.expunge_all()
        return rows


def table_counts(store) -> dict[str, int]:
    with session_scope(store.engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Benchmark, ModelMeasurement, DeviceMeasurement, ScenarioRun, MetricRow)}


def tricky_samples(name: str) -> list[DeviceSample]:
    """One sample per tricky text (as phase), per float (in every float column, rotated),
    with each column NULL in turn, big throttle_reasons, and awkward fractions of a second."""
    out = []
    n = max(len(TRICKY), len(FLOATS)) * 2
    for i in range(n):
        values: list[float | None] = [FLOATS[(i + k) % len(FLOATS)] for k in range(7)]
        throttle: int | None = [0, 1, 2**40, 2**62 + 12345, 2**63 - 1, 4][i % 6]
        if i % 9 < 8:
            k = i % 9  # 0..7: NULL in that column (7 = throttle_reasons); 8: none NULL
            if k == 7:
                throttle = None
            else:
                values[k] = None
        out.append(DeviceSample(
            # .5 us ties, whole seconds, pre-2000 and far-future times
            time=[T0 + i * 0.0000005, T0 + i, 946684799.999999 - i, 4102444800.123456 + i, T0 + i / 3][i % 5],
            scenario=name, phase=TRICKY[i % len(TRICKY)] if i % 7 else None,
            cpu_util=values[0], mem_megabytes=values[1], gpu_util=values[2], gpu_mem_megabytes=values[3],
            sm_clock_mhz=values[4], power_watts=values[5], temperature_c=values[6], throttle_reasons=throttle))
    return out


def expected(sample: DeviceSample) -> tuple:
    return (utc(sample.time), store_module.clean(sample.phase), *(getattr(sample, c) for c in COLUMNS))


def actual(row: DeviceMeasurement) -> tuple:
    return (row.time, row.phase, *(getattr(row, c) for c in COLUMNS))


def same(a: tuple, b: tuple, signed_zero: bool = True) -> bool:
    """Equal, with NaN equal to NaN and the sign of zero kept (PostgreSQL keeps it, so COPY
    must too; SQLite stores -0.0 as 0)."""
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if math.isnan(x) and math.isnan(y):
                continue
            if x != y or (signed_zero and math.copysign(1, x) != math.copysign(1, y)):
                return False
        elif x != y or type(x) is not type(y):
            return False
    return True


@pytest.fixture
def copies(store, monkeypatch):
    """Counts COPYs, so a PostgreSQL test cannot pass on the executemany path."""
    calls = []
    real = store_module._copy_samples

    def spy(conn, benchmark_id, scenario, samples):
        calls.append(len(samples))
        return real(conn, benchmark_id, scenario, samples)

    monkeypatch.setattr(store_module, "_copy_samples", spy)
    return calls


def test_every_field_round_trips(store, copies):
    result = make_result()
    eager = result.scenarios[0]
    eager.name = 'eager, "quoted"\\ \n\t,name'  # the scenario column comes from the name
    eager.samples = tricky_samples(eager.name)
    if is_pg(store):  # SQLite stores NaN as NULL; PostgreSQL keeps it
        eager.samples += [DeviceSample(time=T0, scenario=eager.name, phase="nan", cpu_util=math.nan,
                                       mem_megabytes=math.inf, gpu_util=-math.inf)]
    eager.samples.append(DeviceSample(time=T0, scenario=eager.name, phase="nul\x00here", cpu_util=1.0,
                                      mem_megabytes=2.0))
    result.scenarios[1].samples = []  # a scenario without samples writes none
    assert store.ingest(result) == "inserted"

    with session_scope(store.engine) as s:
        bid = s.scalar(select(Benchmark.benchmark_id))
    rows = stored(store, bid)
    assert len(rows) == len(eager.samples)
    for row, sample in zip(rows, eager.samples, strict=True):
        assert same(actual(row), expected(sample), signed_zero=is_pg(store)), (actual(row), expected(sample))
        assert row.scenario == eager.name
    assert rows[-1].phase == "nul\ufffdhere"
    assert {r.phase for r in rows} >= set(TRICKY) | {None}
    assert "" in {r.phase for r in rows} and None in {r.phase for r in rows}  # not confused
    assert copies == ([len(eager.samples)] if is_pg(store) else [])


def test_copy_matches_executemany(pg_url, monkeypatch):
    """On PostgreSQL, the rows COPY writes are the rows the executemany path writes
    (Store(copy_samples=False), the scale benchmark's switch)."""
    from db.store import Store

    copied = []
    real = store_module._copy_samples
    monkeypatch.setattr(store_module, "_copy_samples", lambda *a: copied.append(a[2]) or real(*a))
    stores = {"executemany": Store(pg_url, copy_samples=False), "copy": Store(pg_url)}
    try:
        by_path = {}
        for path, uid in (("executemany", "run-executemany"), ("copy", "run-copy")):
            store = stores[path]
            store.open(auto_upgrade=True)
            result = make_result(uid)
            result.scenarios[0].samples = tricky_samples("eager")
            assert store.ingest(result) == "inserted"
            with session_scope(store.engine) as s:
                bid = s.scalar(select(Benchmark.benchmark_id).where(Benchmark.run_uid == uid))
            by_path[path] = [(r.scenario, *actual(r)) for r in stored(store, bid)]
            # the switch decides: no COPY without it, one per scenario with samples by default
            with_samples = [sc.name for sc in result.scenarios if sc.samples]
            assert len(with_samples) == 2 and copied == ([] if path == "executemany" else with_samples), copied
        assert len(by_path["copy"]) == len(tricky_samples("eager")) + 1  # + compiled_decode's one
        for a, b in zip(by_path["copy"], by_path["executemany"], strict=True):
            # psycopg2 sends -0.0 as the literal -0.0, which PostgreSQL reads as numeric 0:
            # the executemany path loses the sign of zero, COPY keeps it
            assert same(a, b, signed_zero=False), (a, b)
    finally:
        for store in stores.values():
            store.close()


def test_many_samples_across_chunks(store, copies):
    """More rows than one piece handed to the driver: all of them, in order."""
    n = store_module._COPY_CHUNK * 2 + 345
    result = make_result()
    result.scenarios[0].samples = [
        DeviceSample(time=T0 + i * 0.01, scenario="eager", phase=("decode", "prefill", None)[i % 3],
                     cpu_util=float(i), mem_megabytes=i + 0.5, gpu_util=None if i % 2 else 50.0,
                     throttle_reasons=i) for i in range(n)]
    bid = store.save_scenario(result, result.scenarios[0])
    rows = stored(store, bid)
    assert [r.cpu_util for r in rows] == [float(i) for i in range(n)]
    assert [r.throttle_reasons for r in rows] == list(range(n))
    assert rows[-1].time == utc(T0 + (n - 1) * 0.01) and rows[-1].phase == ("decode", "prefill", None)[(n - 1) % 3]
    assert copies == ([n] if is_pg(store) else [])


def test_resaving_a_scenario_replaces_its_samples(store):
    result = make_result()
    eager, compiled = result.scenarios[0], result.scenarios[1]
    eager.samples = tricky_samples("eager")
    bid = store.save_run(result)
    for _ in range(3):
        store.save_scenario(result, eager)
        store.save_scenario(result, compiled)
    rows = stored(store, bid)
    assert sum(r.scenario == "eager" for r in rows) == len(eager.samples)
    assert sum(r.scenario == compiled.name for r in rows) == len(compiled.samples)

    # fewer samples the second time: the old ones are gone, the other scenario's kept
    eager.samples = eager.samples[:3]
    store.save_scenario(result, eager)
    rows = stored(store, bid)
    assert [actual(r) for r in rows if r.scenario == "eager"] == [expected(s) for s in eager.samples]
    assert sum(r.scenario == compiled.name for r in rows) == len(compiled.samples)


def test_completing_a_partial_run_does_not_duplicate(store):
    partial = make_result(status=RUNNING)
    partial.scenarios[0].samples = tricky_samples("eager")
    store.save_run(partial)
    store.save_scenario(partial, partial.scenarios[0])
    final = make_result()
    final.scenarios[0].samples = tricky_samples("eager")
    assert store.ingest(final) == "completed"
    assert table_counts(store)["device_measurements"] == len(final.scenarios[0].samples) + 1


def test_failure_in_the_sample_write_leaves_nothing(store, copies):
    """The sample write itself fails halfway (a value no driver can send, in the COPY's
    second piece): the run's header, seed row, earlier scenarios and the rows already
    sent are rolled back, the error is SQLAlchemy's (the runner spools on it), and the
    store goes on working."""
    result = make_result()
    n = store_module._COPY_CHUNK + 100
    good = [DeviceSample(time=T0 + i, scenario=result.scenarios[1].name, phase="decode", cpu_util=1.0,
                         mem_megabytes=2.0) for i in range(n)]
    bad = DeviceSample(time=T0, scenario=result.scenarios[1].name, phase="decode", cpu_util=object(),
                       mem_megabytes=1.0)
    result.scenarios[1].samples = good[:n - 50] + [bad] + good[n - 50:]
    with pytest.raises(SQLAlchemyError):
        store.ingest(result)
    assert set(table_counts(store).values()) == {0}

    result.scenarios[1].samples = good
    assert store.ingest(result) == "inserted"
    assert table_counts(store)["device_measurements"] == len(result.scenarios[0].samples) + n


@pytest.mark.parametrize("breaks", ["throttle_reasons out of bigint", "phase longer than varchar(64)",
                                    "text for a number"])
def test_values_postgresql_refuses_roll_back(pg_url, breaks):
    """Refused inside the COPY, by the server or before sending (SQLite keeps such values
    as given): an SQLAlchemy error, nothing kept, the connection usable again."""
    from db.store import Store

    store = Store(pg_url)
    store.open(auto_upgrade=True)
    try:
        result = make_result()
        sample = DeviceSample(time=T0, scenario="eager", phase="p", cpu_util=1.0, mem_megabytes=1.0)
        if breaks.startswith("throttle"):
            sample.throttle_reasons = 2**63
        elif breaks.startswith("phase"):
            sample.phase = "x" * 65
        else:
            sample.cpu_util = "1.0; DROP TABLE benchmarks"
        result.scenarios[0].samples.insert(2, sample)
        with pytest.raises(SQLAlchemyError) as e:
            store.ingest(result)
        assert any(word in str(e.value) for word in ("out of range", "too long", "could not convert"))
        assert set(table_counts(store).values()) == {0}
        result.scenarios[0].samples.remove(sample)
        assert store.ingest(result) == "inserted"
    finally:
        store.close()


def test_sample_without_time_gets_the_default(store):
    """As with the executemany (and the seed's schema): the column default, now in UTC."""
    result = make_result()
    result.scenarios[0].samples = [DeviceSample(time=None, scenario="eager", phase="p", cpu_util=1.0,
                                                mem_megabytes=1.0)]
    before = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    bid = store.save_scenario(result, result.scenarios[0])
    (row,) = stored(store, bid)
    assert before - timedelta(seconds=5) <= row.time <= datetime.now(timezone.utc).replace(tzinfo=None)


def test_failure_after_the_samples_leaves_nothing(store, copies):
    """A later scenario's row fails after the samples were written: they go too."""
    result = make_result()
    result.scenarios[0].samples = tricky_samples("eager")
    result.scenarios[2].info = {"unserializable": object()}  # fails on the last scenario's row
    with pytest.raises(SQLAlchemyError):
        store.ingest(result)
    assert set(table_counts(store).values()) == {0}
    assert copies == ([len(result.scenarios[0].samples), len(result.scenarios[1].samples)] if is_pg(store) else [])
