"""Scenario worker -> runner messages over an inherited pipe, one JSON object a line.

The worker announces phases (so the runner's device sampler can tag its samples) and
progress. Writing a short line to a pipe happens between timed regions, never in one.
"""

from __future__ import annotations

import json
import sys
import os
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

ENV_FD = "COMMITBENCH_EVENT_FD"


class Reporter:
    """Worker side. Without the pipe (a worker run by hand) messages go to stderr."""

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream

    @classmethod
    def from_env(cls) -> Reporter:
        fd = os.environ.get(ENV_FD)
        return cls(os.fdopen(int(fd), "w", buffering=1) if fd else None)

    def _send(self, **event: Any) -> None:
        event["t"] = time.time()
        line = json.dumps(event)
        if self._stream is None:
            print(line, file=sys.stderr, flush=True)
        else:
            self._stream.write(line + "\n")

    def phase(self, name: str) -> None:
        self._send(event="phase", name=name)

    def progress(self, message: str) -> None:
        self._send(event="progress", message=message)


def read_events(stream: IO[str], handle: Callable[[dict[str, Any]], None]) -> None:
    """Runner side: call `handle` for each event until the worker closes the pipe."""
    for event in _parse(stream):
        handle(event)


def _parse(stream: IO[str]) -> Iterator[dict[str, Any]]:
    for line in stream:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn line from a worker killed mid-write carries nothing usable
        if isinstance(event, dict) and "event" in event:
            yield event
