"""Real git repositories made in a test's tmp directory, for the ab / bisect tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DECODE = "benchmark/worker/decode.py"
DECODE_STEP = '    """One token in, the next greedy token out. `position` is a (1, 1) device tensor."""\n'
# 100 ms: far above what 2 busy cores do to a ~1 ms micro-llama step (seen: 1 -> 16 ms)
SLEEP = "    import time\n\n    time.sleep(0.1)  # a test's regression: 100 ms more per eager decode step\n"


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "test")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit(repo: Path, message: str, files: dict[str, str] | None = None) -> str:
    for name, text in (files or {}).items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def with_commits(path: Path, n: int) -> Path:
    """A new repository with n commits of f.txt ("commit 0", ...), for bisect's ranges."""
    repo = init(path)
    for i in range(n):
        commit(repo, f"commit {i}", {"f.txt": str(i)})
    return repo


def commitbench_copy(path: Path) -> Path:
    """A repository whose first commit is this working tree as it is now: its tracked files and
    the untracked ones git does not ignore (work in progress is part of what is tested)."""
    init(path)
    for name in git(REPO, "ls-files", "--cached", "--others", "--exclude-standard").splitlines():
        src = REPO / name
        if src.is_file():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, path / name)
    commit(path, "base: commitbench as it is")
    return path


def slow_decode_step(repo: Path) -> dict[str, str]:
    """decode.py with a 100 ms sleep inside decode_step, which the eager decode loop times."""
    text = (repo / DECODE).read_text()
    assert text.count(DECODE_STEP) == 1, "decode_step's docstring moved: update tests/gitrepo.py"
    return {DECODE: text.replace(DECODE_STEP, DECODE_STEP + SLEEP)}


def worktrees_of(repo: Path) -> list[str]:
    """Paths of the repository's worktrees besides its own checkout."""
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    paths = [line.split(" ", 1)[1] for line in lines if line.startswith("worktree ")]
    return [p for p in paths if Path(p).resolve() != repo.resolve()]


CLI = ("import argparse, sys\n"
       "from benchmark.cli import {module}\n"
       "p = argparse.ArgumentParser(prog='commitbench {module}')\n"
       "{module}.add_arguments(p)\n"
       "sys.exit({module}.run(p.parse_args(sys.argv[1:])))\n")


def command(module: str, args: list[str]) -> list[str]:
    """`commitbench ab|bisect ARGS` as a real process, before the command is registered in
    benchmark/cli/__init__.py (then it is `commitbench MODULE ARGS`)."""
    return [sys.executable, "-c", CLI.format(module=module), *map(str, args)]


def call(module: str, args: list) -> int:
    """The command in this process (quick: bad input never gets to a subprocess)."""
    import argparse
    import importlib

    mod = importlib.import_module(f"benchmark.cli.{module}")
    p = argparse.ArgumentParser(prog=f"commitbench {module}")
    mod.add_arguments(p)
    return mod.run(p.parse_args([str(a) for a in args]))
