"""Branch, commit, message and commit order from the git checkout we run in (or CI's variables).

Commit order is the committer date and the parents of the commit: history is ordered by
commit, not by when a runner got to it. In a shallow clone of depth 1 git knows no
parents; check out with depth 2 (or pass --parents).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GitInfo:
    branch: str | None
    commit: str | None
    message: str | None
    repository: str | None


@dataclass
class CommitFacts:
    time: float  # committer date, unix seconds
    parents: list[str] = field(default_factory=list)
    message: str = ""


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace", timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def read(cwd: Path | None = None) -> GitInfo:
    cwd = cwd or Path.cwd()
    branch = os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME") or \
        _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    if branch == "HEAD":  # detached checkout: no branch name to report
        branch = None
    repository = os.environ.get("GITHUB_REPOSITORY") or _git(["config", "--get", "remote.origin.url"], cwd)
    if repository is None and (top := _git(["rev-parse", "--show-toplevel"], cwd)):
        repository = Path(top).name
    return GitInfo(branch=branch, commit=_git(["rev-parse", "HEAD"], cwd),
                   message=_git(["log", "-1", "--format=%B"], cwd), repository=repository)


CHECKOUT_ENV = "COMMITBENCH_CHECKOUT"  # the code under test's work tree, where a run does not start in it


def checkout() -> Path | None:
    """The git work tree of the code under test: $COMMITBENCH_CHECKOUT where ab or bisect names
    a revision's worktree (their runs start outside it), else the one we run in."""
    named = os.environ.get(CHECKOUT_ENV)
    return Path(named) if named else toplevel()


def toplevel(cwd: Path | None = None) -> Path | None:
    """The root of the git work tree we run in, or None outside one."""
    top = _git(["rev-parse", "--show-toplevel"], cwd or Path.cwd())
    return Path(top) if top else None


def commit_facts(commit: str, cwd: Path | None = None) -> CommitFacts | None:
    """Time, parents and message of `commit`, or None where this checkout does not have it."""
    out = _git(["show", "-s", "--format=%ct%x00%P%x00%B", f"{commit}^{{commit}}", "--"], cwd or Path.cwd())
    if not out:
        return None
    stamp, parents, message = (out.split("\x00", 2) + ["", ""])[:3]
    try:
        return CommitFacts(time=float(stamp), parents=parents.split(), message=message.strip())
    except ValueError:
        return None


@dataclass
class OwnRevision:
    commit: str
    dirty: bool  # uncommitted changes to tracked files: the commit alone does not say what ran


def own_revision() -> OwnRevision | None:
    """The git commit of the commitbench source that is running (provenance), or None when
    it is not a checkout of its own: a wheel, or a package inside someone else's work tree."""
    root = Path(__file__).resolve().parents[2]  # holds benchmark/ and db/
    top = _git(["rev-parse", "--show-toplevel"], root)
    if top is None or Path(top).resolve() != root:
        return None
    commit = _git(["rev-parse", "HEAD"], root)
    if commit is None:
        return None
    dirty = _git(["status", "--porcelain", "--untracked-files=no"], root)
    return OwnRevision(commit=commit, dirty=bool(dirty))
