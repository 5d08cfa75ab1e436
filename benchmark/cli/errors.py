"""The one-line error every command prints for bad input."""

import sys


def error(message: str, code: int) -> int:
    print(f"commitbench: error: {message}", file=sys.stderr)
    return code
