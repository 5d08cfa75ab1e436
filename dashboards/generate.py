"""The Grafana dashboards as code, with Grafana's own SDK (grafana-foundation-sdk).

`python -m dashboards.generate` writes dashboards/json/{overview,run,compare}.json (what
the repo commits and Grafana provisions); `--check` writes nothing and exits 1 when the
committed files differ from what this code generates (a test runs it).

Stable uids, no numeric ids, the current dashboard schema. The SQL lives in queries.py.

Where the SDK cannot express what we need, we fill in plain JSON-able objects:
- it has no PostgreSQL (grafana-postgresql-datasource) query type, so `SqlQuery` is a
  Dataquery of ours with the fields that datasource reads (rawSql, format, editorMode);
- its AnnotationTarget has no rawSql, so SQL annotations carry a `SqlQuery` as target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import barchart, dashboard, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from benchmark.contracts.figures import FIGURES

from . import queries as q

OUT_DIR = Path(__file__).resolve().parent / "json"
DATASOURCE_UID = "commitbench-pg"
DATASOURCE_TYPE = "grafana-postgresql-datasource"
DS = model.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)
UIDS = {"overview": "commitbench-overview", "run": "commitbench-run", "compare": "commitbench-compare"}
SCHEMA_VERSION = 41  # Grafana 12.x; a newer Grafana migrates it forward on load
FAR_FUTURE_MS = "32503680000000"  # year 3000: "no click yet" for the run picker's `at`

UNITS = {"s": "s", "bytes": "bytes", "tokens/s": "suffix: tok/s", "bool": "percentunit", "count": "none",
         "ratio": "percentunit", "J": "joule"}


HIDDEN = [model.DynamicConfigValue(id_val="custom.hidden", value=True)]  # columns only data links use


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL datasource."""

    def __init__(self, ref_id: str, sql: str, fmt: str) -> None:
        self.ref_id, self.sql, self.fmt = ref_id, sql, fmt

    def to_json(self) -> dict[str, object]:
        return {"refId": self.ref_id, "datasource": DS, "editorMode": "code", "format": self.fmt,
                "rawQuery": True, "rawSql": self.sql}


class Sql(cogbuilder.Builder[SqlQuery]):
    def __init__(self, sql: str, fmt: str = "time_series", ref_id: str = "A") -> None:
        self._q = SqlQuery(ref_id, sql, fmt)

    def build(self) -> SqlQuery:
        return self._q


def _status_mappings() -> list[model.ValueMap]:
    r = model.ValueMappingResult
    return [model.ValueMap(options={
        "1": r(text="succeeded", color="green", index=0), "0": r(text="failed", color="red", index=1),
        "2": r(text="cancelled", color="orange", index=2), "3": r(text="running", color="blue", index=3),
        "4": r(text="skipped", color="text", index=4)})]


def _run_link(extra: str, title: str = "Open this run") -> dashboard.DashboardLink:
    return (dashboard.DashboardLink(title)
            .url(f"/d/{UIDS['run']}/run?${{repository:queryparam}}&${{gpu:queryparam}}&${{model:queryparam}}"
                 f"&${{branch:queryparam}}&{extra}"))


def _query_var(name: str, label: str, sql: str, multi: bool = False) -> dashboard.QueryVariable:
    v = (dashboard.QueryVariable(name).label(label).datasource(DS).query(sql)
         .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD).sort(model.VariableSort.ALPHABETICAL_ASC))
    if multi:  # All expands to every value: no custom "All" value
        v = v.multi(True).include_all(True)
    return v


def _identity_vars(d: dashboard.Dashboard, scenario: bool) -> dashboard.Dashboard:
    d = (d.with_variable(_query_var("repository", "Repository", q.REPOSITORIES))
         .with_variable(_query_var("branch", "Branch", q.BRANCHES, multi=True))
         .with_variable(_query_var("gpu", "GPU", q.GPUS))
         .with_variable(_query_var("model", "Model", q.MODELS)))
    if scenario:
        d = d.with_variable(_query_var("scenario", "Scenario", q.SCENARIOS, multi=True))
    return d


def _annotation(name: str, sql: str, color: str) -> dashboard.AnnotationQuery:
    a = dashboard.AnnotationQuery().name(name).datasource(DS).enable(True).icon_color(color)
    a._internal.target = SqlQuery("Anno", sql, "table")  # the SDK's AnnotationTarget has no rawSql
    return a


def _series(title: str, sql: str, unit: str, description: str = "", w: int = 12) -> timeseries.Panel:
    return (timeseries.Panel().title(title).description(description).datasource(DS)
            .with_target(Sql(sql)).unit(unit).span(w).height(8).show_points(common.VisibilityMode.ALWAYS)
            .point_size(6).span_nulls(False)
            .data_links([_run_link("var-at=${__value.time}", "Open the run of this commit")]))


def _figures(title: str, figures: list[str], stats: tuple[str, ...] = ("p50",), w: int = 12) -> timeseries.Panel:
    unit = UNITS[FIGURES[figures[0]].unit]
    if FIGURES[figures[0]].unit == "bool":
        stats = ("mean",)  # the share of repetitions that passed
    desc = "; ".join(f"{f}: {FIGURES[f].description} ({FIGURES[f].direction} is better)" for f in figures)
    return _series(title, q.figure_series(figures, stats), unit, desc, w)


def overview() -> dict:
    d = (dashboard.Dashboard("commitbench: overview").uid(UIDS["overview"]).tags(["commitbench"])
         .description("Every figure per commit, by repository, branch, GPU and model. Points sit at the commit "
                      "time; click one to open that run. Red annotations: failed or cancelled runs; purple: "
                      "change points found by `commitbench detect`; yellow: regression reports still open or "
                      "accepted (`commitbench reports`); orange: a change of configuration, torch, "
                      "transformers, CUDA, driver or commitbench since the run before (a step there may be "
                      "the upgrade, not the commit).")
         .time("now-30d", "now").timezone("utc").tooltip(model.DashboardCursorSync.CROSSHAIR).readonly())
    d = _identity_vars(d, scenario=True)
    d = (d.with_variable(dashboard.CustomVariable("metric").label("Figure").values(",".join(FIGURES))
                         .current(model.VariableOption(text="time_to_next_token_secs",
                                                       value="time_to_next_token_secs", selected=True)))
         .with_variable(dashboard.CustomVariable("last").label("Last N commits").values("10,20,50,100")
                        .current(model.VariableOption(text="20", value="20", selected=True))))
    d = (d.annotation(_annotation("Failed and cancelled runs", q.failed_runs_annotation(), "red"))
         .annotation(_annotation("Change points", q.change_points_annotation(), "purple"))
         .annotation(_annotation("Regression reports", q.reports_annotation(), "yellow"))
         .annotation(_annotation("Harness and environment changes", q.env_changes_annotation(), "orange"))
         .link(dashboard.DashboardLink("Run").url(f"/d/{UIDS['run']}/run").include_vars(True).keep_time(True))
         .link(dashboard.DashboardLink("Compare").url(f"/d/{UIDS['compare']}/compare").include_vars(True)))

    d = d.with_row(dashboard.Row("Status"))
    d = d.with_panel(statetimeline.Panel().title("Run status per commit").datasource(DS)
                     .description("Every run: green succeeded, red failed, orange cancelled, blue running; "
                                  "a scenario the libraries or hardware cannot run: grey skipped.")
                     .with_target(Sql(q.run_status())).mappings(_status_mappings()).span(12).height(5)
                     .show_value(common.VisibilityMode.NEVER))
    d = d.with_panel(statetimeline.Panel().title("Scenario status per commit").datasource(DS)
                     .with_target(Sql(q.scenario_status())).mappings(_status_mappings()).span(12).height(5)
                     .show_value(common.VisibilityMode.NEVER))
    d = d.with_panel(table.Panel().title("Latest runs").datasource(DS).span(24).height(8)
                     .description("validity: INVALID runs (their device samples broke a validity rule, named "
                                  "with the reason) are kept and shown, and left out of compare and detect.")
                     .with_target(Sql(q.latest_runs(), "table"))
                     .data_links([_run_link("var-at=${__data.fields.at_ms}"
                                            "&from=${__data.fields.started_ms}&to=${__data.fields.finished_ms}")])
                     .override_by_regexp("^(at|started|finished)_ms$", HIDDEN))

    d = d.with_row(dashboard.Row("Latency"))
    d = (d.with_panel(_figures("Time to first token", ["time_to_first_token_secs", "eager_time_to_first_token_secs"]))
         .with_panel(_figures("Time to next token p50 / p90 / p99",
                              ["time_to_next_token_secs", "eager_time_to_next_token_secs"], ("p50", "p90", "p99")))
         .with_panel(_series("Compiled / eager speedup (TTNT p50)", q.speedup(), "x",
                             "eager TTNT p50 / compiled TTNT p50 of the same run; above 1: compile helps"))
         .with_panel(_figures("Generate time", ["eager_generate_time_secs", "compiled_generate_time_secs"]))
         .with_panel(_figures("Tokens per second", ["decode_tokens_per_sec", "eager_decode_tokens_per_sec",
                                                    "compiled_generate_tokens_per_sec",
                                                    "eager_generate_tokens_per_sec"]))
         .with_panel(_figures("Fraction of the decode roofline", ["decode_roofline_fraction"])))
    d = d.with_row(dashboard.Row("Compile, load, memory, correctness, energy"))
    d = (d.with_panel(_figures("Compile time (first calls)", ["compile_prefill_time_secs",
                                                              "compile_decode_step_time_secs",
                                                              "first_compile_generate_time_secs"]))
         .with_panel(_figures("Recompilations and graph breaks", ["recompiles_during_measurement", "graph_breaks"]))
         .with_panel(_figures("Model load time", ["model_load_time"]))
         .with_panel(_figures("Peak memory", ["peak_memory_allocated_bytes", "peak_memory_reserved_bytes",
                                              "peak_rss_bytes"]))
         .with_panel(_figures("Correctness: compiled tokens == eager", ["tokens_match_eager",
                                                                         "decode_matches_generate"]))
         .with_panel(_figures("Energy per generated token (GPU)", ["energy_per_token_joules"])))
    d = d.with_row(dashboard.Row("Any figure: $metric"))
    d = (d.with_panel(_series("$metric p50 / p90 / p99", q.selected_metric(), "none"))
         .with_panel(barchart.Panel().title("$metric p50, last $last commits").datasource(DS).span(12).height(8)
                     .with_target(Sql(q.last_commits(), "table")).x_field("commit")
                     .with_transformation(model.DataTransformerConfig(id_val="groupingToMatrix", options={
                         "columnField": "scenario", "rowField": "commit", "valueField": "p50"}))))
    return _json(d)


def run() -> dict:
    d = (dashboard.Dashboard("commitbench: run").uid(UIDS["run"]).tags(["commitbench"])
         .description("One run: the device over time with its phases, the figures, configuration and environment. "
                      "Links from the overview set the time range to the run.")
         .time("now-7d", "now").timezone("utc").tooltip(model.DashboardCursorSync.CROSSHAIR).readonly())
    d = _identity_vars(d, scenario=False)
    d = (d.with_variable(dashboard.TextBoxVariable("at").label("At or before (epoch ms)")
                         .default_value(FAR_FUTURE_MS).hide(model.VariableHide.HIDE_VARIABLE))
         .with_variable(_query_var("run", "Run", q.runs_variable("at")).sort(model.VariableSort.DISABLED)))
    d = d.annotation(_annotation("Phases", q.phases_annotation(), "#8ab8ff"))
    # A point on the overview knows its commit time, not when its run ran: this row's link
    # sets the time range to the run's own span.
    span = "from=${__data.fields.started_ms}&to=${__data.fields.finished_ms}"
    d = d.with_panel(table.Panel().title("This run").datasource(DS).span(24).height(4)
                     .with_target(Sql(q.RUN_SPAN, "table"))
                     .description("Click the row to show the device samples of this run's time span.")
                     .data_links([dashboard.DashboardLink("Show this run's time span")
                                  .url(f"/d/{UIDS['run']}/run?${{__all_variables}}&{span}")]).override_by_regexp("^(started|finished)_ms$", HIDDEN))
    d = d.with_row(dashboard.Row("Device during the run"))
    for column, (title, unit) in q.DEVICE_FIELDS.items():
        d = d.with_panel(timeseries.Panel().title(title).datasource(DS).with_target(Sql(q.device_samples(column)))
                         .unit(unit).span(12).height(7))
    d = d.with_row(dashboard.Row("Figures, scenarios, configuration"))
    d = (d.with_panel(table.Panel().title("Figures").datasource(DS).with_target(Sql(q.RUN_FIGURES, "table"))
                      .span(24).height(12))
         .with_panel(table.Panel().title("Scenarios").datasource(DS).with_target(Sql(q.RUN_SCENARIOS, "table"))
                     .span(24).height(6))
         .with_panel(table.Panel().title("Run, configuration and environment").datasource(DS)
                     .with_target(Sql(q.RUN_FACTS, "table")).span(24).height(12)))
    return _json(d)


def compare() -> dict:
    d = (dashboard.Dashboard("commitbench: compare").uid(UIDS["compare"]).tags(["commitbench"])
         .description("Two runs side by side: the change of every figure's median, in %. Same series only "
                      "(model, device, scenario and its parameters); what only one side has is listed below.")
         .time("now-30d", "now").timezone("utc").readonly())
    d = _identity_vars(d, scenario=False)
    d = (d.with_variable(_query_var("base", "Base run", q.runs_variable(None)).sort(model.VariableSort.DISABLED))
         .with_variable(_query_var("head", "Head run", q.runs_variable(None)).sort(model.VariableSort.DISABLED)))
    d = (d.with_panel(table.Panel().title("Change per figure (head / base - 1)").datasource(DS).span(24).height(16)
                      .with_target(Sql(q.COMPARE, "table"))
                      .override_by_name("change_percent", [
                          model.DynamicConfigValue(id_val="unit", value="percent"),
                          model.DynamicConfigValue(id_val="decimals", value=1)]))
         .with_panel(table.Panel().title("Figures only one side has").datasource(DS).span(24).height(8)
                     .with_target(Sql(q.COMPARE_ONLY_ONE_SIDE, "table"))))
    return _json(d)


DASHBOARDS = {"overview": overview, "run": run, "compare": compare}


def _json(d: dashboard.Dashboard) -> dict:
    """The SDK's JSON, less what must not be in a provisioned file: numeric panel ids (rows
    get 0, Grafana assigns its own) and the SDK's placeholder variable ids; and the schema
    version of current Grafana (the SDK writes 36, which Grafana would migrate on load)."""
    out = json.loads(json.dumps(d.build(), cls=JSONEncoder))
    for panel in out.get("panels", []):
        panel.pop("id", None)
    for variable in out.get("templating", {}).get("list", []):
        variable.pop("id", None)
    out["schemaVersion"] = SCHEMA_VERSION
    return out


def render_all() -> dict[str, str]:
    """file name -> the JSON text Grafana provisions."""
    return {f"{name}.json": json.dumps(build(), indent=2, sort_keys=True) + "\n" for name, build in DASHBOARDS.items()}


def write(out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_all().items():
        (out_dir / name).write_text(text)
        paths.append(out_dir / name)
    return paths


def differences(out_dir: Path = OUT_DIR) -> list[str]:
    """Files that are missing or differ from what this code generates."""
    wanted = render_all()
    found = {p.name for p in out_dir.glob("*.json")} if out_dir.is_dir() else set()
    out = [f"{n}: missing" for n in sorted(set(wanted) - found)]
    out += [f"{n}: differs" for n in sorted(set(wanted) & found) if (out_dir / n).read_text() != wanted[n]]
    out += [f"{n}: not generated by this code" for n in sorted(found - set(wanted))]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dashboards.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if dashboards/json differs")
    args = p.parse_args(argv)
    if args.check:
        diff = differences()
        for line in diff:
            print(f"dashboards/json/{line}: run `python -m dashboards.generate`", file=sys.stderr)
        return 1 if diff else 0
    for path in write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
