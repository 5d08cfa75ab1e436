"""The one serializer: dataclasses <-> JSON, checked against their annotations.

Everything that crosses a boundary goes through here: the job a worker is given and the
output it returns, the result file (`--json`, spool) and what `ingest` reads back. Decoding
builds the nested dataclasses and checks every field's type, so a damaged or hand-edited
file is refused with the path of the offending field (`result.scenarios[2].metrics[0]`)
before anything acts on it. Unknown keys are ignored (a newer writer may add fields);
missing keys take the field's default, and a missing field without one is an error.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class DecodeError(ValueError):
    """The data does not fit the contract; the message names the field."""


def encode(obj: Any) -> Any:
    """Dataclasses (recursively), lists, dicts and scalars -> plain JSON values."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: encode(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    return obj


def dumps(obj: Any, indent: int | None = None) -> str:
    """JSON text; NaN and infinity are refused (they are not JSON)."""
    return json.dumps(encode(obj), indent=indent, allow_nan=False)


def decode(cls: type[T], data: Any, where: str = "") -> T:
    """Build `cls` from JSON values, checking each field; DecodeError if anything is off."""
    return _value(data, cls, where or cls.__name__.lower())


def loads(cls: type[T], text: str, where: str = "") -> T:
    try:
        data = json.loads(text)
    except RecursionError:
        raise DecodeError("nested too deeply") from None
    return decode(cls, data, where)


def _dataclass(data: Any, cls: type, where: str) -> Any:
    if not isinstance(data, dict):
        raise DecodeError(f"{where}: expected an object, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        if f.name in data:
            kwargs[f.name] = _value(data[f.name], hints[f.name], f"{where}.{f.name}")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise DecodeError(f"{where}.{f.name}: missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # a __post_init__ check
        raise DecodeError(f"{where}: {e}") from None


def _value(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _value(value, option, where)
            except DecodeError:
                continue
        raise DecodeError(f"{where}: unexpected {_show(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise DecodeError(f"{where}: expected a list, got {_show(value)}")
        return [_value(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{where}: expected an object, got {_show(value)}")
        item = args[1] if args else Any
        return {k: _value(v, item, f"{where}.{k}") for k, v in value.items()}
    if is_dataclass(hint):
        return _dataclass(value, hint, where)
    if hint is type(None):
        ok = value is None
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    if not ok:
        raise DecodeError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
