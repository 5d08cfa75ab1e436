"""tests/grafana_sql.py (a test helper: Grafana's query expansion) against Grafana's own test cases.

Every case names the Grafana test its input and expected output come from, as
`repo path: "test name"` (grafana/grafana unless another repository is named). The few
cases marked "derived" have no Grafana test; they say which source line or Go rule gives
the expected string (Go's were checked with Go 1.19's fmt/strconv/time).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from grafana_sql import (
    ALL_VALUE,
    Expansion,
    Fill,
    MacroError,
    TimeRange,
    Variable,
    _format_interval,
    _interpolate_global,
    _parse_interval_ns,
    _sql_default,
    _strip_sql_comments,
    expand,
    expand_macros,
    interpolate,
    render,
)

UTC = timezone.utc
S = 10**9  # nanoseconds
H = 3600 * S


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# macros_test.go: "Given a time range between 2018-04-12 00:00 and 2018-04-12 00:05"
TR = TimeRange(utc(2018, 4, 12, 18, 0, 0), utc(2018, 4, 12, 18, 5, 0))
NOW = utc(2018, 4, 12, 18, 0, 0)  # the wall clock for '1M' and '1y' intervals


def be(sql: str, interval_s: float = 60, tr: TimeRange = TR, **kw) -> str:
    return expand_macros(sql, tr, interval_s, now=NOW, **kw)


# --- backend: pkg/tsdb/grafana-postgresql-datasource/macros_test.go, TestMacroEngine --

@pytest.mark.parametrize(
    "case, sql, expected",
    [
        ("interpolate __time function", "select $__time(time_column)", 'select time_column AS "time"'),
        (
            "interpolate __time function wrapped in aggregation",
            "select min($__time(time_column))",
            'select min(time_column AS "time")',
        ),
        (
            "interpolate __timeFilter function",
            "WHERE $__timeFilter(time_column)",
            "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'",
        ),
        ("interpolate __timeFrom function", "select $__timeFrom()", "select '2018-04-12T18:00:00Z'"),
        ("interpolate __timeTo function", "select $__timeTo()", "select '2018-04-12T18:05:00Z'"),
        (
            "interpolate __timeGroup function pre 5.3 compatibility",
            "SELECT $__timeGroup(time_column,'5m'), value",
            'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value',
        ),
        (
            "interpolate __timeGroup function pre 5.3 compatibility",
            "SELECT $__timeGroup(time_column,'5m') as time, value",
            "SELECT floor(extract(epoch from time_column)/300)*300 as time, value",
        ),
        (
            "interpolate __timeGroup function",
            "SELECT $__timeGroup(time_column,'5m')",
            "SELECT floor(extract(epoch from time_column)/300)*300",
        ),
        (
            "interpolate __timeGroup function",
            "SELECT $__timeGroupAlias(time_column,'5m')",
            'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"',
        ),
        (
            "interpolate __timeGroup function with spaces between args",
            "$__timeGroup(time_column , '5m')",
            "floor(extract(epoch from time_column)/300)*300",
        ),
        (
            "interpolate __timeGroup function with spaces between args",
            "$__timeGroupAlias(time_column , '5m')",
            'floor(extract(epoch from time_column)/300)*300 AS "time"',
        ),
        (
            "interpolate __unixEpochFilter function",
            "select $__unixEpochFilter(time)",
            "select time >= 1523556000 AND time <= 1523556300",
        ),
        (
            "interpolate __unixEpochNanoFilter function",
            "select $__unixEpochNanoFilter(time)",
            "select time >= 1523556000000000000 AND time <= 1523556300000000000",
        ),
        ("interpolate __unixEpochNanoFrom function", "select $__unixEpochNanoFrom()", "select 1523556000000000000"),
        ("interpolate __unixEpochNanoTo function", "select $__unixEpochNanoTo()", "select 1523556300000000000"),
        (
            "interpolate __unixEpochGroup function",
            "SELECT $__unixEpochGroup(time_column+time_adjustment,'5m')",
            "SELECT floor((time_column+time_adjustment)/300)*300",
        ),
        (
            "interpolate __unixEpochGroup function",
            "SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')",
            'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"',
        ),
    ],
)
def test_macro_engine(case, sql, expected):
    # grafana macros_test.go TestMacroEngine: the named t.Run
    assert be(sql) == expected, case


@pytest.mark.parametrize(
    "case, sql, expected",
    [
        (
            "interpolate __timeGroup function with TimescaleDB enabled",
            "GROUP BY $__timeGroup(time_column,'5m')",
            "GROUP BY time_bucket('300.000s',time_column)",
        ),
        (
            "interpolate __timeGroup function with spaces between args and TimescaleDB enabled",
            "GROUP BY $__timeGroup(time_column , '5m')",
            "GROUP BY time_bucket('300.000s',time_column)",
        ),
        (
            "interpolate __timeGroup function with large time range as an argument and TimescaleDB enabled",
            "GROUP BY $__timeGroup(time_column , '12d')",
            "GROUP BY time_bucket('1036800.000s',time_column)",
        ),
        (
            "interpolate __timeGroup function with small time range as an argument and TimescaleDB enabled",
            "GROUP BY $__timeGroup(time_column , '20ms')",
            "GROUP BY time_bucket('0.020s',time_column)",
        ),
    ],
)
def test_macro_engine_timescaledb(case, sql, expected):
    # grafana macros_test.go TestMacroEngine: the named t.Run (engineTS)
    assert be(sql, timescaledb=True) == expected, case


@pytest.mark.parametrize(
    "tr, filter_, epoch, nano",
    [
        # macros_test.go: "Given a time range between 1960-02-01 07:00 and 1965-02-03 08:00"
        (
            TimeRange(utc(1960, 2, 1, 7), utc(1965, 2, 3, 8)),
            "WHERE time_column BETWEEN '1960-02-01T07:00:00Z' AND '1965-02-03T08:00:00Z'",
            "select time >= -312915600 AND time <= -154886400",
            "select time >= -312915600000000000 AND time <= -154886400000000000",
        ),
        # macros_test.go: "Given a time range between 1960-02-01 07:00 and 1980-02-03 08:00"
        (
            TimeRange(utc(1960, 2, 1, 7), utc(1980, 2, 3, 8)),
            "WHERE time_column BETWEEN '1960-02-01T07:00:00Z' AND '1980-02-03T08:00:00Z'",
            "select time >= -312915600 AND time <= 318412800",
            "select time >= -312915600000000000 AND time <= 318412800000000000",
        ),
    ],
)
def test_macro_engine_before_1970(tr, filter_, epoch, nano):
    # macros_test.go: "interpolate __timeFilter / __unixEpochFilter / __unixEpochNanoFilter function"
    assert be("WHERE $__timeFilter(time_column)", tr=tr) == filter_
    assert be("select $__unixEpochFilter(time)", tr=tr) == epoch
    assert be("select $__unixEpochNanoFilter(time)", tr=tr) == nano


def test_macro_engine_half_seconds_use_rfc3339nano():
    # macros_test.go: "Given a time range between 1960-02-01 07:00:00.5 and 1980-02-03 08:00:00.5"
    tr = TimeRange(utc(1960, 2, 1, 7, 0, 0, 500000), utc(1980, 2, 3, 8, 0, 0, 500000))
    assert (
        be("WHERE $__timeFilter(time_column)", tr=tr)
        == "WHERE time_column BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'"
    )


# --- backend: sqleng.Interpolate, sqleng/sql_engine_test.go TestSQLEngine -------------


@pytest.mark.parametrize(
    "interval_ns, expected",
    [
        (10 * 60 * S, "10m $__timeGroupAlias(time,10m) 600000"),  # "interpolate 10 minutes $__interval"
        (4 * S, "4s $__timeGroupAlias(time,4s) 4000"),  # "interpolate 4seconds $__interval"
        (200 * 10**6, "200ms $__timeGroupAlias(time,200ms) 200"),  # "interpolate 200 milliseconds $__interval"
    ],
)
def test_global_interval_substitution(interval_ns, expected):
    # grafana pkg/tsdb/grafana-postgresql-datasource/sqleng/sql_engine_test.go:
    # "Handle interpolating $__interval and $__interval_ms"
    text = "$__interval $__timeGroupAlias(time,$__interval) $__interval_ms"
    assert _interpolate_global(text, TR, interval_ns) == expected


def test_global_substitution_then_macros():
    # sqleng/sql_engine_test.go: "interpolate __unixEpochFrom function", "... __unixEpochTo function"
    assert be("select $__unixEpochFrom()") == "select 1523556000"
    assert be("select $__unixEpochTo()") == "select 1523556300"
    # derived: the first case above, then macros.go's __timeGroupAlias on its output
    assert (
        be("$__interval $__timeGroupAlias(time,$__interval) $__interval_ms", interval_s=600)
        == '10m floor(extract(epoch from time)/600)*600 AS "time" 600000'
    )


# --- backend: comments. macros_test.go TestStripSQLComments, TestInterpolateSQLCommenter


@pytest.mark.parametrize(
    "case, sql, expected",
    [
        ("line comment stripped", "SELECT 1 -- a comment", "SELECT 1 "),
        ("block comment stripped", "SELECT /* a comment */ 1", "SELECT  1"),
        ("multiline block comment stripped", "SELECT /*\n  multiline\n  comment\n*/ 1", "SELECT  1"),
        (
            "line comment inside single-quoted string preserved",
            "SELECT '-- not a comment' AS label",
            "SELECT '-- not a comment' AS label",
        ),
        (
            "block comment inside single-quoted string preserved",
            "SELECT '/* not a comment */' AS label",
            "SELECT '/* not a comment */' AS label",
        ),
        (
            "line comment inside double-quoted identifier preserved",
            'SELECT "col -- name" FROM t',
            'SELECT "col -- name" FROM t',
        ),
        (
            "block comment inside double-quoted identifier preserved",
            'SELECT "col /* name */" FROM t',
            'SELECT "col /* name */" FROM t',
        ),
        (
            "doubled-quote escape inside single-quoted string",
            "SELECT 'it''s fine -- not a comment' AS v",
            "SELECT 'it''s fine -- not a comment' AS v",
        ),
        (
            "doubled-quote escape inside double-quoted identifier",
            'SELECT "col ""-- name""" FROM t',
            'SELECT "col ""-- name""" FROM t',
        ),
        (
            "mixed: -- inside string then real -- comment",
            "SELECT '-- in string' AS a -- real comment",
            "SELECT '-- in string' AS a ",
        ),
        (
            "mixed: block comment inside string then real block comment",
            "SELECT '/* in string */' AS a /* real comment */",
            "SELECT '/* in string */' AS a ",
        ),
        ("no-op: query with no comments", "SELECT col FROM t WHERE col > 1", "SELECT col FROM t WHERE col > 1"),
        ("newline after line comment is preserved", "SELECT 1 -- comment\nFROM t", "SELECT 1 \nFROM t"),
        (
            "line comment inside empty dollar-quoted string preserved",
            "SELECT $$ -- not a comment $$",
            "SELECT $$ -- not a comment $$",
        ),
        (
            "block comment inside empty dollar-quoted string preserved",
            "SELECT $$ /* not a comment */ $$",
            "SELECT $$ /* not a comment */ $$",
        ),
        (
            "line comment inside tagged dollar-quoted string preserved",
            "SELECT $body$ -- not a comment $body$",
            "SELECT $body$ -- not a comment $body$",
        ),
        ("grafana macro not confused with dollar-quote", "SELECT $__timeFrom() -- comment", "SELECT $__timeFrom() "),
        ("positional parameter not confused with dollar-quote", "SELECT $1 -- comment", "SELECT $1 "),
        (
            "strips block comment shaped like a tag but containing a macro",
            "SELECT 1 /*range='$__timeFilter(t)'*/",
            "SELECT 1 ",
        ),
    ],
)
def test_strip_sql_comments(case, sql, expected):
    # grafana macros_test.go TestStripSQLComments (446b3e1f). Its two "preserves ...
    # SQLCommenter tag" cases are newer behaviour (PR #127894) we deliberately do not mirror.
    assert _strip_sql_comments(sql) == expected, case


def test_comments_are_stripped_before_macros():
    # macros_test.go TestInterpolateSQLCommenter (query.Interval 10m):
    # "strips a tag that embeds the interval macro"
    assert be("SELECT 1 /*i='$__interval'*/", interval_s=600) == "SELECT 1 "
    # "strips a tag whose macro completes across the comment boundary"
    assert be("SELECT 1 /*k='$__timeFilter(t'*/ WHERE (x = 1)", interval_s=600) == "SELECT 1  WHERE (x = 1)"
    # derived: TestStripSQLComments "grafana macro not confused with dollar-quote", then __timeFrom
    assert be("SELECT $__timeFrom() -- comment") == "SELECT '2018-04-12T18:00:00Z' "
    # derived: an unknown macro inside a comment is never evaluated
    assert be("SELECT 1 -- $__nothing(x)") == "SELECT 1 "


def test_unterminated_block_comment_keeps_only_the_last_character():
    # derived from macros.go stripSQLComments: the /* loop stops one short of the end
    assert _strip_sql_comments("SELECT 1 /* oops") == "SELECT 1 s"


# --- backend: end-to-end queries, postgres_snapshot_test.go testdata -----------------

FILL_EXECUTED = (
    'SELECT floor(extract(epoch from "time")/300)*300 AS "time",c,avg(v) AS "v" FROM tbl GROUP BY 1,2 ORDER BY 1,2'
)


@pytest.mark.parametrize(
    "testdata, sql, executed, fill",
    [
        (
            "time_series/fill_value.sql",
            'SELECT $__timeGroup("time",5m,27),c,avg(v) AS "v" FROM tbl GROUP BY 1,2 ORDER BY 1,2',
            FILL_EXECUTED,
            Fill("value", 300.0, 27.0),
        ),
        (
            "time_series/fill_null.sql",
            'SELECT $__timeGroup("time",5m,NULL),c,avg(v) AS "v" FROM tbl GROUP BY 1,2 ORDER BY 1,2',
            FILL_EXECUTED,
            Fill("null", 300.0),
        ),
        (
            "time_series/fill_previous.sql",
            'SELECT $__timeGroup("time",5m,previous),c,avg(v) AS "v" FROM tbl GROUP BY 1,2 ORDER BY 1,2',
            FILL_EXECUTED,
            Fill("previous", 300.0),
        ),
        (
            "table/time_group_compat_case1.sql",
            'SELECT $__timeGroup("t",5m,NULL),avg(v) FROM tbl GROUP BY 1',
            'SELECT floor(extract(epoch from "t")/300)*300 AS "time",avg(v) FROM tbl GROUP BY 1',
            Fill("null", 300.0),
        ),
        (
            "table/time_group_compat_case2.sql",
            'SELECT $__timeGroup("t",5m,NULL) ,avg(v) FROM tbl GROUP BY 1',
            'SELECT floor(extract(epoch from "t")/300)*300 ,avg(v) FROM tbl GROUP BY 1',
            Fill("null", 300.0),
        ),
    ],
)
def test_snapshot_queries(testdata, sql, executed, fill):
    # grafana pkg/tsdb/grafana-postgresql-datasource/postgres_snapshot_test.go: the query on the
    # first line of testdata/<testdata>, the executedQueryString of its .golden.jsonc, and the
    # fill its golden rows show (27, null, the previous value).
    assert expand(sql, TR, 60, now=NOW) == Expansion(executed, fill)


def test_fill_is_none_without_a_third_argument_and_the_last_one_wins():
    # derived from macros.go: SetupFillmode runs only when len(args) == 3, each time it is seen
    assert expand("SELECT $__timeGroup(t,'5m')", TR, 60).fill is None
    assert expand("SELECT $__timeGroup(t,'5m',1,2)", TR, 60).fill is None  # a 4th argument: no fill, no error
    two = expand("SELECT $__timeGroup(t,'5m',NULL) UNION SELECT $__unixEpochGroup(u,'1h',previous)", TR, 60)
    assert two.fill == Fill("previous", 3600.0)


@pytest.mark.parametrize("arg", ["null", "Null", "nil", "1.5.5", "1e", "", "0x1"])
def test_fill_value_must_parse_as_go_float(arg):
    # derived from sqleng.SetupFillmode: only "NULL" and "previous" are words; the rest is ParseFloat
    with pytest.raises(MacroError, match="^error parsing fill value"):
        expand(f"SELECT $__timeGroup(t,'5m',{arg})", TR, 60)


# --- backend: intervals (grafana-plugin-sdk-go backend/gtime/gtime_test.go) ------------

@pytest.mark.parametrize(
    "ns, expected",
    [(61 * S, "1m"), (30 * 10**6, "30ms"), (23 * H, "23h"), (24 * H, "1d"), (367 * 24 * H, "1y")],
)
def test_format_interval(ns, expected):
    # grafana-plugin-sdk-go backend/gtime/gtime_test.go TestFormatInterval
    assert _format_interval(ns) == expected


@pytest.mark.parametrize(
    "text, ns",
    [
        ("1d", 24 * H),  # TestParseInterval
        ("1w", 168 * H),  # TestParseInterval
        ("2w", 2 * 168 * H),  # TestParseInterval
        ("1M", 30 * 24 * H),  # TestParseInterval: the days of NOW's month (April)
        ("1y", 365 * 24 * H),  # TestParseInterval: the days from NOW to a year later
        ("30s", 30 * S),  # TestParse "simple duration seconds"
        ("5m", 300 * S),  # TestParse "simple duration minutes"
        ("1m30s", 90 * S),  # TestParse "simple duration minutes and seconds"
        ("1h30m", 90 * 60 * S),  # TestParse "complex duration"
        ("7d", 7 * 24 * H),  # TestParse "days unit"
    ],
)
def test_parse_interval(text, ns):
    assert _parse_interval_ns(text, NOW) == ns


@pytest.mark.parametrize("text", ["invalid-duration", "invalid", "abc1d", "", "a5d", "5a3d"])
def test_parse_interval_errors(text):
    # gtime_test.go TestParseInterval "invalid-duration"; TestParse "invalid duration",
    # "invalid number", "empty string", "non-numeric prefix with date unit", "mixed characters"
    with pytest.raises(ValueError):
        _parse_interval_ns(text, NOW)


def test_months_are_calendar_months_from_now():
    # derived from gtime.ParseInterval: now.AddDate(0, 1, 0).Sub(now) in UTC (Go: Jan 31 -> Mar 2)
    assert _parse_interval_ns("1M", utc(2024, 1, 31, 10)) == 31 * 24 * H
    assert _parse_interval_ns("1y", utc(2024, 2, 29, 10)) == 366 * 24 * H


@pytest.mark.parametrize(
    "interval, divisor",
    [
        ("'12d'", "1.0368e+06"),  # Go's %v prints a float64 >= 1e6 with an exponent
        ("'1M'", "2.592e+06"),  # 30 days from NOW (April)
        ("'1w'", "604800"),
        ("'20ms'", "0.02"),
        ("'1.5s'", "1.5"),
        ("'90s'", "90"),
        ("'10us'", "1e-05"),  # below 1e-4 Go switches to an exponent too
        ("$__interval", "300"),  # sqleng.Interpolate runs first: $__interval is "5m" here
    ],
)
def test_time_group_prints_seconds_like_go(interval, divisor):
    # derived: macros.go formats interval.Seconds() with %v (strconv 'g', shortest digits,
    # exponent when < -4 or >= 6); outputs checked against Go 1.19
    assert be(f"$__timeGroup(t,{interval})", interval_s=300) == f"floor(extract(epoch from t)/{divisor})*{divisor}"


# --- backend: errors and traps ----------------------------------------------------------


@pytest.mark.parametrize(
    "sql, message",
    [
        ("SELECT $__nope(x)", 'unknown macro "__nope"'),
        ("SELECT $__TimeFilter(x)", 'unknown macro "__TimeFilter"'),  # names are case-sensitive
        ("SELECT $__timeGroup(t)", "macro __timeGroup needs time column and interval and optional fill value"),
        ("SELECT $__timeGroupAlias(t)", "macro __timeGroup needs time column and interval and optional fill value"),
        (
            "SELECT $__unixEpochGroup(t)",
            "macro __unixEpochGroup needs time column and interval and optional fill value",
        ),
        ("SELECT $__timeGroup(t,'5x')", "error parsing interval '5x'"),
        ("SELECT $__timeGroup(t, $__interval_ms)", "error parsing interval 300000"),  # a bare number has no unit
        ("SELECT $__timeGroup(t,\n'5m')", "error parsing interval \n'5m'"),  # only spaces are trimmed
        ("SELECT $__unixEpochFrom( )", 'unknown macro "__unixEpochFrom"'),  # only the exact text is global
        ("SELECT $__a(x), $__b(y)", 'unknown macro "__a"'),  # the first error is the one reported
    ],
)
def test_grafana_errors(sql, message):
    # derived from macros.go evaluateMacro's fmt.Errorf texts and sqleng.Interpolate's exact texts
    with pytest.raises(MacroError) as e:
        be(sql, interval_s=300)
    assert str(e.value) == message


def test_trap_macro_arguments_cannot_contain_parentheses():
    # The regex \$([_a-zA-Z0-9]+)\(([^\)]*)\) ends a macro at the first ')' (same trap as
    # grafana issue #18765 for MSSQL): the function call is cut and the SQL is broken.
    assert (
        be("WHERE $__timeFilter(date_trunc('day', t))")
        == "WHERE date_trunc('day' BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z')"
    )
    with pytest.raises(MacroError, match="^error parsing interval b$"):
        be("SELECT $__timeGroup(coalesce(a,b),'5m')")


def test_trap_time_group_alias_decided_by_first_occurrence():
    # derived from macros.go: strings.Index(sql, groups[0]) finds the FIRST occurrence of the
    # same macro text, so a ',' after it makes every copy an alias (broken GROUP BY) ...
    assert be("SELECT $__timeGroup(t,'5m'), v FROM x GROUP BY $__timeGroup(t,'5m')") == (
        'SELECT floor(extract(epoch from t)/300)*300 AS "time", v FROM x '
        'GROUP BY floor(extract(epoch from t)/300)*300 AS "time"'
    )
    # ... and without it, none, even a later copy that is followed by ','.
    assert be("SELECT $__timeGroup(t,'5m') AS time FROM x GROUP BY $__timeGroup(t,'5m'), v") == (
        "SELECT floor(extract(epoch from t)/300)*300 AS time FROM x GROUP BY floor(extract(epoch from t)/300)*300, v"
    )


def test_trap_macros_inside_quotes_are_still_expanded():
    # derived: the macro regex does not know about quotes; $__timeFrom() already quotes
    assert be("WHERE t > '$__timeFrom()'") == "WHERE t > ''2018-04-12T18:00:00Z''"


def test_trap_interval_is_a_plain_text_replacement():
    # derived from sqleng.Interpolate: strings.ReplaceAll, so any text starting with it changes
    assert be("SELECT '$__interval', $__intervalx, '$__interval_ms'", interval_s=300) == "SELECT '5m', 5mx, '300000'"


# --- frontend: the PostgreSQL datasource's interpolateVariable --------------------------

@pytest.mark.parametrize(
    "case, value, flags, expected",
    [
        ("Case 1: Multi-value enabled, single value selected", "value1", (True, False), "value1"),
        ("Case 1: Multi-value enabled, single value selected", "O'Brien", (True, False), "O''Brien"),
        ("Case 2: should return quoted, comma-separated values", ("value1", "value2", "value3"), (True, False),
         "'value1','value2','value3'"),
        ("Case 2: should escape single quotes in array values", ("O'Brien", "Smith", "D'Angelo"), (True, False),
         "'O''Brien','Smith','D''Angelo'"),
        ("Case 2: should handle empty array", (), (True, False), ""),
        ("Case 3: Include all enabled, single value selected", "O'Brien", (False, True), "O''Brien"),
        ("Case 4: should handle All option with special characters", ("test'1", "test2", "test'3"), (False, True),
         "'test''1','test2','test''3'"),
        ("Case 5: No include all, no multi-value, single value selected", "O'Brien", (False, False), "O''Brien"),
        ("Case 5: should handle empty string", "", (False, False), ""),
        ("Case 6: Both include all and multi-value enabled, single value selected", "value1", (True, True), "value1"),
        ("Case 7: should handle All option with special characters", ("it's", "can't", "won't"), (True, True),
         "'it''s','can''t','won''t'"),
        ("Case 8: should handle single item array", ("value1",), (True, True), "'value1'"),
        ("Case 8: should handle array with single quote escaping", ("a", "b'c", "d"), (True, True), "'a','b''c','d'"),
    ],
)
def test_interpolate_variable(case, value, flags, expected):
    # grafana packages/grafana-sql/src/datasource/variable-interpolation.test.ts (2a14b0ed), the
    # same rule as grafana-postgresql-datasource/datasource.ts's own interpolateVariable
    multi, include_all = flags
    assert _sql_default(value, multi=multi, include_all=include_all) == expected, case


@pytest.mark.parametrize(
    "case, value, flags, expected",
    [
        ("and value is a string", "abc", (False, False), "abc"),
        ("and value is an array of strings", ("a", "b", "c"), (False, False), "'a','b','c'"),
        ("and variable allows multi-value and is a string", "abc", (True, False), "'abc'"),
        ("and variable contains single quote", "a'bc", (True, False), "'a''bc'"),
        ("and variable contains single quote", "a'b'c", (True, False), "'a''b''c'"),
        ("and variable allows all and is a string", "abc", (False, True), "'abc'"),
    ],
)
def test_interpolate_variable_legacy(case, value, flags, expected):
    # grafana public/app/plugins/datasource/grafana-postgresql-datasource/datasource.test.ts
    # (b05d5ba8, before PR #114058): "When interpolating variables"
    multi, include_all = flags
    assert _sql_default(value, multi=multi, include_all=include_all, legacy=True) == expected, case


# --- frontend: whole queries, grafana-postgresql-datasource/interpolationTruthTable.test.ts --


def V(name, current, **kw) -> Variable:  # noqa: N802 - reads like Grafana's makeVariable
    return Variable(name, current, **kw)


TRUTH = [
    ("WHERE equals single (unquoted)", "SELECT * FROM host_status WHERE host = $host",
     [V("host", ["server01"])], "SELECT * FROM host_status WHERE host = server01"),
    ("WHERE equals single with manual quotes", "SELECT * FROM host_status WHERE host = '$host'",
     [V("host", ["server01"])], "SELECT * FROM host_status WHERE host = 'server01'"),
    ("WHERE equals numeric", "SELECT * FROM latency WHERE latency_ms < $threshold",
     [V("threshold", ["150"])], "SELECT * FROM latency WHERE latency_ms < 150"),
    ("WHERE IN multi (unquoted)", "SELECT * FROM host_status WHERE host IN ($host)",
     [V("host", ["srv1", "srv2"], multi=True)], "SELECT * FROM host_status WHERE host IN ('srv1','srv2')"),
    ("WHERE IN multi (unquoted) with sqlstring formatter",
     "SELECT * FROM host_status WHERE host IN (${host:sqlstring})",
     [V("host", ["srv1", "srv2"], multi=True)], "SELECT * FROM host_status WHERE host IN ('srv1','srv2')"),
    ("WHERE IN multi with manual quotes", "SELECT * FROM host_status WHERE host IN ('$host')",
     [V("host", ["srv1", "srv2"], multi=True)], "SELECT * FROM host_status WHERE host IN (''srv1','srv2'')"),
    ("WHERE IN multi numeric with :csv", "SELECT * FROM latency WHERE latency_ms IN (${latency:csv})",
     [V("latency", ["50", "75"], multi=True)], "SELECT * FROM latency WHERE latency_ms IN (50,75)"),
    ("WHERE equals multi variable with single value", "SELECT * FROM hosts WHERE hostname = $hostname",
     [V("hostname", ["app1"], multi=True)], "SELECT * FROM hosts WHERE hostname = 'app1'"),
    ("WHERE IN includeAll no allValue expands to selected list", "SELECT * FROM regions WHERE region IN ($region)",
     [V("region", [ALL_VALUE], options=["us", "eu"], include_all=True)],
     "SELECT * FROM regions WHERE region IN ('us','eu')"),
    ("LIKE with variable inside wildcards", "SELECT * FROM hosts WHERE hostname ILIKE '%$host%'",
     [V("host", ["app1"])], "SELECT * FROM hosts WHERE hostname ILIKE '%app1%'"),
    ("JOIN with ANY and multi parent variable",
     "SELECT * FROM devices d JOIN regions r ON d.region = ANY(ARRAY[$region])",
     [V("region", ["us", "eu"], multi=True)],
     "SELECT * FROM devices d JOIN regions r ON d.region = ANY(ARRAY['us','eu'])"),
    ("Identifier substitution (schema/table)", 'SELECT * FROM "$schema"."$table"',
     [V("schema", ["public"]), V("table", ["orders"])], 'SELECT * FROM "public"."orders"'),
    ("Group by identifier", 'SELECT avg(value) FROM metrics GROUP BY "$groupBy"',
     [V("groupBy", ["service"])], 'SELECT avg(value) FROM metrics GROUP BY "service"'),
    ("LIMIT/OFFSET numeric with :csv", "SELECT * FROM metrics LIMIT ${limit:csv} OFFSET ${offset:csv}",
     [V("limit", ["100"]), V("offset", ["200"])], "SELECT * FROM metrics LIMIT 100 OFFSET 200"),
    ("Time filter with multi region", "SELECT * FROM metrics WHERE $__timeFilter(ts) AND region IN ($region)",
     [V("region", ["us", "eu"], multi=True)],
     "SELECT * FROM metrics WHERE $__timeFilter(ts) AND region IN ('us','eu')"),
    ("Time bucket with interval variable",
     "SELECT $__timeGroupAlias(ts, $bucket) AS time, avg(v) FROM metrics GROUP BY 1",
     [V("bucket", ["5m"])], "SELECT $__timeGroupAlias(ts, 5m) AS time, avg(v) FROM metrics GROUP BY 1"),
    ("Range filter using BETWEEN (unquoted)", "SELECT * FROM events WHERE ts BETWEEN $start AND $end",
     [V("start", ["2024-01-01"]), V("end", ["2024-01-31"])],
     "SELECT * FROM events WHERE ts BETWEEN 2024-01-01 AND 2024-01-31"),
    ("Range filter using BETWEEN (quoted)", "SELECT * FROM events WHERE ts BETWEEN '$start' AND '$end'",
     [V("start", ["2024-01-01"]), V("end", ["2024-01-31"])],
     "SELECT * FROM events WHERE ts BETWEEN '2024-01-01' AND '2024-01-31'"),
    ("Nested variable style (resolved list)", "SELECT * FROM hosts WHERE host IN ($hosts)",
     [V("hosts", ["srv-us-1", "srv-eu-1"], multi=True)],
     "SELECT * FROM hosts WHERE host IN ('srv-us-1','srv-eu-1')"),
    ("Annotation query with tags variable", "SELECT ts AS time, msg AS text, $tag AS tags FROM events",
     [V("tag", ["deploy"])], "SELECT ts AS time, msg AS text, deploy AS tags FROM events"),
    ("Single quote in single value with manual quotes", "SELECT * FROM users WHERE name = '$user'",
     [V("user", ["O'Brien"])], "SELECT * FROM users WHERE name = 'O''Brien'"),
    ("Single quote in array value", "SELECT * FROM users WHERE name IN ($users)",
     [V("users", ["O'Brien", "D'Angelo"], multi=True)],
     "SELECT * FROM users WHERE name IN ('O''Brien','D''Angelo')"),
    ("Multiple single quotes in single value", "SELECT * FROM logs WHERE message = '$msg'",
     [V("msg", ["It's a test's message"])], "SELECT * FROM logs WHERE message = 'It''s a test''s message'"),
    ("Period in value (should be treated as data, not identifier)", "SELECT * FROM hosts WHERE hostname = '$host'",
     [V("host", ["server.example.com"])], "SELECT * FROM hosts WHERE hostname = 'server.example.com'"),
    ("Period in array value", "SELECT * FROM hosts WHERE hostname IN ($hosts)",
     [V("hosts", ["server.example.com", "db.example.org"], multi=True)],
     "SELECT * FROM hosts WHERE hostname IN ('server.example.com','db.example.org')"),
    ("Mixed special characters in array", "SELECT * FROM users WHERE name IN ($names)",
     [V("names", ["O'Brien", "user.name", "test's"], multi=True)],
     "SELECT * FROM users WHERE name IN ('O''Brien','user.name','test''s')"),
    # A multi variable's value is a plain string when it came from the URL:
    ("Multi variable with single string containing single quote", "SELECT * FROM users WHERE name = '$user'",
     [V("user", "O'Brien", multi=True)], "SELECT * FROM users WHERE name = 'O''Brien'"),
    ("includeAll variable with simple string (no allValue)", "SELECT * FROM regions WHERE region = '$region'",
     [V("region", ["us-east"], options=["us-east", "eu"], include_all=True)],
     "SELECT * FROM regions WHERE region = 'us-east'"),
]


@pytest.mark.parametrize("case, sql, variables, expected", TRUTH, ids=[t[0] for t in TRUTH])
def test_interpolation_truth_table(case, sql, variables, expected):
    # grafana public/app/plugins/datasource/grafana-postgresql-datasource/interpolationTruthTable.test.ts
    # (9c1cdcb1), the it() of the same name. Its cases with a custom allValue and
    # $__searchFilter are not mirrored.
    assert interpolate(sql, variables, TR) == expected


def test_legacy_quoting_quotes_a_single_string_of_multi_and_include_all():
    # grafana-postgresql-datasource/datasource.test.ts (b05d5ba8): "and variable allows
    # multi-value and is a string" / "... allows all ..." -> 'abc'; since PR #114058 -> abc
    multi_from_url = V("v", "abc", multi=True)
    include_all = V("v", ["abc"], options=["abc", "x"], include_all=True)
    for var in (multi_from_url, include_all):
        assert interpolate("$v", [var], TR, legacy_quoting=True) == "'abc'"
        assert interpolate("$v", [var], TR) == "abc"


# --- frontend: formats, grafana/scenes packages/scenes/src/variables/interpolation/formatRegistry.test.ts


FORMATS = [
    ("raw", ["12", "13"], "12,13"),
    ("raw", '#Æ³ ̇¹"Ä1"#!"#!½', '#Æ³ ̇¹"Ä1"#!"#!½'),
    ("glob", "foo", "foo"),
    ("glob", ["AA", "BB", "C.*"], "{AA,BB,C.*}"),
    ("pipe", ["test", "test2"], "test|test2"),
    ("distributed", ["test"], "test"),
    ("distributed", ["test", "test2"], "test,server=test2"),
    ("csv", "test", "test"),
    ("csv", ["test", "test2"], "test,test2"),
    ("singlequote", "test", "'test'"),
    ("singlequote", ["test", "test'2"], "'test','test\\'2'"),
    ("doublequote", "test", '"test"'),
    ("doublequote", ["test", 'test"2'], '"test","test\\"2"'),
    ("sqlstring", "test'value", "'test''value'"),
    ("sqlstring", 'test"value', "'test\\\"value'"),
    ("sqlstring", ["test", "test'value2"], "'test','test''value2'"),
    ("sqlstring", ["test", "test'value2", 'test"value3'], "'test','test''value2','test\\\"value3'"),
    ("date", "1594671549254", "2020-07-13T20:19:09.254Z"),
    ("date:seconds", "1594671549254", "1594671549"),
    ("date:iso", "1594671549254", "2020-07-13T20:19:09.254Z"),
    ("join", "hello", "hello"),
    ("join", ["hello"], "hello"),
    ("join", ["hello", "world"], "hello,world"),
    ("join: | ", ["hello", "world"], "hello | world"),
]


@pytest.mark.parametrize("fmt, value, expected", FORMATS)
def test_formats(fmt, value, expected):
    # grafana/scenes formatRegistry.test.ts "Can format values according to format" (variable
    # named 'server'; a list is a multi variable's selection, a string a single value)
    var = V("server", value, multi=True) if isinstance(value, list) else V("server", [value])
    assert interpolate("${server:" + fmt + "}", [var], TR) == expected


@pytest.mark.parametrize("fmt", ["date:YYYY-MM", "text", "regex", "lucene", "queryparam", "percentencode"])
def test_formats_not_mirrored_are_refused(fmt):
    # grafana/scenes formatRegistry.test.ts / timeMacros.test.ts format these (e.g.
    # '${__to:date:YYYY}' -> '2023') with the browser's time zone or the option labels
    with pytest.raises(ValueError, match="not mirrored"):
        interpolate("${v:" + fmt + "}", [V("v", ["1594671549254"])], TR)


def test_unknown_format_falls_back_to_glob():
    # grafana/scenes sceneInterpolator.ts formatValue: "Variable format ... not found. Using glob format as fallback."
    assert interpolate("${v:nosuch}", [V("v", ["a", "b"], multi=True)], TR) == "{a,b}"


def test_syntaxes():
    # grafana public/app/features/variables/utils.ts variableRegex: $var, [[var]], [[var:fmt]],
    # ${var}, ${var:fmt}; grafana/scenes sceneInterpolator.test.ts "Should be interpolated ...":
    # '${test}' -> 'hello'
    vs = [V("test", ["hello"]), V("m", ["a", "b"], multi=True)]
    assert interpolate("${test} $test [[test]] [[m:csv]] ${m:pipe}", vs, TR) == "hello hello hello a,b a|b"
    # derived from the regex: \w+ is greedy, so $testx is another (unknown) variable, left alone
    assert interpolate("$testx ${test}x $__timeFilter(t) ${nosuch:csv}", vs, TR) == (
        "$testx hellox $__timeFilter(t) ${nosuch:csv}"
    )


def test_all_expands_to_every_option():
    # grafana/scenes MultiValueVariable.getValue: All without allValue -> every option's value
    region = V("region", [ALL_VALUE], options=["us", "eu'w"], multi=True, include_all=True)
    assert interpolate("IN ($region) IN (${region:sqlstring}) ${region:csv}", [region], TR) == (
        "IN ('us','eu''w') IN ('us','eu''w') us,eu'w"
    )


# --- frontend: built-ins, grafana/scenes packages/scenes/src/variables/macros/timeMacros.test.ts


def test_from_and_to():
    # grafana/scenes timeMacros.test.ts "Can use use $__from and $__to"
    tr = TimeRange(utc(2023, 5, 23, 6, 9, 57, 73000), utc(2023, 5, 23, 7, 9, 57, 73000))
    assert interpolate("$__from", [], tr) == "1684822197073"
    assert interpolate("$__to", [], tr) == "1684825797073"
    # derived: formatRegistry.test.ts's date formats applied to $__from
    assert interpolate("${__from:date:iso} ${__from:date:seconds} ${__to:date:ms}", [], tr) == (
        "2023-05-23T06:09:57.073Z 1684822197 1684825797073"
    )


def test_interval_macros():
    # grafana/scenes timeMacros.test.ts "Can use use $__interval when data & request are present"
    assert interpolate("$__interval $__interval_ms", [], TR, 10) == "10s 10000"
    # "$__interval and $__interval_ms should return the variable expression when data request not found"
    assert interpolate("${__interval} $__interval ${__interval_ms} $__interval_ms", [], TR) == (
        "${__interval} $__interval ${__interval_ms} $__interval_ms"
    )


# --- both steps ---------------------------------------------------------------------------


def test_render_runs_the_frontend_then_the_backend():
    # derived: interpolationTruthTable "Time bucket with interval variable" + macros_test.go
    # "interpolate __timeGroup function"; ${__interval} only the frontend knows
    q = (
        "SELECT $__timeGroupAlias(ts, $bucket), avg(v) FROM m WHERE $__timeFilter(ts) AND h IN ($h)"
        " AND '${__interval}' = '$__interval'"
    )
    vs = [V("bucket", ["5m"]), V("h", ["a", "b"], multi=True)]
    assert render(q, vs, TR, 60) == (
        "SELECT floor(extract(epoch from ts)/300)*300 AS \"time\", avg(v) FROM m "
        "WHERE ts BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z' AND h IN ('a','b') AND '1m' = '1m'"
    )


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError):
        TimeRange(datetime(2018, 4, 12), utc(2018, 4, 12, 1))  # naive
    with pytest.raises(ValueError):
        TimeRange(utc(2018, 4, 12, 0, 0, 0, 1), utc(2018, 4, 12, 1))  # below a millisecond
    with pytest.raises(ValueError):
        V("x", ["a", "b"])  # two values for a single-value variable
    with pytest.raises(ValueError):
        V("x", [ALL_VALUE], options=["a"])  # All without include_all
    with pytest.raises(ValueError):
        interpolate("$x $x", [V("x", ["a"]), V("x", ["b"])], TR)
    with pytest.raises(ValueError):
        interpolate("${x.field}", [V("x", ["a"])], TR)
    with pytest.raises(ValueError):
        expand_macros("SELECT 1", TR, 0.0005)  # Grafana's interval is whole milliseconds
