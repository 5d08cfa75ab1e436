"""Start-up time of read commands, two checkouts side by side (issue #11's yardstick).

    python -m yardsticks.startup --before /path/to/old/checkout [--after .] [--rounds 10]

Runs `python -m benchmark.cli history` on a database that does not exist (one line, exit
2) and on a small one (one run, ingested by that checkout's own code, so each side reads a
schema it knows), and `compare --input` on a three-line file, in each checkout, interleaved round by round
(before, after, after, before, ...) so a drift of the machine touches both alike, with the
same interpreter. Prints each command's median, min and max wall time per checkout, their
ratio, and the load average before and after: figures taken while something else shares
the cores are void.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = [{"id": f"case{i}", "base": [{"reps": [[1.0, 1.01, 0.99]]}],
          "head": [{"reps": [[1.0 + i / 100, 1.01 + i / 100, 0.99 + i / 100]]}]} for i in range(3)]


def commands(tmp: Path, side: str) -> dict[str, list[str]]:
    cases = tmp / "cases.jsonl"
    cases.write_text("".join(json.dumps(c) + "\n" for c in CASES))
    return {"history (no database)": ["history", "--db", f"sqlite:///{tmp / 'missing' / 'none.sqlite'}"],
            "history (one run)": ["history", "--db", f"sqlite:///{tmp / side}.sqlite"],
            "compare --input": ["compare", "--input", str(cases)]}


def one_run_database(tmp: Path, side: str, checkout: Path, env: dict[str, str]) -> None:
    """A SQLite file with one stored run (tests/results.py's), written by CHECKOUT's ingest."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from results import make_result

    result = tmp / f"{side}.json"
    result.write_text(make_result().to_json())
    subprocess.run([sys.executable, "-m", "benchmark.cli", "ingest", str(result), "--db",
                    f"sqlite:///{tmp / side}.sqlite"], cwd=checkout, env=env, check=True, capture_output=True)


def wall(checkout: Path, argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to exit of `python -m benchmark.cli ARGV` run in CHECKOUT (the
    working directory comes first on sys.path, so that checkout's code is what runs)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmark.cli", *argv], cwd=checkout, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def which_code(checkout: Path, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", "import benchmark; print(benchmark.__file__)"], cwd=checkout,
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yardsticks.startup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, required=True, help="the older checkout")
    p.add_argument("--after", type=Path, default=Path.cwd(), help="the newer checkout (default: here)")
    p.add_argument("--rounds", type=int, default=10, help="runs of each command per checkout (default 10)")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, path in sides.items():
        if not (path / "benchmark" / "cli" / "__init__.py").is_file():
            p.error(f"--{name} {path}: not a commitbench checkout (no benchmark/cli/__init__.py)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL", "COMMITBENCH_DB")}
    for name, path in sides.items():
        code = which_code(path, env)
        if not code.startswith(str(path)):
            p.error(f"--{name}: {path} runs {code}, not its own code")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cmds = {s: commands(Path(tmp), s) for s in sides}
        for s, path in sides.items():
            one_run_database(Path(tmp), s, path, env)
        names = list(cmds["after"])
        times = {(c, s): [] for c in names for s in sides}
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for c in names:
                for s in order:
                    times[(c, s)].append(wall(sides[s], cmds[s][c], env))
    load_after = os.getloadavg()
    print(f"{args.rounds} rounds, interleaved; python {sys.version.split()[0]}; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} cores)")
    print(f"{'command':<24}{'before median':>15}{'after median':>14}{'after/before':>14}   (min-max before | after)")
    for c in names:
        b, a = times[(c, "before")], times[(c, "after")]
        print(f"{c:<24}{statistics.median(b):>14.3f}s{statistics.median(a):>13.3f}s"
              f"{statistics.median(a) / statistics.median(b):>14.2f}   "
              f"({min(b):.3f}-{max(b):.3f} | {min(a):.3f}-{max(a):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
