"""`commitbench explain` end to end on real profiled runs: does it name what a commit changed?

    python -m yardsticks.explain_e2e [--model tiny-llama] [--scenario eager] [--device cpu] [--workdir DIR]

Builds, as yardsticks/ab_e2e.py does, a copy of this working tree as a git repository with
three heads on top of base, each changing the eager decode step (benchmark/worker/decode.py):
- "matmul": one extra matrix multiply per token, (vocab x hidden) @ (hidden x 1), the size of
  the model's own output projection;
- "item": one `.item()` per token (a host sync on a GPU);
- "unchanged": a commit that changes nothing measured.
Then `commitbench run --profile` of base and of each head (one run each, into one SQLite
file), and `commitbench explain --base base --head HEAD` for each head, printed whole. The
first two must name the operator responsible at the top; the third no operator at all.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .ab_e2e import fixture, git

RETURN = "    return out\n"
CHANGES = {
    "matmul": ("    out = _forward(model, token, position, cache)\n    w = model.lm_head.weight\n"
               "    torch.mm(w, w[:1].t())  # an extra matrix multiply, as large as the output projection\n" + RETURN),
    "item": "    out = _forward(model, token, position, cache)\n    out.item()  # a host sync per token\n" + RETURN,
    "unchanged": None,
}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yardsticks.explain_e2e", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tiny-llama", help="the model preset (default tiny-llama)")
    p.add_argument("--scenario", default="eager", help="the scenario kind measured (default eager)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workdir", type=Path, help="where the fixture and database go (default: a temp directory)")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="explain-e2e-", dir=args.workdir))
    repo, db = work / "repo", f"sqlite:///{work / 'explain.sqlite'}"
    base, heads = fixture(repo, CHANGES)
    run_opts = ["--profile", "--model", args.model, "--device", args.device, "--scenarios", args.scenario,
                "--repetitions", "5", "--warmup", "1", "--new-tokens", "32", "--prompt-length", "16",
                "--sample-interval-ms", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DATABASE_URL": db}
    cli = [sys.executable, "-m", "benchmark.cli"]
    print(f"fixture {repo}, database {db}; base {base[:8]}; load {os.getloadavg()}", flush=True)
    for name, sha in {"base": base, **heads}.items():
        git(repo, "checkout", "-q", sha)
        r = subprocess.run([*cli, "run", "--branch", name, *run_opts], cwd=repo, env=env, capture_output=True,
                           text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"run of {name} exited {r.returncode}")
        print(f"run of {name} ({sha[:8]}) stored; load {os.getloadavg()[0]:.2f}", flush=True)
    git(repo, "checkout", "-q", base)
    for name in heads:
        r = subprocess.run([*cli, "explain", "--base", "base", "--head", name], cwd=repo, env=env,
                           capture_output=True, text=True)
        print(f"\n$ commitbench explain --base base --head {name}   (exit {r.returncode})\n{r.stdout}{r.stderr}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
