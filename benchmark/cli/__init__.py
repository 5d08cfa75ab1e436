"""`commitbench` command line: one thin module per command over the core.

Each command module has HELP, `add_arguments(parser)` and `run(args) -> int`; the exit
code carries the verdict (see contracts/exitcodes.py).
"""

from __future__ import annotations

import argparse

from . import (ab, bisect, compare, dashboards, db, detect, export, history, ingest, issue, pr_comment, replay,
               report, reports, run, show, status, validate)
from .errors import error  # noqa: F401  (re-exported for benchmark/llama.py)

# Options that take free text (which may start with "-") wherever they appear.
FREE_TEXT = ("--branch", "--commit", "--message", "--repository")
COMMANDS = {"run": run, "history": history, "show": show, "export": export, "ingest": ingest, "db": db,
            "dashboards": dashboards, "report": report, "compare": compare, "detect": detect,
            "ab": ab, "bisect": bisect, "pr-comment": pr_comment, "reports": reports,
            "status": status, "issue": issue, "validate": validate, "replay": replay}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="commitbench",
        description="Per-commit benchmark of transformer LLM inference, eager vs torch.compile.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        sp = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sp)
        sp.set_defaults(handler=module.run)
    return p


def glue_free_text(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """`--message "-fix"` -> `--message=-fix`: argparse reads a value that starts with "-"
    as an option, and real commit messages and branch names do start with one."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in options and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = glue_free_text(list(sys.argv[1:] if argv is None else argv), FREE_TEXT)
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # `commitbench history | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
