"""What ab and bisect share: checks before anything is set up, the order of their rounds,
and running `commitbench run` of one installed revision (its own worktree and venv, made by
run/worktrees.py) into one database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..contracts import exitcodes
from ..contracts.config import BenchConfig, ConfigError, build_config, load_config_file
from ..run import gitinfo
from ..run.worktrees import Side, Signals


def round_order(rounds: int) -> list[tuple[int, str]]:
    """(round, side) in run order: AB, BA, AB, ... so each side is as often first as second."""
    order = []
    for r in range(1, rounds + 1):
        pair = ("base", "head") if r % 2 else ("head", "base")
        order += [(r, side) for side in pair]
    return order


def check_rounds(rounds: int) -> None:
    if not 1 <= rounds <= 100:
        raise ConfigError(f"--rounds must be an integer from 1 to 100, got {rounds}")


def check_run_config(config: Path | None, overrides: dict, extra: dict | None = None) -> BenchConfig:
    """The current commitbench's view of the run options, so a typo fails before anything is
    set up: the config file (if any) with `extra` keys, under the command line's overrides."""
    data = load_config_file(config) if config else {}
    return build_config({**data, **(extra or {})}, overrides)


def profiled(options: list[str]) -> list[str]:
    """ab's and bisect's run options with a profile per run unless they say --no-profile: when
    a figure moves, `commitbench explain` diffs the two sides' profiles."""
    return options if {"--profile", "--no-profile"} & set(options) else [*options, "--profile"]


def stop_code(code: int) -> int | None:
    """A run's exit code that ends the job: only a failed scenario lets the rounds go on
    (compare reports it)."""
    return None if code in (exitcodes.OK, exitcodes.SCENARIO_FAILED) else code


def repository_name(repo: Path) -> str | None:
    return gitinfo.read(repo).repository


@dataclass
class Measurer:
    """Runs `commitbench run` of one installed revision (each scenario in its own process, as
    always) into the shared database; the runs' own output goes to `output`."""

    signals: Signals
    db_url: str
    options: list[str]
    repository: str | None
    output: IO | None = None

    def argv(self, side: Side, branch: str, extra: list[str] = ()) -> list[str]:
        rev = side.revision
        argv = [str(side.python), "-m", "benchmark.cli", "run", f"--branch={branch}",
                f"--commit={rev.sha}", f"--message={rev.subject or rev.short}", f"--commit-time={rev.time}"]
        if rev.parents:
            argv.append(f"--parents={','.join(rev.parents)}")
        if self.repository:
            argv.append(f"--repository={self.repository}")
        return argv + self.options + list(extra)

    def env(self, side: Side, extra: dict[str, str] | None = None) -> dict[str, str]:
        # The database goes by environment, not argv, so its password is not in `ps`. The run
        # starts in the side's directory, where no other copy of the code can shadow its own,
        # and is told where the side's git worktree is: the packages installed from it are the
        # code under test (trackers/environment.code_under_test), not the environment.
        return side.env({**(extra or {}), "DATABASE_URL": self.db_url, gitinfo.CHECKOUT_ENV: str(side.worktree)})

    def measure(self, side: Side, branch: str, extra: list[str] = (), env: dict[str, str] | None = None) -> int:
        env = self.env(side, env)
        return self.signals.run(self.argv(side, branch, extra), cwd=side.root, env=env, stdout=self.output)
