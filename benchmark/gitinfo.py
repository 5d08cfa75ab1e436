"""Branch, commit and message from the git checkout we run in (or CI's variables)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class GitInfo:
    branch: str | None
    commit: str | None
    message: str | None
    repository: str | None


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
    if repository is None and _git(["rev-parse", "--show-toplevel"], cwd):
        repository = Path(_git(["rev-parse", "--show-toplevel"], cwd)).name
    return GitInfo(branch=branch, commit=_git(["rev-parse", "HEAD"], cwd),
                   message=_git(["log", "-1", "--format=%B"], cwd), repository=repository)
