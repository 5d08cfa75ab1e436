"""Reading the files people hand a command (--input JSON lines, --thresholds, --evidence):
what Python's parsers let escape as tracebacks, or let through to fail later, turned into
a ValueError whose one-line message names the line.

- bytes that are not UTF-8 (a Latin-1 file): `utf8`
- JSON nested deeper than the parser's recursion (100,000 `[`): `json_value`
- NaN and Infinity (JSON has neither; Python's json accepts them, PostgreSQL refuses them) and
  a float literal beyond a float's range (1e400 reads as inf): `json_value`
- with `bound`: any number whose size is outside [1/bound, bound] (0 aside), so that the ratios,
  squares and logs computed from samples stay finite (1e308 against 1e-308 overflows a
  float); 400-digit integers included
- with `storable`: text PostgreSQL's JSON refuses (NUL, a lone surrogate)."""

from __future__ import annotations

import json
import math
import re

SAMPLE_BOUND = 1e30  # seconds, bytes, tokens/s: real figures sit well inside 1e-30 .. 1e30

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[^\s"\[\]{},:]+', re.S)  # a JSON string (maybe cut) or a bare word
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # decoded: a valid surrogate pair is one character by then


def utf8(data: bytes) -> str:
    """`data` as text; ValueError naming the line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ValueError(f"line {line}: not UTF-8 text (byte 0x{data[e.start]:02x} at column {column}; "
                         "save the file as UTF-8)") from None


def json_value(text: str, bound: float | None = None, storable: bool = False) -> object:
    """`json.loads(text)`, refusing what the module's docstring lists; each ValueError names
    the line in `text` (a JSON-lines caller, whose text is one line, names the file's line)."""

    def number(token: str, value: float | int) -> float | int:
        if isinstance(value, float) and not math.isfinite(value):
            raise _Bad(token, f"{token[:40]} is beyond a float's range")
        if bound is not None and value != 0 and not 1 / bound <= abs(value) <= bound:
            raise _Bad(token, f"{token[:40]}{'...' if len(token) > 40 else ''} is out of range "
                              f"(a number is 0 or of size {1 / bound:g} to {bound:g})")
        return value

    def constant(token: str):
        raise _Bad(token, f"{token} is not a number JSON allows")

    try:
        value = json.loads(text, parse_float=lambda s: number(s, float(s)), parse_int=lambda s: number(s, _int(s)),
                           parse_constant=constant)
    except _Bad as e:
        raise ValueError(f"line {_line_of(text, e.token)}: {e.reason}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"line {e.lineno}: not JSON ({e.msg}, column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"line {_deepest_line(text)}: nested too deeply for JSON to be read") from None
    if storable and any(_UNSTORABLE.search(s) for s in _strings(value)):
        raise ValueError(f"line {_unstorable_line(text)}: a NUL or a lone surrogate (\\u0000, \\ud800) cannot be "
                         "stored in the database")
    return value


class _Bad(ValueError):
    def __init__(self, token: str, reason: str) -> None:
        super().__init__(reason)
        self.token, self.reason = token, reason


def _int(token: str) -> int:
    try:
        return int(token)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        raise _Bad(token, f"a {len(token)}-digit integer is out of range") from None


def _line_of(text: str, token: str) -> int:
    """The line of the first bare `token` (outside strings)."""
    for m in _TOKEN.finditer(text):
        if m.group(0) == token:
            return text.count("\n", 0, m.start()) + 1
    return 1


def _deepest_line(text: str, deep: int = 500) -> int:
    """The line where the nesting first goes `deep` levels down (strings skipped)."""
    depth, line, in_string, escaped = 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        elif in_string:
            in_string, escaped = (ch != '"' or escaped), (ch == "\\" and not escaped)
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth >= deep:
                return line
        elif ch in "]}":
            depth -= 1
    return line


def _strings(value: object):
    """Every string in a parsed JSON value, keys included (iteratively: no recursion limit)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack += [*v.keys(), *v.values()]
        elif isinstance(v, list):
            stack += v


def _unstorable_line(text: str) -> int:
    for m in _TOKEN.finditer(text):
        if m.group(0).startswith('"') and "\\u" in m.group(0):
            try:
                if _UNSTORABLE.search(json.loads(m.group(0))):
                    return text.count("\n", 0, m.start()) + 1
            except ValueError:
                continue
    return 1
