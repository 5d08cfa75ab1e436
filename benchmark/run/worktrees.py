"""Revisions of the code under test installed side by side: one git worktree and one venv each.

`commitbench ab` and `commitbench bisect` measure other revisions of a repository (a library
such as transformers, model code, or commitbench itself) without touching the checkout they
are started from. Each revision gets a detached worktree and a venv that sees the current
environment's packages (torch, transformers, commitbench are big: never reinstalled), with the
revision's own code installed in front of them. Everything made here is removed on the way
out, after a failure or a signal too.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import string
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

DEFAULT_INSTALL = "{python} -m pip install --no-deps --no-build-isolation -e {worktree}"
INSTALL_FIELDS = ("python", "worktree")
# Processed after the side's own .pth files (site.py reads them in name order), so the
# revision's install comes first on sys.path and the current environment after it.
PARENT_PTH = "zzz-commitbench-parent-env.pth"
NOT_CODE = ("tests", "test", "docs", "doc", "examples", "scripts")


class SetupError(Exception):
    """A revision that cannot be set up (bad ref, failed install); the message is one line."""


@dataclass(frozen=True)
class Revision:
    sha: str
    subject: str
    time: int  # committer date, unix seconds
    parents: tuple[str, ...]

    @property
    def short(self) -> str:
        return self.sha[:8]


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace")
    if out.returncode != 0:
        lines = (out.stderr.strip() or out.stdout.strip() or f"git exited {out.returncode}").splitlines()
        raise SetupError(f"git {args[0]} in {repo}: {lines[-1]}")
    return out.stdout


def resolve(repo: Path, ref: str, what: str = "ref") -> Revision:
    """A REF (branch, tag, sha, HEAD~2, ...) of `repo` as the commit it names."""
    if not ref.strip() or ref.startswith("-"):
        raise SetupError(f"{what} {ref!r}: expected a commit, branch or tag of {repo}")
    try:
        sha = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except SetupError:
        raise SetupError(f"{what} {ref!r} is not a commit of {repo}") from None
    return _revisions(git(repo, "show", "-s", f"--format={_FORMAT}", sha, "--"))[0]


def ancestry_path(repo: Path, good: Revision, bad: Revision) -> list[Revision]:
    """The commits after `good` up to `bad` that descend from `good`, oldest first."""
    return _revisions(git(repo, "log", "--reverse", "--ancestry-path", f"--format={_FORMAT}",
                          f"{good.sha}..{bad.sha}", "--"))


_FORMAT = "%H%x00%ct%x00%P%x00%s%x00"


def _revisions(out: str) -> list[Revision]:
    fields = out.split("\x00")
    return [Revision(sha=sha.strip(), time=int(stamp), parents=tuple(parents.split()), subject=subject)
            for sha, stamp, parents, subject in zip(*[iter(fields)] * 4)]


def repo_root(path: Path) -> Path:
    if not path.is_dir():
        raise SetupError(f"--repo {path}: not a directory")
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except SetupError:
        raise SetupError(f"--repo {path}: not a git repository") from None


def install_argv(template: str, python: Path, worktree: Path) -> list[str] | None:
    """The install command for one side; None for `none`. Placeholders are filled after
    splitting, so paths with spaces stay one argument."""
    if template.strip() == "none":
        return None
    check_install_template(template)
    return [token.format(python=python, worktree=worktree) for token in shlex.split(template)]


def check_install_template(template: str) -> None:
    if template.strip() == "none":
        return
    try:
        tokens = shlex.split(template)
        fields = {f for t in tokens for _, f, _, _ in string.Formatter().parse(t) if f is not None}
    except ValueError as e:  # unbalanced quotes or braces
        raise SetupError(f"--install {template!r}: {e}") from None
    if not tokens:
        raise SetupError("--install: empty command (use 'none' to install nothing)")
    unknown = sorted(fields - set(INSTALL_FIELDS))
    if unknown:
        raise SetupError(f"--install: unknown placeholder {{{unknown[0]}}}; allowed: "
                         + ", ".join(f"{{{f}}}" for f in INSTALL_FIELDS))


def packaged(worktree: Path) -> bool:
    return (worktree / "pyproject.toml").is_file() or (worktree / "setup.py").is_file()


def code_packages(worktree: Path) -> list[str]:
    """Top-level packages of the code under test (src/ layout first), to check where the
    side's python imports them from."""
    root = worktree / "src" if (worktree / "src").is_dir() else worktree
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file()
                  and p.name.isidentifier() and not p.name.startswith(NOT_CODE))


class Signals:
    """SIGINT/SIGTERM while revisions run: remember the first, pass it on to the child in
    flight (which records its own cancellation), and let the caller stop and clean up.
    Children run in their own session, so a terminal's Ctrl-C reaches them once, from here."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.child: subprocess.Popen | None = None

    def _handle(self, signum: int, _frame) -> None:
        if self.received is None:
            self.received = signum
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    @contextmanager
    def installed(self) -> Iterator[Signals]:
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def run(self, argv: list[str], *, cwd: Path, env: dict[str, str], stdout: IO | None = None) -> int:
        if self.received is not None:
            return 128 + self.received
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                start_new_session=True)
        self.child = proc
        if self.received is not None:  # it came between the check above and here
            proc.send_signal(self.received)
        try:
            return proc.wait()
        finally:
            self.child = None


@dataclass
class Side:
    """One revision, installed: its worktree, its venv's python and the environment to run it in."""

    label: str  # "base", "head", or a short sha in bisect
    revision: Revision
    root: Path  # holds the worktree and the venv
    install: list[str] | None = None  # the command that was run, if any
    imports: dict[str, str | None] = field(default_factory=dict)  # package -> where the side imports it

    @property
    def worktree(self) -> Path:
        return self.root / "src"

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, **(extra or {})}
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(self.root / "venv")
        env["PATH"] = os.pathsep.join(filter(None, [str(self.python.parent), os.environ.get("PATH")]))
        if self.install is None:  # nothing installed: the worktree itself is the code
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.worktree), os.environ.get("PYTHONPATH")]))
        return env

    def describe(self) -> str:
        how = "install: " + (shlex.join(self.install) if self.install else "none, PYTHONPATH=worktree")
        where = f"imports {', '.join(self.imports)} from its worktree" if self.imports \
            else "no package found in the worktree to check"
        return f"{self.label} {self.revision.short} {self.revision.subject!r}: worktree {self.worktree}; {how}; {where}"


class Worktrees:
    """Worktrees and venvs under one scratch directory, all removed by close()."""

    def __init__(self, repo: Path, workdir: Path | None, signals: Signals,
                 say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> None:
        self.repo = repo
        self.signals = signals
        self.say = say
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="commitbench-revisions-", dir=workdir))
        self.sides: list[Side] = []

    def __enter__(self) -> Worktrees:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, label: str, revision: Revision, install: str | None, modules: list[str] | None = None) -> Side:
        """Check out `revision`, make its venv, install it, and check what its python imports."""
        side = Side(label=label, revision=revision, root=self.dir / f"{len(self.sides) + 1}-{label.replace('/', '_')}")
        side.root.mkdir()
        self.sides.append(side)
        git(self.repo, "worktree", "add", "--detach", "--quiet", str(side.worktree), revision.sha)
        self._make_venv(side)
        template = install if install is not None else (DEFAULT_INSTALL if packaged(side.worktree) else "none")
        argv = install_argv(template, side.python, side.worktree)
        side.install = argv
        if argv is not None:
            self.say(f"{label} {revision.short}: {shlex.join(argv)}")
            code = self.signals.run(argv, cwd=side.worktree, env=side.env(), stdout=sys.stderr)
            if self.signals.received is not None:
                return side  # the caller stops and cleans up
            if code != 0:
                raise SetupError(f"{label} {revision.short}: install command exited {code}: {shlex.join(argv)}")
        side.imports = self._check_imports(side, modules if modules is not None else code_packages(side.worktree))
        return side

    def _make_venv(self, side: Side) -> None:
        venv = side.root / "venv"
        out = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                             capture_output=True, text=True, errors="replace")
        if out.returncode != 0:
            raise SetupError(f"python -m venv {venv}: {(out.stderr.strip() or 'failed').splitlines()[-1]}")
        where = subprocess.run([str(side.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, errors="replace")
        if where.returncode != 0:
            raise SetupError(f"{side.python}: cannot run it: {(where.stderr.strip() or '?').splitlines()[-1]}")
        site_dir = Path(where.stdout.strip())
        # addsitedir, not a bare path: the current environment's own .pth files (editable
        # installs among them) apply too, behind the side's. pip comes from there as well.
        parents = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
        (site_dir / PARENT_PTH).write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in parents))

    def _check_imports(self, side: Side, modules: list[str]) -> dict[str, str | None]:
        """Where the side's python finds each package (without importing it): it must be the
        worktree, or the measurement would be of some other copy of the code."""
        if not modules:
            return {}
        probe = ("import importlib.util, json, sys\n"
                 "def where(n):\n"
                 "    s = importlib.util.find_spec(n)\n"
                 "    if s is None:\n"
                 "        return None\n"
                 "    return s.origin or next(iter(s.submodule_search_locations or []), None)\n"
                 "print(json.dumps({n: where(n) for n in sys.argv[1:]}))\n")
        out = subprocess.run([str(side.python), "-c", probe, *modules], cwd=side.root, env=side.env(),
                             capture_output=True, text=True, errors="replace")
        if out.returncode != 0:
            raise SetupError(f"{side.label} {side.revision.short}: its python failed to look up {', '.join(modules)}: "
                             f"{(out.stderr.strip() or '?').splitlines()[-1]}")
        found: dict[str, str | None] = json.loads(out.stdout)
        if all(origin is None for origin in found.values()):
            raise SetupError(f"{side.label} {side.revision.short}: its python finds none of {', '.join(found)} "
                             "(check --install)")
        tree = side.worktree.resolve()
        for name, origin in found.items():
            if origin is not None and not Path(origin).resolve().is_relative_to(tree):
                raise SetupError(f"{side.label} {side.revision.short}: its python imports {name} from {origin}, "
                                 f"not from its worktree {side.worktree} (check --install)")
        # A package found nowhere is one the install leaves out (a repository's tools, like
        # commitbench's yardsticks/): no other copy of it can be measured instead.
        return {name: origin for name, origin in found.items() if origin is not None}

    def remove(self, side: Side) -> None:
        """Remove one side's worktree and venv (bisect is done with a commit once measured)."""
        if side.worktree.exists():
            subprocess.run(["git", "-C", str(self.repo), "worktree", "remove", "--force", str(side.worktree)],
                           capture_output=True)
        shutil.rmtree(side.root, ignore_errors=True)
        self.sides.remove(side)

    def close(self) -> None:
        """Remove every worktree and venv made here; then `git worktree prune` forgets them."""
        for side in list(self.sides):
            self.remove(side)
        shutil.rmtree(self.dir, ignore_errors=True)
        subprocess.run(["git", "-C", str(self.repo), "worktree", "prune"], capture_output=True)
