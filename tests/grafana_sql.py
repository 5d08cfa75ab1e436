"""What Grafana's PostgreSQL datasource does to a panel's SQL before PostgreSQL sees it.

Pure Python (no Grafana, database or network), so tests can run every dashboard query on a
real PostgreSQL. ``render`` = ``interpolate`` then ``expand_macros``, Grafana's order:

1. Frontend, ``interpolate``: ``$var``, ``${var}``, ``${var:format}``, ``[[var]]`` (the
   regex of public/app/features/variables/utils.ts); the value @grafana/scenes hands over
   (MultiValueVariable.getValue: All means every option); scenes' formatRegistry.ts
   formats raw, csv, sqlstring, singlequote, doublequote, pipe, distributed, glob, join,
   date (an unknown name falls back to glob, as there); ``$__from``/``$__to``,
   ``$__interval``/``$__interval_ms``; and with no format the PostgreSQL datasource's
   interpolateVariable (public/app/plugins/datasource/grafana-postgresql-datasource/
   datasource.ts since PR #114058): a string gets its ``'`` doubled, a list is quoted.
2. Backend, ``expand``: sqleng.Interpolate's plain replacements ($__interval_ms,
   $__interval, $__unixEpochFrom(), $__unixEpochTo()), then
   pkg/tsdb/grafana-postgresql-datasource/macros.go: its quote-aware comment stripper
   (PR #121772, in 12.2.9/12.3.7/12.4.3), the regex ``\\$([_a-zA-Z0-9]+)\\(([^\\)]*)\\)``,
   arguments split on ``,`` and trimmed of spaces only, each macro's exact text with Go's
   ``%v`` for interval seconds (``300``, ``1.0368e+06``), gtime.ParseInterval and
   FormatInterval (grafana-plugin-sdk-go), and the fill argument of
   ``$__timeGroup(col, interval, fill)`` (sqleng.SetupFillmode), returned, not applied.

Read at grafana/grafana macros_test.go 446b3e1f13300e6160905e8e1c7c39fcab9aa084, macros.go
0577088076c3920f31aa0ca03cf8ac62e08f4d5b plus PR #121772's stripper, sqleng/sql_engine.go
043dd88a47944c35205994c4da317e100dc9b12e, postgres datasource.ts
04282cd93150390a7d83089cc520d96546d576a8; grafana/scenes formatRegistry.ts
06bf62dbfc08f066b5f5a55edb99b888a02d1b6e, MultiValueVariable.ts
54f7b920e63df3f704b26a277acd065d90dadb6b; grafana-plugin-sdk-go gtime.go
b5f0a9708defc51b631a6d316481707854375c15. Grafana is AGPL: this re-implements the
behaviour and takes only test cases from it (tests/test_grafana_sql.py).

Not done, on purpose: custom all values, ``${var.field}``, ad hoc filters,
``$__searchFilter``, formats that need labels or the browser's time zone (text, date with
a pattern, queryparam, regex, lucene, json...: ValueError rather than a guess), and the
trailing SQLCommenter tag Grafana keeps since PR #127894 (July 2026; stripped here like any
comment). ``legacy_quoting=True`` quotes like releases without PR #114058 (before
12.0.8/12.2.3/12.3.1): a single string value of a multi or include-all variable was quoted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal, Sequence, Union

__all__ = [
    "ALL_VALUE",
    "Expansion",
    "Fill",
    "MacroError",
    "TimeRange",
    "Variable",
    "expand",
    "expand_macros",
    "interpolate",
    "render",
]

ALL_VALUE = "$__all"  # what Grafana stores as the current value when "All" is selected

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = 10**9


class MacroError(ValueError):
    """Grafana refuses the query (its backend answers "interpolation failed: <message>")."""


@dataclass(frozen=True)
class Variable:
    """A dashboard variable as the panel sees it.

    ``current`` lists the selected values, ``[ALL_VALUE]`` for All. A plain string is the
    shape Grafana keeps for a value read from the URL (``?var-host=a``), even for a multi
    variable: the default format leaves that string unquoted where a list of one is quoted.
    """

    name: str
    current: Union[str, Sequence[str]]
    options: Sequence[str] = ()
    multi: bool = False
    include_all: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a variable needs a name")
        if not isinstance(self.current, str):
            current = tuple(self.current)
            if not all(isinstance(v, str) for v in current):
                raise ValueError(f"variable {self.name}: values must be strings")
            if not self.multi and len(current) != 1:
                raise ValueError(f"variable {self.name}: a single-value variable has exactly one value")
            object.__setattr__(self, "current", current)
        object.__setattr__(self, "options", tuple(self.options))
        if self.is_all and not self.include_all:
            # Grafana would silently replace it with the first option; say so instead.
            raise ValueError(f"variable {self.name}: All is selected but include_all is off")

    @property
    def is_all(self) -> bool:
        cur = self.current
        return cur == ALL_VALUE or (not isinstance(cur, str) and len(cur) > 0 and cur[0] == ALL_VALUE)

    def value(self) -> Union[str, tuple[str, ...]]:
        """What the formatter receives: a string for one value, a tuple for a list."""
        if self.is_all:
            return tuple(self.options)  # no custom all value: every option
        if isinstance(self.current, str):
            return self.current
        return self.current if self.multi else self.current[0]


@dataclass(frozen=True)
class TimeRange:
    """The dashboard's time range; Grafana's has millisecond precision."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            dt = getattr(self, name)
            if dt.tzinfo is None or dt.utcoffset() is None:
                raise ValueError(f"TimeRange.{name} must be timezone-aware")
            dt = dt.astimezone(timezone.utc)
            if dt.microsecond % 1000:
                raise ValueError(f"TimeRange.{name}: Grafana's time range has millisecond precision")
            object.__setattr__(self, name, dt)


FillMode = Literal["null", "previous", "value"]


@dataclass(frozen=True)
class Fill:
    """The fill ``$__timeGroup(col, interval, fill)`` asks Grafana to apply to missing buckets."""

    mode: FillMode
    interval_s: float  # the bucket width, Grafana's fillInterval
    value: float | None = None  # only for mode "value"


@dataclass(frozen=True)
class Expansion:
    sql: str
    fill: Fill | None  # from the last $__timeGroup/$__unixEpochGroup with a fill argument


# --- time helpers ---------------------------------------------------------------------


def _unix_ns(dt: datetime) -> int:
    d = dt - _EPOCH  # timedelta: days may be negative, seconds and microseconds never are
    return (d.days * 86400 + d.seconds) * _NS + d.microseconds * 1000


def _unix_s(dt: datetime) -> int:
    return _unix_ns(dt) // _NS  # Go's Unix() floors


def _unix_ms(dt: datetime) -> int:
    return _unix_ns(dt) // 10**6


def _rfc3339nano(dt: datetime) -> str:
    # Go's time.RFC3339Nano on a UTC time: trailing zeros of the fraction dropped, "Z".
    frac = f"{dt.microsecond * 1000:09d}".rstrip("0")
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}" + (f".{frac}" if frac else "") + "Z"


def _iso_ms(ms: int) -> str:
    # moment's toISOString(): always UTC, always three fraction digits.
    dt = _EPOCH + timedelta(milliseconds=ms)
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def _interval_ms(interval_s: float) -> int:
    if not (isinstance(interval_s, (int, float)) and math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval_s must be a positive number of seconds, not {interval_s!r}")
    ms = round(interval_s * 1000)
    if ms < 1 or abs(interval_s * 1000 - ms) > 1e-6 * ms:
        raise ValueError(f"interval_s={interval_s!r}: Grafana's interval is a whole number of milliseconds")
    return ms


# --- frontend: template variables -----------------------------------------------------

# $var | [[var]] / [[var:fmt]] | ${var} / ${var.field} / ${var:fmt}; JS \w is ASCII.
_VARIABLE_RE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}", re.ASCII
)

Value = Union[str, tuple[str, ...]]


def _quote_literal(v: str) -> str:  # PostgresQueryModel.quoteLiteral
    return "'" + v.replace("'", "''") + "'"


def _sql_default(value: Value, *, multi: bool, include_all: bool, legacy: bool = False) -> str:
    """The PostgreSQL datasource's interpolateVariable, used when no format is given."""
    if isinstance(value, str):
        if legacy and (multi or include_all):
            return _quote_literal(value)
        return value.replace("'", "''")
    return ",".join(_quote_literal(v) for v in value)


def _js_string(value: Value) -> str:  # String(value): arrays join with ","
    return value if isinstance(value, str) else ",".join(value)


def _wrap_each(value: Value, quote: str, escape: dict[str, str]) -> str:
    def one(v: str) -> str:
        return quote + "".join(escape.get(c, c) for c in v) + quote

    return one(value) if isinstance(value, str) else ",".join(one(v) for v in value)


def _js_parse_int(value: Value) -> int | None:
    if not isinstance(value, str):
        return None  # parseInt of an array is NaN here (scenes checks typeof first)
    m = re.match(r"\s*([+-]?\d+)", value, re.ASCII)
    return int(m.group(1)) if m else None


def _format_date(value: Value, args: list[str]) -> str:
    ms = _js_parse_int(value)
    if ms is None:
        return "NaN"
    arg = args[0] if args else "iso"
    if arg == "ms":
        return _js_string(value)
    if arg == "seconds":
        return str((ms + 500) // 1000)  # Math.round(ms / 1000) rounds halves up
    if arg == "iso":
        return _iso_ms(ms)
    raise ValueError(f"date format {':'.join(args)!r} is formatted in the browser's time zone: not mirrored")


# Formats Grafana knows whose output needs labels, the browser or escaping we do not mirror.
_UNMIRRORED_FORMATS = frozenset(
    {"lucene", "regex", "html", "json", "percentencode", "uriencode", "text",
     "queryparam", "customqueryparam", "textupper", "textlower"}
)


def _format(value: Value, fmt: str, variable_name: str) -> str:
    name, *args = fmt.split(":")
    if name in _UNMIRRORED_FORMATS:
        raise ValueError(f"variable format {name!r} is not mirrored")
    if name in ("raw", "csv"):
        return _js_string(value)
    if name == "sqlstring":  # scenes escapes " as \" too, not only ' as ''
        return _wrap_each(value, "'", {"'": "''", '"': '\\"'})
    if name == "singlequote":
        return _wrap_each(value, "'", {"'": "\\'"})
    if name == "doublequote":
        return _wrap_each(value, '"', {'"': '\\"'})
    if name == "pipe":
        return _js_string(value) if isinstance(value, str) else "|".join(value)
    if name == "distributed":  # OpenTSDB style: a,name=b,name=c
        return value if isinstance(value, str) else ",".join(
            [*value[:1], *(f"{variable_name}={v}" for v in value[1:])]
        )
    if name == "join":
        return value if isinstance(value, str) else (args[0] if args else ",").join(value)
    if name == "date":
        return _format_date(value, args)
    # "glob", and any unknown name: Grafana logs an error and falls back to glob.
    if not isinstance(value, str) and len(value) > 1:
        return "{" + ",".join(value) + "}"
    return _js_string(value)


def _seconds_to_hms(seconds: float) -> str:
    # @grafana/data rangeutil.secondsToHms: the text of the request's interval.
    n = math.floor(seconds / 31536000)
    if n:
        return f"{n}y"
    n = math.floor(seconds % 31536000 / 86400)
    if n:
        return f"{n}d"
    n = math.floor(seconds % 31536000 % 86400 / 3600)
    if n:
        return f"{n}h"
    n = math.floor(seconds % 31536000 % 86400 % 3600 / 60)
    if n:
        return f"{n}m"
    n = math.floor(seconds % 31536000 % 86400 % 3600 % 60)
    if n:
        return f"{n}s"
    n = math.floor(seconds * 1000.0)
    return f"{n}ms" if n else "less than a millisecond"


def interpolate(
    sql: str,
    variables: Sequence[Variable],
    time_range: TimeRange,
    interval_s: float | None = None,
    *,
    legacy_quoting: bool = False,
) -> str:
    """Grafana's frontend step: replace template variables and built-ins, one pass.

    A reference to nothing known is left as it is, like ``$__timeFilter`` (a backend
    macro) and, when ``interval_s`` is None, ``$__interval``.
    """
    by_name: dict[str, Variable] = {}
    for v in variables:
        if v.name in by_name:
            raise ValueError(f"two variables named {v.name!r}")
        by_name[v.name] = v
    builtins: dict[str, str] = {
        "__from": str(_unix_ms(time_range.start)),
        "__to": str(_unix_ms(time_range.end)),
    }
    if interval_s is not None:
        ms = _interval_ms(interval_s)
        # The query runner's scoped vars, which win over variables of the same name.
        scoped = {"__interval": _seconds_to_hms(ms / 1000), "__interval_ms": str(ms)}
    else:
        scoped = {}

    def replace(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        field_path = m.group(5)
        fmt = m.group(3) or m.group(6)
        multi = include_all = False
        if name in scoped:
            value: Value = scoped[name]
        elif name in by_name:
            var = by_name[name]
            value, multi, include_all = var.value(), var.multi, var.include_all
        elif name in builtins:
            value = builtins[name]
        else:
            return m.group(0)
        if field_path is not None:
            raise ValueError(f"{m.group(0)}: field paths are not mirrored")
        if fmt is None:
            return _sql_default(value, multi=multi, include_all=include_all, legacy=legacy_quoting)
        return _format(value, fmt, name)

    return _VARIABLE_RE.sub(replace, sql)


# --- backend: Go helpers --------------------------------------------------------------

_DURATION_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6,
                   "s": _NS, "m": 60 * _NS, "h": 3600 * _NS}
_MAX_U = 1 << 63


def _go_parse_duration(s: str) -> int:
    """time.ParseDuration, in nanoseconds; ValueError where Go returns an error."""
    orig, d, neg = s, 0, False
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {orig!r}")
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise ValueError(f"time: invalid duration {orig!r}")
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        whole, s = s[:i], s[i:]
        v = int(whole) if whole else 0
        if v > _MAX_U:
            raise ValueError(f"time: invalid duration {orig!r}")
        frac, scale, had_frac = 0, 1.0, False
        if s.startswith("."):
            s = s[1:]
            j, overflow = 0, False
            while j < len(s) and "0" <= s[j] <= "9":
                if not overflow:  # Go stops adding digits once they would overflow
                    nxt = frac * 10 + int(s[j])
                    if frac > (_MAX_U - 1) // 10 or nxt > _MAX_U:
                        overflow = True
                    else:
                        frac, scale = nxt, scale * 10
                j += 1
            had_frac, s = j > 0, s[j:]
        if not whole and not had_frac:
            raise ValueError(f"time: invalid duration {orig!r}")
        k = 0
        while k < len(s) and s[k] != "." and not ("0" <= s[k] <= "9"):
            k += 1
        if k == 0:
            raise ValueError(f"time: missing unit in duration {orig!r}")
        unit_name, s = s[:k], s[k:]
        unit = _DURATION_UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {unit_name!r} in duration {orig!r}")
        if v > _MAX_U // unit:
            raise ValueError(f"time: invalid duration {orig!r}")
        v *= unit
        if frac:
            v += int(float(frac) * (float(unit) / scale))  # Go uses float64 here too
            if v > _MAX_U:
                raise ValueError(f"time: invalid duration {orig!r}")
        d += v
        if d > _MAX_U:
            raise ValueError(f"time: invalid duration {orig!r}")
    if neg:
        return -d
    if d > _MAX_U - 1:
        raise ValueError(f"time: invalid duration {orig!r}")
    return d


_DATE_UNIT_RE = re.compile(r"(\d+)([dwMy])\Z", re.ASCII)


def _go_add_date(now: datetime, years: int, months: int, days: int) -> datetime:
    # time.AddDate: month overflow carries into the year, day overflow into the month.
    m0 = now.month - 1 + months
    first = now.replace(year=now.year + years + m0 // 12, month=m0 % 12 + 1, day=1)
    return first + timedelta(days=now.day - 1 + days)


def _parse_interval_ns(s: str, now: datetime) -> int:
    """gtime.ParseInterval: d/w/M/y from the wall clock in UTC, the rest as ParseDuration."""
    m = _DATE_UNIT_RE.match(s)
    if not m:
        return _go_parse_duration(s)
    num = int(m.group(1))
    if num >= _MAX_U:
        raise ValueError(f"strconv.Atoi: parsing {m.group(1)!r}: value out of range")
    unit = m.group(2)
    try:
        target = _go_add_date(
            now,
            num if unit == "y" else 0,
            num if unit == "M" else 0,
            num * (7 if unit == "w" else 1) if unit in "dw" else 0,
        )
    except (OverflowError, ValueError) as e:  # beyond year 9999: not worth mirroring
        raise ValueError(f"interval {s!r} is out of range") from e
    return _unix_ns(target) - _unix_ns(now)


def _go_seconds(ns: int) -> float:
    # time.Duration.Seconds(): whole seconds plus the remainder, both truncated toward zero.
    sec = abs(ns) // _NS * (1 if ns >= 0 else -1)
    return float(sec) + float(ns - sec * _NS) / 1e9


def _go_v(f: float) -> str:
    """fmt's %v of a float64: strconv's shortest 'g', which switches to an exponent when the
    decimal exponent is < -4 or >= 6 (so 1036800 prints as 1.0368e+06)."""
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    nd, dp = len(ds), len(ds) + int(exp)  # dp: where the decimal point goes
    x = dp - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = ds[0] + ("." + ds[1:] if nd > 1 else "")
        return f"{neg}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= nd:
        return f"{neg}{ds}{'0' * (dp - nd)}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"


def _format_interval(ns: int) -> str:
    """gtime.FormatInterval: the largest whole unit, 365-day years."""
    for unit, size in (("y", 365 * 86400 * _NS), ("d", 86400 * _NS), ("h", 3600 * _NS),
                       ("m", 60 * _NS), ("s", _NS), ("ms", 10**6)):
        if ns >= size:
            return f"{ns // size}{unit}"
    return "1ms"


_DIGITS = r"\d(?:_?\d)*"  # Go allows '_' between digits
_GO_DEC_RE = re.compile(rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?\d+)?\Z", re.ASCII)
_GO_HEX_RE = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+\Z", re.ASCII)
_GO_SPECIAL_RE = re.compile(r"(?:[+-]?(?:inf|infinity)|nan)\Z", re.IGNORECASE)


def _go_parse_float(s: str) -> float:
    """strconv.ParseFloat(s, 64); ValueError where Go returns an error (syntax or range)."""
    if _GO_SPECIAL_RE.match(s):
        return float(s)
    if _GO_DEC_RE.match(s):
        f = float(s.replace("_", ""))
    elif _GO_HEX_RE.match(s):
        f = float.fromhex(s)
    else:
        raise ValueError(s)
    if math.isinf(f):
        raise ValueError(s)  # ErrRange
    return f


# --- backend: sqleng.Interpolate, the comment stripper, the macros ---------------------


def _interpolate_global(sql: str, time_range: TimeRange, interval_ns: int) -> str:
    """sqleng.Interpolate: plain text replacements, $__interval_ms before $__interval."""
    sql = sql.replace("$__interval_ms", str(interval_ns // 10**6))
    sql = sql.replace("$__interval", _format_interval(interval_ns))
    sql = sql.replace("$__unixEpochFrom()", str(_unix_s(time_range.start)))
    return sql.replace("$__unixEpochTo()", str(_unix_s(time_range.end)))


def _is_tag_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _dollar_delimiter(sql: str, i: int) -> str | None:
    """The $$ or $tag$ opening a dollar-quoted string at i, or None ($1, $__macro(...))."""
    n = len(sql)
    if i + 1 < n and sql[i + 1] == "$":
        return "$$"
    if i + 1 < n and _is_tag_char(sql[i + 1]) and not sql[i + 1].isdigit():
        k = i + 2
        while k < n and _is_tag_char(sql[k]):
            k += 1
        if k < n and sql[k] == "$":
            return sql[i : k + 1]
    return None


def _strip_sql_comments(sql: str) -> str:
    """macros.go stripSQLComments: drop -- and /* */ comments outside quotes and $$ strings.

    Not nested (PostgreSQL nests /* */), no E'' backslash escapes, and an unterminated
    /* drops all but the query's last character: exactly as Grafana does.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "$" and (delim := _dollar_delimiter(sql, i)) is not None:
            close = sql.find(delim, i + len(delim))
            end = n if close < 0 else close + len(delim)
            out.append(sql[i:end])
            i = end
        elif c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # '' or "" inside
                        j += 2
                        continue
                    j += 1
                    break
                j += 1
            out.append(sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            i += 2
            while i + 1 < n:
                if sql[i] == "*" and sql[i + 1] == "/":
                    i += 2
                    break
                i += 1
        elif sql.startswith("--", i):
            while i < n and sql[i] != "\n":
                i += 1  # the newline itself is kept
        else:
            out.append(c)
            i += 1
    return "".join(out)


_MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")


def _fill(interval_ns: int, arg: str) -> Fill:
    """sqleng.SetupFillmode: "NULL" (upper case only), "previous", or a number."""
    seconds = _go_seconds(interval_ns)
    if arg == "NULL":
        return Fill("null", seconds)
    if arg == "previous":
        return Fill("previous", seconds)
    try:
        return Fill("value", seconds, _go_parse_float(arg))
    except ValueError:
        raise MacroError(f"error parsing fill value {arg}") from None


class _Macros:
    def __init__(self, time_range: TimeRange, now: datetime, timescaledb: bool) -> None:
        self.tr, self.now, self.timescaledb = time_range, now, timescaledb
        self.fill: Fill | None = None

    def _group(self, name: str, args: list[str]) -> tuple[str, float]:
        if len(args) < 2:
            raise MacroError(f"macro {name} needs time column and interval and optional fill value")
        try:
            ns = _parse_interval_ns(args[1].strip("'"), self.now)
        except ValueError:
            raise MacroError(f"error parsing interval {args[1]}") from None
        if len(args) == 3:  # a fourth argument and beyond: silently no fill, as in Grafana
            self.fill = _fill(ns, args[2])
        return args[0], _go_seconds(ns)

    def evaluate(self, name: str, args: list[str]) -> str:
        tr = self.tr
        col = args[0]  # Go's strings.Split never returns an empty list
        if name == "__time":
            return f'{col} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {col}) as "time"'
        if name == "__timeFilter":
            return f"{col} BETWEEN '{_rfc3339nano(tr.start)}' AND '{_rfc3339nano(tr.end)}'"
        if name == "__timeFrom":
            return f"'{_rfc3339nano(tr.start)}'"
        if name == "__timeTo":
            return f"'{_rfc3339nano(tr.end)}'"
        if name == "__timeGroup":
            col, secs = self._group(name, args)
            if self.timescaledb:
                return f"time_bucket('{secs:.3f}s',{col})"
            return f"floor(extract(epoch from {col})/{_go_v(secs)})*{_go_v(secs)}"
        if name == "__timeGroupAlias":
            return self.evaluate("__timeGroup", args) + ' AS "time"'
        if name == "__unixEpochFilter":
            return f"{col} >= {_unix_s(tr.start)} AND {col} <= {_unix_s(tr.end)}"
        if name == "__unixEpochNanoFilter":
            return f"{col} >= {_unix_ns(tr.start)} AND {col} <= {_unix_ns(tr.end)}"
        if name == "__unixEpochNanoFrom":
            return str(_unix_ns(tr.start))
        if name == "__unixEpochNanoTo":
            return str(_unix_ns(tr.end))
        if name == "__unixEpochGroup":
            col, secs = self._group(name, args)
            return f"floor(({col})/{_go_v(secs)})*{_go_v(secs)}"
        if name == "__unixEpochGroupAlias":
            return self.evaluate("__unixEpochGroup", args) + ' AS "time"'
        raise MacroError(f'unknown macro "{name}"')


def expand(
    sql: str,
    time_range: TimeRange,
    interval_s: float,
    *,
    now: datetime | None = None,
    timescaledb: bool = False,
) -> Expansion:
    """Grafana's backend step, with the fill mode a $__timeGroup asked for.

    ``interval_s`` is the panel's interval (query.Interval). ``now`` is the wall clock
    that Grafana measures month and year intervals ('1M', '1y') from; default: now.
    """
    interval_ns = _interval_ms(interval_s) * 10**6
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    macros = _Macros(time_range, now.astimezone(timezone.utc), timescaledb)
    sql = _strip_sql_comments(_interpolate_global(sql, time_range, interval_ns))
    errors: list[MacroError] = []

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "__timeGroup":
            # Pre-5.3 compatibility: a ',' right after the *first* occurrence of the same
            # macro text anywhere in the query makes every occurrence an alias.
            at = sql.find(m.group(0)) + len(m.group(0))
            if at < len(sql) and sql[at] == ",":
                name = "__timeGroupAlias"
        args = [a.strip(" ") for a in m.group(2).split(",")]  # spaces only, not tabs/newlines
        try:
            return macros.evaluate(name, args)
        except MacroError as e:
            errors.append(e)  # Grafana reports the first error and goes on replacing
            return "macro_error()"

    out = _MACRO_RE.sub(replace, sql)
    if errors:
        raise errors[0]
    return Expansion(out, macros.fill)


def expand_macros(
    sql: str,
    time_range: TimeRange,
    interval_s: float,
    *,
    now: datetime | None = None,
    timescaledb: bool = False,
) -> str:
    """Grafana's backend step: the SQL that PostgreSQL receives from the frontend's SQL."""
    return expand(sql, time_range, interval_s, now=now, timescaledb=timescaledb).sql


def render(
    sql: str,
    variables: Sequence[Variable],
    time_range: TimeRange,
    interval_s: float,
    *,
    now: datetime | None = None,
    legacy_quoting: bool = False,
    timescaledb: bool = False,
) -> str:
    """A panel's SQL as PostgreSQL sees it: ``interpolate`` then ``expand_macros``."""
    frontend = interpolate(sql, variables, time_range, interval_s, legacy_quoting=legacy_quoting)
    return expand_macros(frontend, time_range, interval_s, now=now, timescaledb=timescaledb)
