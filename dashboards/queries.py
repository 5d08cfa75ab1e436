"""Every SQL text the dashboards send, in one place (generate.py puts them into panels; the
tests expand them as Grafana would and run them against PostgreSQL).

Grafana's PostgreSQL rules, each one a trap we have seen documented:
- `$__timeFilter(col)` on a plain indexed column in every query over a time range:
  `time` of run_figures is benchmarks.plotted_at (ix_benchmarks_plotted_at), and device
  samples are filtered by (benchmark_id, time) (ix_device_measurements_benchmark_id_time).
- Macro arguments hold no parentheses or commas (Grafana's macro regex stops at them).
- Template variables as `${var:sqlstring}`: the default quoting of multi-value variables
  changed between Grafana releases; no custom "All" value, so All expands to the list.
- Time series return `time` ascending, numbers, and one text label column (`metric`).
- Per-commit panels read run_figures (one row per figure of a run), never device_measurements.
"""

from __future__ import annotations

from benchmark.analysis.provenance import CONFIG, HASH_CHARS, WATCHED
from benchmark.contracts.figures import FIGURES

# The filters every per-commit panel shares (on run_figures, alias f).
RUN_FILTER = ("f.repository = ${repository:sqlstring} AND f.branch IN (${branch:sqlstring}) "
              "AND f.gpu = ${gpu:sqlstring} AND f.model_id = ${model:sqlstring}")
SCENARIO_FILTER = "f.scenario IN (${scenario:sqlstring})"
# The same on benchmarks (alias b), for status panels and annotations.
BENCH_FILTER = ("COALESCE(b.repository, '') = ${repository:sqlstring} AND b.branch IN (${branch:sqlstring}) "
                "AND COALESCE(b.gpu_name, 'cpu') = ${gpu:sqlstring} AND b.model_id = ${model:sqlstring}")
STATUS_CODE = ("CASE {col} WHEN 'succeeded' THEN 1 WHEN 'failed' THEN 0 WHEN 'cancelled' THEN 2 "
               "WHEN 'skipped' THEN 4 ELSE 3 END")  # 3: running (or stale); value mappings name and colour them
RUN_ID = "(SELECT benchmark_id FROM benchmarks WHERE run_uid = ${run:sqlstring})"

STATS = {"p50": "median", "p90": "p90", "p99": "p99", "mean": "mean", "min": "min"}


def _in(names: list[str]) -> str:
    for n in names:
        assert n in FIGURES, n  # a panel names only registered figures
    return ", ".join(f"'{n}'" for n in names)


def figure_series(figures: list[str], stats: tuple[str, ...] = ("p50",)) -> str:
    """One series per figure, scenario and branch: the chosen statistics of each run."""
    columns = ", ".join(f'f.{STATS[s]} AS "{s}"' for s in stats)
    return (f"SELECT f.time AS \"time\", f.figure || ' · ' || f.scenario || ' · ' || f.branch AS metric, {columns}\n"
            f"FROM run_figures f\n"
            f"WHERE $__timeFilter(f.time) AND {RUN_FILTER} AND {SCENARIO_FILTER}\n"
            f"  AND f.figure IN ({_in(figures)}) AND f.{STATS[stats[0]]} IS NOT NULL\n"
            f"ORDER BY 1")


def selected_metric() -> str:
    """The figure chosen in the `metric` variable: p50, p90, p99."""
    return (f"SELECT f.time AS \"time\", f.scenario || ' · ' || f.branch AS metric, f.median AS p50, "
            f"f.p90 AS p90, f.p99 AS p99\n"
            f"FROM run_figures f\n"
            f"WHERE $__timeFilter(f.time) AND {RUN_FILTER} AND {SCENARIO_FILTER}\n"
            f"  AND f.figure = ${{metric:sqlstring}} AND f.median IS NOT NULL\n"
            f"ORDER BY 1")


def speedup() -> str:
    """Compiled over eager: eager TTNT p50 / compiled TTNT p50 of the same run."""
    return ("SELECT c.time AS \"time\", c.scenario || ' · ' || c.branch AS metric, "
            "AVG(e.median) / c.median AS speedup\n"
            "FROM run_figures c JOIN run_figures e ON e.benchmark_id = c.benchmark_id\n"
            "  AND e.figure = 'eager_time_to_next_token_secs'\n"
            f"WHERE $__timeFilter(c.time) AND {RUN_FILTER.replace('f.', 'c.')}\n"
            f"  AND {SCENARIO_FILTER.replace('f.', 'c.')} AND c.figure = 'time_to_next_token_secs'\n"
            "GROUP BY c.time, c.scenario, c.branch, c.median\n"
            "ORDER BY 1")


def run_status() -> str:
    """Per run: 1 succeeded, 0 failed, 2 cancelled, 3 running (4 skipped, for scenarios); a
    failed run is a red band, never a gap."""
    return (f"SELECT b.plotted_at AS \"time\", b.branch AS metric, {STATUS_CODE.format(col='b.status')} AS status\n"
            f"FROM benchmarks b\n"
            f"WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER}\n"
            f"ORDER BY 1")


def scenario_status() -> str:
    return (f"SELECT b.plotted_at AS \"time\", s.name AS metric, {STATUS_CODE.format(col='s.status')} AS status\n"
            f"FROM scenario_runs s JOIN benchmarks b ON b.benchmark_id = s.benchmark_id\n"
            f"WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER} AND s.name IN (${{scenario:sqlstring}})\n"
            f"ORDER BY 1")


def last_commits() -> str:
    """The last N commits' p50 of the chosen figure, oldest first, by short sha (the seed's
    bar charts). Long format: the panel pivots scenario into columns."""
    return ("SELECT * FROM (\n"
            "  SELECT f.time AS \"time\", left(f.commit_id, 8) AS commit, f.scenario AS scenario, f.median AS p50\n"
            "  FROM run_figures f\n"
            f"  WHERE $__timeFilter(f.time) AND {RUN_FILTER} AND {SCENARIO_FILTER}\n"
            "    AND f.figure = ${metric:sqlstring} AND f.median IS NOT NULL\n"
            "  ORDER BY f.time DESC LIMIT ${last:raw}\n"
            ") latest ORDER BY 1")


# A run's validity (migration 0007) as shown beside its status: why an invalid one is left out.
VALIDITY = ("CASE WHEN b.valid IS NULL THEN 'not evaluated' WHEN b.valid THEN 'valid' ELSE 'INVALID: ' || "
            "COALESCE((SELECT string_agg((r ->> 'rule') || ': ' || (r ->> 'detail'), '; ') "
            "FROM jsonb_array_elements(b.invalid_reasons) r), '') END")


def latest_runs() -> str:
    return ("SELECT b.plotted_at AS \"time\", left(b.commit_id, 8) AS commit, b.branch, b.status,\n"
            f"  {VALIDITY} AS validity,\n"
            "  (SELECT count(*) FROM scenario_runs s WHERE s.benchmark_id = b.benchmark_id\n"
            "     AND s.status NOT IN ('succeeded', 'skipped')) AS failed_scenarios,\n"
            "  b.commit_message AS message, b.error, b.run_uid,\n"
            "  floor(extract(epoch from b.plotted_at) * 1000)::bigint AS at_ms,\n"
            "  (extract(epoch from b.started_at) * 1000)::bigint AS started_ms,\n"
            "  (extract(epoch from COALESCE(b.finished_at, b.heartbeat_at, b.started_at)) * 1000 + 1000)::bigint"
            " AS finished_ms\n"
            "FROM benchmarks b\n"
            f"WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER}\n"
            "ORDER BY b.plotted_at DESC LIMIT 50")


def failed_runs_annotation() -> str:
    return ("SELECT b.plotted_at AS \"time\", b.status || ' ' || left(b.commit_id, 8) || ' on ' || b.branch\n"
            "  || ': ' || COALESCE(left(b.error, 300), '') AS text, b.status AS tags\n"
            "FROM benchmarks b\n"
            f"WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER} AND b.status IN ('failed', 'cancelled')\n"
            "ORDER BY 1")


def change_points_annotation() -> str:
    """Stored change points (`commitbench detect`) of the chosen scenarios, at the commit
    that starts the new level. chr(37) is a percent sign: a literal one would be read as a
    parameter marker by drivers that format queries."""
    return ("SELECT b.plotted_at AS \"time\", c.verdict || ' ' || to_char(c.magnitude * 100, 'FMSG990.0') || chr(37)\n"
            "  || ' in ' || c.figure || ' of ' || COALESCE(c.scenario, c.series_key) || ' at ' || left(c.commit_id, 8)\n"
            "  || ' (' || c.state || '; was ' || to_char(c.before, 'FM999990.000000') || ', now '\n"
            "  || to_char(c.after, 'FM999990.000000') || ')' AS text, c.verdict AS tags\n"
            "FROM change_points c JOIN benchmarks b ON b.benchmark_id = c.benchmark_id\n"
            f"WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER}\n"
            "  AND c.scenario IN (${scenario:sqlstring}) AND c.state IN ('detected', 'suspected', 'confirmed')\n"
            "ORDER BY 1")



def reports_annotation() -> str:
    """Regression reports (`commitbench reports`) not fixed or withdrawn, at the commit of
    their step: open (or confirmed, bisected) ones nobody has decided on, and accepted ones
    with who accepted them and why. Tagged with the state, so the two read apart."""
    return ("SELECT b.plotted_at AS \"time\", 'report #' || r.report_id || ' ' || r.state || ': ' || r.figure\n"
            "  || ' of ' || COALESCE(r.scenario, r.series_key) || ' ' || to_char(r.magnitude * 100, 'FMSG990.0')\n"
            "  || chr(37) || ' since ' || left(r.commit_id, 8)\n"
            "  || CASE WHEN r.state = 'accepted' THEN ' (accepted by ' || COALESCE(r.accepted_by, '?') || ': '\n"
            "  || COALESCE(left(r.reason, 200), '') || ')' ELSE '' END AS text, r.state AS tags\n"
            "FROM regression_reports r JOIN benchmarks b ON b.benchmark_id = r.benchmark_id\n"
            f"WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER}\n"
            "  AND r.scenario IN (${scenario:sqlstring}) AND r.state IN ('open', 'confirmed', 'bisected', 'accepted')\n"
            "ORDER BY 1")


def env_changes_annotation() -> str:
    """Each run whose harness, configuration or environment differs from the run before it
    of the same branch, repository, GPU and model, labelled with what changed (config hash,
    torch, transformers, CUDA, driver, commitbench): analysis/provenance.consecutive in SQL,
    over the same WATCHED keys, so a step an upgrade caused is not blamed on the commit."""
    def value(alias: str, key: str) -> str:
        return f"left({alias}.config_hash, {HASH_CHARS})" if key == CONFIG else f"({alias}.environment ->> '{key}')"

    # NULL <> x is NULL: a value only one run recorded is no change, and concat_ws skips it
    parts = ",\n      ".join(f"CASE WHEN {value('p', k)} <> {value('b', k)} THEN '{label} ' || {value('p', k)} "
                              f"|| ' -> ' || {value('b', k)} END" for k, label in WATCHED)
    return ("SELECT c.\"time\", c.text, 'environment' AS tags FROM (\n"
            "  SELECT b.plotted_at AS \"time\", concat_ws('; ',\n"
            f"      {parts}) AS text\n"
            "  FROM benchmarks b\n"
            "  JOIN LATERAL (SELECT p.config_hash, p.environment FROM benchmarks p\n"
            "    WHERE p.branch = b.branch AND COALESCE(p.repository, '') = COALESCE(b.repository, '')\n"
            "      AND COALESCE(p.gpu_name, 'cpu') = COALESCE(b.gpu_name, 'cpu') AND p.model_id = b.model_id\n"
            "      AND (p.plotted_at, p.benchmark_id) < (b.plotted_at, b.benchmark_id)\n"
            "    ORDER BY p.plotted_at DESC, p.benchmark_id DESC LIMIT 1) p ON true\n"
            f"  WHERE $__timeFilter(b.plotted_at) AND {BENCH_FILTER}\n"
            ") c WHERE c.text <> ''\n"
            "ORDER BY 1")


# -- variables -------------------------------------------------------------------------

REPOSITORIES = "SELECT DISTINCT COALESCE(repository, '') FROM benchmarks ORDER BY 1"
# an A/B job's runs (ab/<job>/base, ab/<job>/head) are its own report's, not a branch to plot
BRANCHES = ("SELECT DISTINCT branch FROM benchmarks WHERE COALESCE(repository, '') = ${repository:sqlstring} "
            "AND substr(COALESCE(branch, ''), 1, 3) <> 'ab/' ORDER BY 1")
GPUS = ("SELECT DISTINCT COALESCE(gpu_name, 'cpu') FROM benchmarks "
        "WHERE COALESCE(repository, '') = ${repository:sqlstring} ORDER BY 1")
MODELS = ("SELECT DISTINCT model_id FROM benchmarks WHERE COALESCE(repository, '') = ${repository:sqlstring} "
          "AND COALESCE(gpu_name, 'cpu') = ${gpu:sqlstring} ORDER BY 1")
SCENARIOS = ("SELECT DISTINCT s.name FROM scenario_runs s JOIN benchmarks b ON b.benchmark_id = s.benchmark_id "
             "WHERE COALESCE(b.repository, '') = ${repository:sqlstring} AND b.model_id = ${model:sqlstring} "
             "ORDER BY 1")


def runs_variable(at_variable: str | None = "at") -> str:
    """Runs as `__text` (short sha, branch, when, status) / `__value` (run_uid), newest first.
    With `at` (epoch ms, from an overview data link), the newest run at or before it comes
    first, so a click on a point opens that point's run."""
    # `at` is whole milliseconds, plotted_at has microseconds: "before the next millisecond"
    at = f" AND b.plotted_at < to_timestamp((${{{at_variable}:raw}} + 1) / 1000.0) AT TIME ZONE 'UTC'" \
        if at_variable else ""
    return ("SELECT b.run_uid AS __value, left(b.commit_id, 8) || ' ' || b.branch || ' '\n"
            "  || to_char(b.plotted_at, 'YYYY-MM-DD HH24:MI') || ' ' || b.status AS __text\n"
            "FROM benchmarks b\n"
            f"WHERE {BENCH_FILTER}{at}\n"
            "ORDER BY b.plotted_at DESC LIMIT 500")


# -- one run -------------------------------------------------------------------------

DEVICE_FIELDS = {  # column -> (title, unit)
    "cpu_util": ("CPU % (process tree)", "percent"),
    "mem_megabytes": ("RSS", "decmbytes"),
    "gpu_util": ("GPU %", "percent"),
    "gpu_mem_megabytes": ("GPU memory", "decmbytes"),
    "sm_clock_mhz": ("SM clock", "rotmhz"),
    "power_watts": ("Power", "watt"),
    "temperature_c": ("Temperature", "celsius"),
}


def device_samples(column: str) -> str:
    assert column in DEVICE_FIELDS
    return (f"SELECT d.time AS \"time\", COALESCE(d.scenario, '') AS metric, d.{column} AS value\n"
            f"FROM device_measurements d\n"
            f"WHERE d.benchmark_id = {RUN_ID} AND $__timeFilter(d.time) AND d.{column} IS NOT NULL\n"
            f"ORDER BY 1")


def phases_annotation() -> str:
    """Each scenario's phases (load, eager_forward, compile, decode ...) as regions."""
    return ("SELECT to_timestamp((p.value ->> 'start')::float8) AT TIME ZONE 'UTC' AS \"time\",\n"
            "  to_timestamp(COALESCE(p.value ->> 'end', p.value ->> 'start')::float8) AT TIME ZONE 'UTC'"
            " AS \"timeend\",\n"
            "  s.name || ': ' || (p.value ->> 'name') AS text, p.value ->> 'name' AS tags\n"
            "FROM scenario_runs s CROSS JOIN LATERAL jsonb_array_elements(s.phases) AS p\n"
            f"WHERE s.benchmark_id = {RUN_ID} AND $__timeFilter(s.started_at)\n"
            "ORDER BY 1")


RUN_SPAN = ("SELECT left(b.commit_id, 8) AS commit, b.branch, b.status, b.commit_message AS message,\n"
            "  b.started_at, b.finished_at,\n"
            "  (extract(epoch from b.started_at) * 1000)::bigint - 5000 AS started_ms,\n"
            "  (extract(epoch from COALESCE(b.finished_at, b.heartbeat_at, b.started_at)) * 1000)::bigint + 5000"
            " AS finished_ms\n"
            "FROM benchmarks b WHERE b.run_uid = ${run:sqlstring}")
RUN_FIGURES = ("SELECT f.scenario, f.figure, f.unit, f.direction, f.median AS p50, f.p90, f.p99, f.min, f.max,\n"
               "  f.stdev, f.n\n"
               "FROM run_figures f WHERE f.run_uid = ${run:sqlstring}\n"
               "ORDER BY f.scenario, f.figure")
RUN_SCENARIOS = ("SELECT s.name AS scenario, s.status, s.error, s.signal, s.exit_code,\n"
                 "  extract(epoch from s.finished_at - s.started_at) AS seconds, s.flags::text AS flags\n"
                 f"FROM scenario_runs s WHERE s.benchmark_id = {RUN_ID}\n"
                 "ORDER BY s.scenario_run_id")
RUN_FACTS = ("SELECT 'run' AS section, k.key, k.value FROM benchmarks b,\n"
             "  LATERAL (VALUES ('run_uid', b.run_uid), ('status', b.status), ('branch', b.branch),\n"
             "    ('commit', b.commit_id), ('message', b.commit_message_full), ('model', b.model_id),\n"
             "    ('gpu', COALESCE(b.gpu_name, 'cpu')), ('error', b.error),\n"
             "    ('weight_bytes', b.weight_bytes::text),\n"
             "    ('memory_bandwidth_bytes_per_s', b.memory_bandwidth_bytes_per_s::text)) AS k(key, value)\n"
             "WHERE b.run_uid = ${run:sqlstring}\n"
             "UNION ALL\n"
             "SELECT 'config', c.key, c.value FROM benchmarks b, jsonb_each_text(b.config) AS c\n"
             "WHERE b.run_uid = ${run:sqlstring}\n"
             "UNION ALL\n"
             "SELECT 'environment', e.key, e.value FROM benchmarks b, jsonb_each_text(b.environment) AS e\n"
             "WHERE b.run_uid = ${run:sqlstring}")


# -- two runs ------------------------------------------------------------------------

COMPARE = ("SELECT h.scenario, h.figure, h.unit, h.direction, b.median AS base, h.median AS head,\n"
           "  100 * (h.median / NULLIF(b.median, 0) - 1) AS change_percent\n"
           "FROM run_figures h JOIN run_figures b\n"
           "  ON b.series_key = h.series_key AND b.figure = h.figure AND b.run_uid = ${base:sqlstring}\n"
           "WHERE h.run_uid = ${head:sqlstring}\n"
           "ORDER BY abs(100 * (h.median / NULLIF(b.median, 0) - 1)) DESC NULLS LAST, h.scenario, h.figure")
COMPARE_ONLY_ONE_SIDE = (
    "SELECT CASE WHEN x.run_uid = ${base:sqlstring} THEN 'base only' ELSE 'head only' END AS side,\n"
    "  x.scenario, x.figure\n"
    "FROM run_figures x\n"
    "WHERE x.run_uid IN (${base:sqlstring}, ${head:sqlstring}) AND NOT EXISTS (\n"
    "  SELECT 1 FROM run_figures y WHERE y.series_key = x.series_key AND y.figure = x.figure\n"
    "    AND y.run_uid IN (${base:sqlstring}, ${head:sqlstring}) AND y.run_uid <> x.run_uid)\n"
    "ORDER BY 1, 2, 3")
