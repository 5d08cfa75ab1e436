"""Read commands start without torch or transformers (#11): each runs in process, in one
fresh interpreter, on a real SQLite file, and afterwards neither library is in sys.modules.
tests/test_layout.py holds the same rule on the source; this proves it on the running code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import child_env

SCRIPT = r"""
import contextlib, io, json, sys
sys.path.insert(0, TESTS)
from benchmark.cli import COMMANDS, main
from results import make_result

def call(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse: --help
            code = e.code
    return code, err.getvalue()

result = make_result()
(TMP / "run.json").write_text(result.to_json())
(TMP / "cases.jsonl").write_text(json.dumps(
    {"id": "x", "base": [{"reps": [[1.0, 1.01, 0.99]]}], "head": [{"reps": [[1.0, 1.02, 0.98]]}]}) + "\n")
db = ["--db", URL]
codes = {
    "ingest": call("ingest", TMP / "run.json", *db),
    "history": call("history", *db),
    "show": call("show", "latest", *db),
    "export": call("export", "latest", "--format", "json", "-o", TMP / "export.json", *db),
    "compare": call("compare", "--input", TMP / "cases.jsonl", "-o", TMP / "compare.jsonl"),
    "detect": call("detect", *db),
    "reports": call("reports", "list", *db),
    "status": call("status", "--max-age", "100000d", *db),
    "validate": call("validate", "--branch", result.branch, "--dry-run", *db),
    "report": call("report", "-o", TMP / "report.html", *db),
    "db": call("db", "current", *db),
    "dashboards": call("dashboards", "generate", "--check"),
}
helps = {name: call(name, "--help")[0] for name in COMMANDS}
helps["(top)"] = call("--help")[0]
print(json.dumps({"codes": codes, "helps": helps,
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))}))
"""


def test_read_commands_run_without_torch_or_transformers(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    prelude = f"from pathlib import Path\nTESTS = {str(Path(__file__).parent)!r}\nTMP = Path({str(tmp_path)!r})\n" \
              f"URL = {url!r}\n"
    r = subprocess.run([sys.executable, "-c", prelude + SCRIPT], env=child_env(home, tmp_path / "cache"),
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    # each command did its work (a failure here would make "no torch" an empty claim)
    assert {name: code for name, (code, _) in report["codes"].items()} == {
        name: 0 for name in report["codes"]}, report["codes"]
    assert (tmp_path / "report.html").stat().st_size > 0
    assert json.loads((tmp_path / "export.json").read_text())["run_uid"]
    assert report["helps"] == {name: 0 for name in report["helps"]}
    assert report["heavy"] == []
