"""What the commands share (a command imports no other command, only this, errors.py and
table.py): the --db option and opening the store (flows/store.py), output files, validity
rules, the run options ab and bisect pass on, their progress lines, compare's exit code."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..analysis.validity import Rules, rules_from
from ..contracts import exitcodes
from ..contracts.documents import utf8
from ..contracts.config import COMPILE_MODES, KINDS, QUANTIZATIONS, SDPA_KERNELS, ConfigError, load_config_file
from ..flows import store as opening
from ..flows.errors import Failure

RULES_ENV = "COMMITBENCH_VALIDITY"  # a file with a [validity] table: the rules where a config gives none

# The exit codes of a command that reads (or writes what it is given) and talks to no service.
READ_EXIT_CODES = {
    exitcodes.OK: "done",
    exitcodes.BAD_INPUT: "bad input (a run or figure that does not exist, a bad option; nothing written)",
    exitcodes.DB_UNAVAILABLE: "database unavailable",
}
# Every command with -o/--output: its write failed (write_output). A command that changes state
# says in the same line that the change was made (and stays).
OUTPUT_EXIT_CODE = {exitcodes.OUTPUT_FAILED: ("the -o file could not be written (a full disk, a FIFO nobody "
                                              "reads): one line names it; no partial file is left")}
CHANGED_OUTPUT_EXIT_CODE = {exitcodes.OUTPUT_FAILED: ("the -o file could not be written (a full disk, a FIFO "
                                                      "nobody reads): one line names it and, where the command "
                                                      "changed something (a report moved, change points or runs "
                                                      "stored), says that the change was made and stays; no "
                                                      "partial file is left")}

# A one-line error and the exit code it carries: what a flow raises and what a command
# raises for its own bad input, one type so that one `except` prints both.
CommandError = Failure


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="database URL (same defaults as `commitbench run`)")


def store_for(args: argparse.Namespace, read_only: bool = False):
    return opening.store_for(args.db, read_only)


def reading(args: argparse.Namespace, write: bool = False):
    """flows/store.reading on --db: a session at head (see there)."""
    return opening.reading(args.db, write)


def output_problem(path: Path) -> str | None:
    """Why a file cannot be written at `path`, checked before anything is measured or read."""
    if path.is_dir():
        return "is a directory"
    parent = path.resolve().parent
    if parent.exists() and not parent.is_dir():
        return f"{parent} is not a directory"
    if not parent.is_dir():
        return f"directory {parent} does not exist"
    return None


def check_output(path: Path | None) -> None:
    """CommandError (bad input) when `-o/--output` cannot be written: before any work."""
    if path is not None and (problem := output_problem(path)):
        raise CommandError(f"--output {path}: {problem}", exitcodes.BAD_INPUT)


def write_output(path: Path | None, text: str, done: str | None = None) -> None:
    """A command's report to stdout, or to the file -o named (checked by output_problem first),
    through write_file."""
    import sys

    if path is None or str(path) == "-":
        sys.stdout.write(text)
    else:
        write_file(path, text, done)
        print(f"written: {path}", file=sys.stderr)


def write_file(path: Path, text: str, done: str | None = None) -> None:
    """The one writer of every -o: run/keep.write_text (a temp file beside it, renamed over; a
    FIFO opened without blocking, so one nobody reads fails at once). A failure is a
    CommandError (exit OUTPUT_FAILED) naming the file; `done`, when the command already changed
    state (committed before the output is written), is said in the same line, so the failure
    never hides that the change happened."""
    from ..run.keep import write_text

    try:
        write_text(path, text)
    except (OSError, UnicodeError) as e:
        why = getattr(e, "strerror", None) or str(e)
        raise CommandError(f"--output {path}: not written ({why})" + (f"; {done}" if done else ""),
                           exitcodes.OUTPUT_FAILED) from None


def read_input(path: Path) -> str:
    """The text of an --input FILE ("-": stdin); bytes that are not UTF-8 are bad input naming the line."""
    import sys

    try:
        if str(path) != "-":
            return utf8(path.read_bytes())
        stdin = getattr(sys.stdin, "buffer", None)  # a test's StringIO has none: already text
        return sys.stdin.read() if stdin is None else utf8(stdin.read())
    except OSError as e:
        raise CommandError(f"--input {path}: {e.strerror or e}", exitcodes.BAD_INPUT) from None
    except ValueError as e:
        raise CommandError(f"--input {path} {e}", exitcodes.BAD_INPUT) from None


def rules_file(path: Path) -> Rules:
    """The `[validity]` table of a TOML or JSON file (a run's config file works as it is).
    ConfigError (one line) for a file without one or with a bad rule."""
    data = load_config_file(path)
    if "validity" not in data:
        raise ConfigError(f"{path} has no [validity] table")
    return rules_from(data["validity"], f"{path} [validity]")


def default_rules() -> Rules:
    """$COMMITBENCH_VALIDITY's rules, else the defaults (analysis/validity.Rules)."""
    path = os.environ.get(RULES_ENV)
    return rules_file(Path(path)) if path else Rules()


def compare_exit_code(verdict: str) -> int:
    """What a comparison's verdict exits with (compare, ab): 8 regression, 9 nothing could
    be compared, else 0."""
    from ..verdicts.compare_runs import INSUFFICIENT, REGRESSION

    if verdict == REGRESSION:
        return exitcodes.REGRESSION
    return exitcodes.NOT_COMPARABLE if verdict == INSUFFICIENT else exitcodes.OK


# -- what `run` measures, and how ab and bisect pass it on to every run ----------------

def add_benchmark_options(m: argparse._ArgumentGroup) -> None:
    """`commitbench run`'s benchmark options (ab and bisect pass them to every run)."""
    m.add_argument("--config", type=Path, help="TOML or JSON file: run keys, [defaults], [[scenarios]] "
                   "(default: $COMMITBENCH_CONFIG, else the default suite: load, eager, compiled_decode, "
                   "compiled_generate; examples in benchmark/configs/)")
    m.add_argument("--model", help="preset (llama-2-7b, tiny-llama, micro-llama), checkpoint directory or hub "
                   "id; default auto: llama-2-7b shape on CUDA, tiny-llama on CPU")
    m.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    m.add_argument("--scenarios", type=lambda s: [k.strip() for k in s.split(",")], dest="kinds",
                   help=f"comma-separated kinds to run: {','.join(KINDS)}")
    m.add_argument("--dtype", help="auto (float16 on CUDA, float32 on CPU), float32, float16, bfloat16")
    m.add_argument("--batch-size", type=int)
    m.add_argument("--prompt-length", type=int)
    m.add_argument("--new-tokens", type=int)
    m.add_argument("--compile-mode", help=f"one of {', '.join(COMPILE_MODES)} (default reduce-overhead)")
    m.add_argument("--attn-implementation", help="eager, sdpa (default), flash_attention_2, flex_attention")
    m.add_argument("--cache-implementation", help="static (default) or dynamic")
    m.add_argument("--sdpa-kernel", help=f"force one SDPA kernel: {', '.join(SDPA_KERNELS)} (default auto: "
                   "torch chooses); with --attn-implementation sdpa")
    m.add_argument("--quantization", help=f"bitsandbytes weights for load and eager: {', '.join(QUANTIZATIONS)} "
                   "(default none)")
    m.add_argument("--warmup", type=int, help="uncounted calls after the first (default 1)")
    m.add_argument("--repetitions", type=int, help="measured repetitions (default 5)")
    m.add_argument("--timeout", type=float, dest="timeout_s", help="seconds before a scenario is killed")
    m.add_argument("--sample-interval-ms", type=float, help="device sampler interval, 0 = off (default 100)")
    m.add_argument("--seed", type=int, help="random seed of the synthetic weights and the prompt (default 0)")
    m.add_argument("--inductor-cache", help="fresh (default: cold compile in every scenario) or shared")
    m.add_argument("--profile", action=argparse.BooleanOptionalAction, help="one more repetition per timing scenario "
                   "(all but load), under torch.profiler (onnxruntime: its own profiler), after the measured ones (no "
                   "figure comes from it): its summary for `commitbench explain`, its Chrome trace a file (run: off "
                   "by default; ab, bisect: on)")
    m.add_argument("--profile-dir", type=Path, help="where --profile keeps each run's Chrome traces, one folder per "
                   "run (default: profiles/ beside the SQLite file, else beside the spool directory)")


OVERRIDES = ("model", "device", "seed", "sample_interval_ms", "inductor_cache", "kinds", "dtype", "batch_size",
             "prompt_length", "new_tokens", "compile_mode", "attn_implementation", "cache_implementation",
             "sdpa_kernel", "quantization", "warmup", "repetitions", "timeout_s", "profile")


def _benchmark_actions() -> list[argparse.Action]:
    model = argparse.ArgumentParser(add_help=False)
    add_benchmark_options(model.add_argument_group("benchmark"))
    return list(model._actions)


RUN_FLAGS = {a.dest: a.option_strings[0] for a in _benchmark_actions()}


def add_run_options(p: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    mine = p.add_argument_group("passed to every `commitbench run`")
    for action in _benchmark_actions():
        if action.dest not in leave_out:
            mine._add_action(action)


def profile_dir(given: Path) -> Path:
    """--profile-dir, absolute; ConfigError where it names something that is not a directory
    (run's own check, and ab's and bisect's before anything is set up)."""
    if given.exists() and not given.is_dir():
        raise ConfigError(f"--profile-dir {given}: not a directory")
    return given.resolve()


def run_options(args: argparse.Namespace) -> list[str]:
    """The run options given, back as arguments (paths made absolute: runs start elsewhere)."""
    out: list[str] = []
    for dest, flag in RUN_FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if isinstance(value, bool):  # --profile / --no-profile
            out.append(flag if value else f"--no-{flag[2:]}")
            continue
        if dest == "kinds":
            value = ",".join(value)
        elif dest == "profile_dir":
            value = profile_dir(value)
        elif dest == "config" or (dest == "model" and Path(value).exists()):
            value = Path(value).resolve()
        out.append(f"{flag}={value}")
    return out


def add_revision_arguments(g: argparse._ArgumentGroup) -> None:
    """What ab and bisect share about where revisions come from and how they are installed."""
    g.add_argument("--repo", type=Path, default=Path("."), help="git repository of the code under test (default .)")
    g.add_argument("--install", help="install command per revision, with {python} (its venv's) and {worktree}; "
                   "'none' installs nothing and puts the worktree on PYTHONPATH (default: pip install -e "
                   "--no-deps --no-build-isolation where the worktree has pyproject.toml or setup.py, else none)")
    g.add_argument("--workdir", type=Path, help="where worktrees and venvs are made (default: a temp directory); "
                   "removed afterwards")


def overrides_of(args: argparse.Namespace) -> dict:
    """The run options' values as build_config's overrides (None: not given)."""
    return {k: getattr(args, k, None) for k in OVERRIDES}


def say(line: str) -> None:
    """A progress line of ab and bisect (stderr: stdout carries the verdict)."""
    import sys

    print(line, file=sys.stderr, flush=True)


def cancelled(who: str, signum: int) -> int:
    """After SIGINT/SIGTERM stopped ab or bisect (the worktrees are removed by then): its exit code."""
    say(f"{who}: cancelled by signal {signum}; worktrees removed")
    return exitcodes.CANCELLED_BASE + signum


def pid_alive(pid: int) -> bool:
    """Whether process `pid` on this host still runs (history's and close-stale's test of a
    run left `running`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
