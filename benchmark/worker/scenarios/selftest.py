"""Scenarios that fail on purpose, to prove (and let users check) the isolation works."""

from __future__ import annotations

import os
import signal
import time


def crash(ctx) -> None:
    ctx.phase("crash")
    os.kill(os.getpid(), signal.SIGSEGV)


def hang(ctx) -> None:
    ctx.phase("hang")
    while True:
        time.sleep(3600)


def error(ctx) -> None:
    ctx.phase("error")
    raise RuntimeError("selftest scenario raised on purpose")
