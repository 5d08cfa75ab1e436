"""The seed's entry point, kept: `python benchmark/llama.py BRANCH COMMIT_ID COMMIT_MSG`.

Same job as `commitbench run --branch BRANCH --commit COMMIT_ID --message COMMIT_MSG`; the
database comes from DATABASE_URL, else the libpq PG* variables (database `metrics`) as the
seed's CI sets them, else the embedded SQLite default. COMMITBENCH_CONFIG names a config file.
"""

import sys
from pathlib import Path

# Run as a script, sys.path[0] is benchmark/ itself; the repository root is what we need.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmark.cli import error, main  # noqa: E402
from benchmark.contracts.exitcodes import BAD_INPUT  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(error("usage: python benchmark/llama.py BRANCH COMMIT_ID COMMIT_MSG", BAD_INPUT))
    branch, commit_id, commit_msg = sys.argv[1:]
    # `--opt=value`: a message that starts with "-" must not read as an option
    sys.exit(main(["run", f"--branch={branch}", f"--commit={commit_id}", f"--message={commit_msg}"]))
