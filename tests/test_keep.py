"""benchmark/run/keep.py: a result file never replaces what it is written to, and the
result lands somewhere whatever fails."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from benchmark.run.keep import keep, write_text
from results import make_result


def test_regular_file_is_replaced_whole(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    write_text(path, "new")
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["out.json"]  # no temporary left
    write_text(tmp_path / "sub" / "new.json", "x")  # its directory is made
    assert (tmp_path / "sub" / "new.json").read_text() == "x"


def test_a_symlink_stays_a_symlink(tmp_path):
    """The write-then-rename replaced the link with a regular file; the target kept the old text."""
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_fifo_is_written_in_place(tmp_path):
    """As root, `--json /dev/stdout` would have replaced the system's node with a file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # the read end is open before the write (a reader thread racing the writer's open made the
    # writer see no reader: ENXIO); a non-blocking open of it does not wait for a writer
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text(fifo, "through the pipe")
        got = os.read(reader, 4096).decode()
    finally:
        os.close(reader)
    assert got == "through the pipe" and stat.S_ISFIFO(os.stat(fifo).st_mode)
    write_text(Path(os.devnull), "discarded")  # a character device, written in place
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path):
    """The run used to block at its very end, opening the FIFO, deaf to SIGTERM."""
    import pytest

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="no process is reading this FIFO"):
        write_text(fifo, "nobody hears this")
    kept = keep(make_result(), fifo, None)
    assert kept.json_error == f"{fifo}: no process is reading this FIFO"


def test_json_first_then_spool_with_fallback(tmp_path):
    result = make_result()
    blocked = tmp_path / "afile"
    blocked.write_text("")
    kept = keep(result, tmp_path / "r.json", blocked / "spool", fallback_dir=tmp_path / "fallback")
    assert kept.json_path == tmp_path / "r.json" and kept.json_error is None
    assert kept.spool_path == tmp_path / "fallback" / f"{result.run_uid}.json"
    assert kept.spool_errors == [f"{blocked / 'spool' / (result.run_uid + '.json')}: {blocked} is not a directory"]
    assert not kept.on_stderr
    assert json.loads(kept.spool_path.read_text()) == json.loads((tmp_path / "r.json").read_text())


def test_no_spool_when_the_database_has_it(tmp_path):
    kept = keep(make_result(), None, None)
    assert (kept.json_path, kept.spool_path, kept.spool_errors, kept.on_stderr) == (None, None, [], False)


def test_a_json_file_that_cannot_be_written_is_reported(tmp_path):
    blocked = tmp_path / "afile"
    blocked.write_text("")
    kept = keep(make_result(), blocked / "r.json", None)
    assert kept.json_path is None and kept.json_error == f"{blocked / 'r.json'}: {blocked} is not a directory"
