"""`--input` JSON lines: every line read and checked before anything is judged, so a bad line
is refused (a Failure naming it) with nothing written. Used by compare, ab and detect. A line is
read by contracts/documents.json_value: nesting too deep, NaN or Infinity, and any number outside
1e-30 .. 1e30 in size (whose ratios would overflow a float in the judging) are refused here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..contracts import exitcodes
from ..contracts.documents import SAMPLE_BOUND, json_value
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
            obj = json_value(line, bound=SAMPLE_BOUND)
            if not isinstance(obj, dict):
                raise ValueError("a line must be a JSON object")
            out.append(parse(obj))
        except (ValueError, ArithmeticError) as e:  # json_value's, and any overflow `parse` meets
            reason = str(e).removeprefix("line 1: ")  # json_value's line in a one-line text
            raise Failure(f"--input {source} line {n}: {reason}", exitcodes.BAD_INPUT) from None
    return out
