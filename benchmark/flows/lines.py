"""`--input` JSON lines: every line read and checked before anything is judged, so a bad line
is refused (a Failure naming it) with nothing written. Used by compare and ab."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from ..contracts import exitcodes
from .errors import Failure

T = TypeVar("T")


def parsed(text: str, source: str, parse: Callable[[dict], T]) -> list[T]:
    """`parse` of each non-empty line's JSON object; its ValueError becomes a Failure (exit 2)
    that names the file and the line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("a line must be a JSON object")
            out.append(parse(obj))
        except ValueError as e:  # json.JSONDecodeError is one
            raise Failure(f"--input {source} line {n}: {e}", exitcodes.BAD_INPUT) from None
    return out
