"""Every command's -o goes through one writer (cli/common.write_file): a temp file beside the
target renamed over it, a FIFO opened without blocking. A write that fails (a full disk,
/dev/full, a FIFO nobody reads) is one line naming the file, exit 4, and no partial file; a
command that changed state (reports accept, detect) says in that line that the change was made.
A directory is bad input (2), refused before anything is read."""

from __future__ import annotations

import json
import os
import resource
import signal
from pathlib import Path

import pytest

from helpers import cli_in_process, report_states
from verdict_data import history, sha, store_all

SAME = [[1.0, 1.01, 0.99, 1.0, 1.0]] * 3
COMPARE_LINE = {"id": "a", "base": [{"reps": SAME}] * 3, "head": [{"reps": SAME}] * 3}
AB_LINE = {"id": "a", "rounds": [{"order": "AB", "base": {"reps": SAME}, "head": {"reps": SAME}}],
           "history": [{"reps": SAME}] * 4}
DETECT_LINE = {"id": "a", "values": [1.0] * 10 + [1.2] * 10}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """main's 30 commits with a 10 % step at 15, detect's reports opened: a SQLite database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'c.sqlite'}"
    store_all(url, history(30, step_at=15, step=0.10))
    assert cli_in_process(["detect", "--db", url], {}).returncode == 0
    return url


@pytest.fixture
def files(tmp_path):
    paths = {"compare": COMPARE_LINE, "ab": AB_LINE, "detect": DETECT_LINE}
    for name, line in paths.items():
        (tmp_path / f"{name}.jsonl").write_text(json.dumps(line) + "\n")
    return tmp_path


def commands(url: str, d: Path) -> dict[str, list[str]]:
    """Each command with -o, writing something (-o comes last)."""
    db = ["--db", url]
    return {
        "compare": ["compare", "--base", "main", "--head", sha(29), *db],
        "compare --input": ["compare", "--input", d / "compare.jsonl"],
        "ab --input": ["ab", "--input", d / "ab.jsonl"],
        "detect --input": ["detect", "--input", d / "detect.jsonl"],
        "detect": ["detect", "--dry-run", *db],
        "export": ["export", "latest", "--format", "json", *db],
        "report": ["report", *db],
        "reports list": ["reports", "list", *db],
        "reports tracking-issue": ["reports", "tracking-issue", "--branch", "main", *db],
        "status": ["status", "--max-age", "100000d", *db],
    }


NAMES = list(commands("sqlite://", Path(".")))


class Hung(BaseException):
    """Raised by the alarm: a BaseException, so no command's `except OSError` takes it for a write error."""


def run(args: list, timeout: int = 60):
    """cli_in_process under an alarm: a command that hangs (a FIFO nobody reads, opened
    blocking) fails the test instead of hanging it (the alarm interrupts the blocked open)."""
    def hung(signum, frame):
        raise Hung()

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(timeout)
    try:
        return cli_in_process(args, {})
    except Hung:
        pytest.fail(f"{args[0]} -o hung for {timeout} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("commitbench: error: "), err
    return lines[0]


@pytest.mark.parametrize("name", NAMES)
def test_a_full_device_is_exit_4_naming_the_file(stored, files, name):
    r = run([*commands(stored, files)[name], "-o", "/dev/full"])
    assert r.returncode == 4, r.stderr
    assert "--output /dev/full: not written (No space left on device)" in one_line(r.stderr)


@pytest.mark.parametrize("name", NAMES)
def test_a_fifo_nobody_reads_is_exit_4_at_once(stored, files, name, tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    r = run([*commands(stored, files)[name], "-o", fifo], timeout=30)
    assert r.returncode == 4 and "no process is reading this FIFO" in one_line(r.stderr), r.stderr
    assert fifo.is_fifo()  # not replaced by a file


def test_a_fifo_with_a_reader_gets_the_output(stored, files, tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the reader is there first
    try:
        r = run([*commands(stored, files)["compare --input"], "-o", fifo], timeout=30)
        got = os.read(fd, 65536).decode()
    finally:
        os.close(fd)
    assert r.returncode == 0 and json.loads(got)["id"] == "a"


@pytest.mark.parametrize("name", NAMES)
def test_a_directory_is_bad_input(stored, files, name, tmp_path):
    r = run([*commands(stored, files)[name], "-o", tmp_path])
    assert r.returncode == 2 and f"{tmp_path}: is a directory" in one_line(r.stderr)


def test_a_file_that_cannot_be_finished_is_left_as_it_was(stored, files, tmp_path):
    """A full disk mid-write (the file-size limit gives the same EFBIG a quota gives): the old
    file is untouched and no temp file is left beside it."""
    out = tmp_path / "compared.jsonl"
    out.write_text("the previous answer\n")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20, hard))  # the answer is some 100 bytes
    try:
        r = cli_in_process([*commands(stored, files)["compare --input"], "-o", out], {})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert r.returncode == 4 and f"--output {out}: not written (File too large)" in one_line(r.stderr)
    assert out.read_text() == "the previous answer\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "ab.jsonl", "compare.jsonl", "compared.jsonl", "detect.jsonl"]


def test_reports_accept_says_the_change_was_made_when_its_output_fails(stored):
    number = min(n for n, s in report_states(stored).items() if s == "open")
    r = run(["reports", "accept", number, "--by", "alice", "--reason", "a trade-off", "--db", stored,
             "-o", "/dev/full"])
    line = one_line(r.stderr)
    assert r.returncode == 4 and "--output /dev/full: not written (No space left on device)" in line
    assert f"the change was made: report #{number}: accepted" in line
    assert report_states(stored)[number] == "accepted"


def test_detect_says_what_it_stored_when_its_output_fails(stored):
    r = run(["detect", "--db", stored, "-o", "/dev/full"])
    assert r.returncode == 4 and "the change points and reports are stored" in one_line(r.stderr)
