"""What a flow raises: a one-line message and the exit code it means (contracts/exitcodes.py).

Commands raise the same type for their own bad input (benchmark/cli/common.py calls it
CommandError), so one `except` prints either as `commitbench: error: ...`."""

from __future__ import annotations

from ..contracts import exitcodes


class Failure(Exception):
    """A one-line error and the exit code it carries."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def bad_input(message: str) -> Failure:
    return Failure(message, exitcodes.BAD_INPUT)
