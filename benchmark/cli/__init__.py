"""`commitbench` command line: one thin module per command over the core."""

from __future__ import annotations

import argparse
from . import db, ingest, run
from .errors import error  # noqa: F401  (re-exported for benchmark/llama.py)

COMMANDS = {"run": run, "db": db, "ingest": ingest}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="commitbench",
        description="Per-commit benchmark of transformer LLM inference, eager vs torch.compile.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        sp = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(sp)
        sp.set_defaults(handler=module.run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)
