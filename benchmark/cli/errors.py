"""The one-line error every command prints for bad input."""

import sys

from ..contracts.escapes import printable


def error(message: str, code: int) -> int:
    print(f"commitbench: error: {printable(message)}", file=sys.stderr)
    return code
