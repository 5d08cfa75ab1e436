"""`commitbench` command line: one thin module per command over the core.

Each command module has `add_arguments(parser)` and `run(args) -> int`; the exit code
carries the verdict (see contracts/exitcodes.py). Only the chosen command's module is
imported: a read command never pays for torch, which only `run`, `ab`, `bisect` and
`replay` load (tests/test_cli_imports.py holds every other command to it).
"""

from __future__ import annotations

import argparse
import importlib
import textwrap

from ..contracts.exitcodes import shown

from .errors import error  # noqa: F401  (re-exported for benchmark/llama.py)

# Options that take free text (which may start with "-") wherever they appear.
FREE_TEXT = ("--branch", "--commit", "--message", "--repository")
# command -> (module in this package, its one line in `commitbench --help`). The lines live
# here, not in the modules, so that listing the commands imports none of them.
COMMANDS = {
    "run": ("run", "benchmark the current commit"),
    "history": ("history", "runs and figures in commit order"),
    "show": ("show", "show a stored run"),
    "export": ("export", "export a run or a series as CSV or JSON"),
    "ingest": ("ingest", "store spooled or --json result files in the database"),
    "db": ("db", "upgrade or inspect the database schema; close runs whose runner died"),
    "dashboards": ("dashboards", "install commitbench's datasource and dashboards into a Grafana (push)"),
    "report": ("report", "write a self-contained HTML report: history plots, compare, device timeline, failures"),
    "compare": ("compare", "compare two revisions' runs: regression, improvement or no change, per figure"),
    "explain": ("explain", "what got slower: the operators whose time per token moved between two refs' profiles"),
    "detect": ("detect", "find and store change points in every series' history"),
    "ab": ("ab", "A/B two revisions on this machine: interleaved runs, then compare"),
    "bisect": ("bisect", "find the first commit where a figure changed (binary search, each step measured)"),
    "pr-comment": ("pr_comment", "create or update the pull request comment that carries the benchmark comparison"),
    "reports": ("reports", "list, show, accept, fix and bisect regression reports; the tracking issue's markdown"),
    "status": ("status", "is every branch and runner still benchmarking? exit 10 when one is stale or failing"),
    "issue": ("issue", "create or update the one GitHub issue whose body starts with a marker (the tracking issue)"),
    "validate": ("validate", "judge stored runs by the validity rules again"),
    "replay": ("replay", "run a stored run again from its record and compare the figures"),
}


def command_module(name: str):
    """The module behind command NAME (imported on first use)."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only COMMAND's subparser gets its arguments (and its module imported).
    Without one, every command is listed by its help line alone."""
    p = argparse.ArgumentParser(
        prog="commitbench",
        description="Per-commit benchmark of transformer LLM inference, eager vs torch.compile.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_line) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_line, formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == command:
            module = command_module(name)
            sp.description = module.__doc__
            sp.epilog = exit_codes_epilog(module.EXIT_CODES)
            module.add_arguments(sp)
            sp.set_defaults(handler=module.run)
    return p


def exit_codes_epilog(codes: dict[int, str]) -> str:
    """A command's exit codes under its --help, from its EXIT_CODES (written there once, and
    collected into docs/reference/exit-codes.md)."""
    width = max(len(shown(code)) for code in codes)
    lines = [textwrap.fill(text, 96, initial_indent=f"  {shown(code):>{width}}  ",
                           subsequent_indent=" " * (width + 4)) for code, text in sorted(codes.items())]
    return "exit codes (docs/reference/exit-codes.md):\n" + "\n".join(lines)


def chosen_command(argv: list[str]) -> str | None:
    """The command argparse will dispatch to: the first word that is not an option (the
    top-level parser has no option that takes a value)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


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
    args = parser(chosen_command(argv)).parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # `commitbench history | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
