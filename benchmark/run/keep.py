"""Keeping a result outside the database: the `--json` file first, then the spool (with a
fallback location), and as a last resort the terminal. Whatever fails after measuring,
the result lands somewhere and the output says where."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..contracts.result import RunResult

FALLBACK_SPOOL = "commitbench-spool"  # under the system's temporary directory
STDERR_MARKER = "----- commitbench result (JSON): nothing could be written to disk -----"


@dataclass
class Kept:
    json_path: Path | None = None  # written
    json_error: str | None = None
    spool_path: Path | None = None  # written
    spool_errors: list[str] = field(default_factory=list)
    on_stderr: bool = False  # every file failed: the JSON went to stderr


def write_text(path: Path, text: str) -> None:
    """Write a file without ever leaving a truncated one. A regular file (or a new path) is
    written beside and renamed over; a symlink is written through to its target; anything
    else (a FIFO, /dev/stdout) is written in place, since a rename would replace it. A FIFO
    nobody reads is an error at once (ENXIO), never a run that hangs at its very end."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        try:
            fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:
                raise OSError(e.errno, "no process is reading this FIFO") from None
            raise
        os.set_blocking(fd, True)  # the reader is there: let it take its time
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def keep(result: RunResult, json_path: Path | None, spool_dir: Path | None,
         fallback_dir: Path | None = None) -> Kept:
    """Write the JSON (if asked) and the spool file (if `spool_dir`: the database lacks it),
    falling back to `fallback_dir` (default: commitbench-spool in the temporary directory)."""
    kept = Kept()
    text = result.to_json()
    if json_path is not None:
        try:
            write_text(json_path, text)
            kept.json_path = json_path
        except OSError as e:
            kept.json_error = f"{json_path}: {_why(json_path, e)}"
    if spool_dir is not None:
        for directory in (spool_dir, fallback_dir or Path(tempfile.gettempdir()) / FALLBACK_SPOOL):
            path = directory / f"{result.run_uid}.json"
            try:
                write_text(path, text)
                kept.spool_path = path
                break
            except OSError as e:
                kept.spool_errors.append(f"{path}: {_why(path, e)}")
        if kept.spool_path is None and kept.json_path is None:
            print(STDERR_MARKER, file=sys.stderr)
            print(text, file=sys.stderr, flush=True)
            kept.on_stderr = True
    return kept


def _why(path: Path, e: OSError) -> str:
    """The reason in words a person can act on: "File exists" from a mkdir means that
    something on the way is not a directory."""
    for parent in Path(os.path.realpath(path)).parents:
        if parent.exists():
            return (e.strerror or str(e)) if parent.is_dir() else f"{parent} is not a directory"
    return e.strerror or str(e)
