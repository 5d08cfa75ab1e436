"""`commitbench ab` end to end on real processes: a calibrated 3 % slowdown and an unchanged head.

    python -m yardsticks.ab_e2e [--repeats 3] [--model tiny-llama] [--prior 10] [--workdir DIR]

Builds, in a temporary directory, a copy of this working tree as a git repository (the code
under test is commitbench itself): a commit "earlier", a day old, then "base" (empty, the same
code), and two heads on top of base:
- "slower": the eager decode step busy-waits for 3 % of its own duration after computing (a
  slowdown proportional to the step, like slower code, not a fixed sleep);
- "unchanged": a commit that changes nothing measured.
Then it stores `--prior` runs of "earlier" on branch `main` (main's earlier runs on this
runner, the A/B's noise prior: the history is the runs before the base commit, so runs of base
itself would not count) and runs `commitbench ab` `--repeats` times against each head,
printing for each the verdict of the gating decode figure, the rounds used, why they stopped,
and the wall time, then a markdown table. One intra-op thread per process (OMP_NUM_THREADS=1),
so the decode step is not spread over cores other jobs share. Run it on an otherwise idle
machine: a neighbour's load is what the A/B is built to cancel, but it costs rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DECODE = "benchmark/worker/decode.py"
STEP = "    return _forward(model, token, position, cache)\n"
SLOWER = ("    import time\n\n    start = time.perf_counter()\n    out = _forward(model, token, position, cache)\n"
          "    until = time.perf_counter() + 0.03 * (time.perf_counter() - start)  # 3 % of the step, busy\n"
          "    while time.perf_counter() < until:\n        pass\n    return out\n")
FIGURE = "eager_time_to_next_token_secs"


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                          env=None if env is None else {**os.environ, **env}).stdout.strip()


def fixture(path: Path, changes: dict[str, str | None] | None = None) -> tuple[str, dict[str, str]]:
    """The repository: base, and the heads by name (each a child of base): `changes` maps a
    head's name to what replaces decode_step's return line (None: a commit that changes
    nothing measured); by default this yardstick's "slower" and "unchanged"."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "--initial-branch=main")
    for key, value in (("user.email", "ab@example.com"), ("user.name", "ab"), ("commit.gpgsign", "false")):
        git(path, "config", key, value)
    for name in git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines():
        if (ROOT / name).is_file():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, path / name)
    git(path, "add", "--all")
    day_ago = f"@{int(time.time()) - 86400} +0000"  # main's earlier commit: the A/B's prior is measured on it
    git(path, "commit", "-q", "-m", "earlier", env={"GIT_AUTHOR_DATE": day_ago, "GIT_COMMITTER_DATE": day_ago})
    git(path, "commit", "-q", "--allow-empty", "-m", "base")
    base = git(path, "rev-parse", "HEAD")
    text = (path / DECODE).read_text()
    if text.count(STEP) != 1:
        raise SystemExit(f"{DECODE}: decode_step's return line moved; update yardsticks/ab_e2e.py")
    heads = {}
    for name, step in (changes or {"slower": SLOWER, "unchanged": None}).items():
        new = text + "\n# nothing measured changes\n" if step is None else text.replace(STEP, step)
        git(path, "checkout", "-q", "-B", name, base)
        (path / DECODE).write_text(new)
        git(path, "commit", "-q", "-am", f"{name} decode step")
        heads[name] = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", base)
    return base, heads


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yardsticks.ab_e2e", description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="A/Bs per head (default 3)")
    p.add_argument("--model", default="tiny-llama", help="the model preset (default tiny-llama)")
    p.add_argument("--prior", type=int, default=10, help="runs of the base stored on main first (default 10)")
    p.add_argument("--workdir", type=Path, help="where the fixture and database go (default: a temp directory)")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ab-e2e-", dir=args.workdir))
    repo, db = work / "repo", f"sqlite:///{work / 'ab.sqlite'}"
    base, heads = fixture(repo)
    run_opts = ["--model", args.model, "--scenarios", "eager", "--repetitions", "5", "--warmup", "1",
                "--new-tokens", "32", "--prompt-length", "16", "--sample-interval-ms", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DATABASE_URL": db}
    cli = [sys.executable, "-m", "benchmark.cli"]
    earlier, earlier_time = git(repo, "log", "-1", "--format=%H %ct", f"{base}^").split()
    print(f"fixture {repo}, database {db}; base {base[:8]}; load {os.getloadavg()}", flush=True)
    for i in range(args.prior):
        subprocess.run([*cli, "run", "--branch", "main", "--commit", earlier, "--message", "earlier",
                        f"--commit-time={earlier_time}", *run_opts],
                       cwd=repo, env=env, check=True, capture_output=True)
        print(f"prior run {i + 1}/{args.prior} stored", flush=True)
    rows = []
    for name, head in heads.items():
        for k in range(args.repeats):
            out = work / f"{name}-{k}.json"
            started = time.monotonic()
            r = subprocess.run([*cli, "ab", "--repo", str(repo), "--base", base, "--head", head, "--install", "none",
                                "--prior-branch", "main", *run_opts, "--format", "json", "-o", str(out)],
                               cwd=repo, env=env, capture_output=True, text=True)
            wall = time.monotonic() - started
            if not out.exists():
                print(r.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"ab exited {r.returncode} without a report")
            doc = json.loads(out.read_text())
            fig = next(f for s in doc["series"] for f in s["figures"] if f["figure"] == FIGURE)
            rows.append((name, k + 1, r.returncode, fig["verdict"], fig["change"], fig["ci"], doc["ab"]["rounds"],
                         doc["ab"]["stopped"], wall, os.getloadavg()[0]))
            print(rows[-1], flush=True)
    print(f"\n| head | # | exit | {FIGURE} | change | interval | rounds | stopped | wall | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, k, code, verdict, change, ci, rounds, stopped, wall, load in rows:
        interval = f"[{ci[0] * 100:+.1f} %, {ci[1] * 100:+.1f} %]" if ci else "-"
        print(f"| {name} | {k} | {code} | {verdict} | {change * 100:+.1f} % | {interval} | {rounds} | {stopped} | "
              f"{wall:.0f} s | {load:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
