"""Grafana dashboards.

  generate  write dashboards/json/*.json from the code in dashboards/generate.py (Grafana's
            SDK, the `dashboards` extra); --check writes nothing and exits 1 when the
            committed files differ

  push   install commitbench into an existing Grafana through its HTTP API: the PostgreSQL
         datasource (uid commitbench-pg, as dashboards/provisioning/datasources/commitbench.yaml
         describes it), the folder `commitbench`, and every dashboard in dashboards/json.
         Each is created if absent, updated if different and left alone if the same, so a
         second push writes nothing. --dry-run says what would change and writes nothing.

Credentials come from the environment, never from the command line: a service account token
in $GRAFANA_TOKEN (--token-env NAME reads another variable), else GRAFANA_USER and
GRAFANA_PASSWORD; the reader's PostgreSQL password from COMMITBENCH_READER_PASSWORD.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from dashboards import push

from ..contracts import exitcodes
from ..contracts.escapes import printable
from ..contracts.secrets import redact, token_problem
from .errors import error

EXIT_CODES = {  # what this command's exit codes mean: its --help and docs/reference/exit-codes.md
    exitcodes.OK: "done",
    exitcodes.BAD_INPUT: "bad input (nothing sent)",
    exitcodes.SERVICE_UNREACHABLE: "nothing answers at the URL, or it is not a Grafana",
    exitcodes.CREDENTIAL_REFUSED: "Grafana refused the credential",
    exitcodes.SERVICE_REFUSED: ("Grafana refused the datasource, the folder or a dashboard (what was done before is "
                                "printed)"),
}


ERROR_CODES = ((push.BadInput, exitcodes.BAD_INPUT), (push.Unreachable, exitcodes.GRAFANA_UNREACHABLE),
               (push.AuthRefused, exitcodes.GRAFANA_AUTH_REFUSED), (push.Refused, exitcodes.GRAFANA_REFUSED))
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Subcommand(NamedTuple):
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="dashboards_command", required=True, metavar="SUBCOMMAND")
    for name, command in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sp)
        sp.set_defaults(dashboards_run=command.run)


def run(args: argparse.Namespace) -> int:
    return args.dashboards_run(args)


# ---------------------------------------------------------------- push


def add_push_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--grafana-url", metavar="URL",
                   help="the Grafana, http(s)://HOST[:PORT][/PATH] (default: $GRAFANA_URL)")
    p.add_argument("--token-env", metavar="NAME",
                   help="environment variable holding the service account token (default GRAFANA_TOKEN; "
                        "without it, GRAFANA_USER and GRAFANA_PASSWORD are used)")
    p.add_argument("--pg-address", metavar="HOST:PORT",
                   help="the PostgreSQL server as Grafana reaches it (default: $COMMITBENCH_PG_ADDRESS)")
    p.add_argument("--pg-database", metavar="NAME",
                   help="the database holding the results (default: $COMMITBENCH_PG_DATABASE)")
    p.add_argument("--pg-sslmode", metavar="MODE",
                   help=f"{', '.join(push.SSLMODES)} (default: $COMMITBENCH_PG_SSLMODE, else require: "
                        "encrypted, without a CA certificate to configure in Grafana)")
    p.add_argument("--dashboards-dir", type=Path, default=push.DASHBOARDS_DIR, metavar="DIR",
                   help="where the dashboard JSON files are (default: the generated dashboards/json)")
    p.add_argument("--update-password", action="store_true",
                   help="send the reader's password even if nothing else changed (Grafana never "
                        "returns a stored password, so a changed one cannot be seen)")
    p.add_argument("--dry-run", action="store_true", help="read Grafana and say what would change; write nothing")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="for each request to Grafana (default 10)")


def credentials(token_env: str | None, env: Mapping[str, str]) -> tuple[str | tuple[str, str], str]:
    """(auth for grafana-client, what a refusal names): a token, else a user and password."""
    name = token_env or "GRAFANA_TOKEN"
    if not ENV_NAME.match(name):
        raise push.BadInput(f"--token-env {name!r} is not an environment variable name")
    token = env.get(name, "")
    if token:
        if problem := token_problem(name, token):
            raise push.BadInput(problem)
        return token, f"the token in ${name}"
    if token_env:
        raise push.BadInput(f"${name} (--token-env) is not set")
    user, password = env.get("GRAFANA_USER", ""), env.get("GRAFANA_PASSWORD", "")
    if user and password:
        return (user, password), "the user and password in $GRAFANA_USER and $GRAFANA_PASSWORD"
    if user or password:
        raise push.BadInput(f"{'GRAFANA_PASSWORD' if user else 'GRAFANA_USER'} is not set "
                            "(GRAFANA_USER and GRAFANA_PASSWORD go together)")
    raise push.BadInput("no Grafana credential: set GRAFANA_TOKEN to a service account token "
                        "(or GRAFANA_USER and GRAFANA_PASSWORD)")


def datasource_values(args: argparse.Namespace, env: Mapping[str, str]) -> push.DatasourceValues:
    address = args.pg_address or env.get("COMMITBENCH_PG_ADDRESS", "")
    if not address:
        raise push.BadInput("no PostgreSQL address for Grafana: give --pg-address HOST:PORT "
                            "or set COMMITBENCH_PG_ADDRESS")
    if why := push.check_address(address):
        source = "--pg-address" if args.pg_address else "COMMITBENCH_PG_ADDRESS"
        raise push.BadInput(f"{source} {address!r}: {why}")
    database = args.pg_database or env.get("COMMITBENCH_PG_DATABASE", "")
    if not database.strip():
        raise push.BadInput("no database name: give --pg-database or set COMMITBENCH_PG_DATABASE")
    sslmode = args.pg_sslmode or env.get("COMMITBENCH_PG_SSLMODE", "") or "require"
    if sslmode not in push.SSLMODES:
        source = "--pg-sslmode" if args.pg_sslmode else "COMMITBENCH_PG_SSLMODE"
        raise push.BadInput(f"{source} {sslmode!r} is not one of {', '.join(push.SSLMODES)}")
    password = env.get("COMMITBENCH_READER_PASSWORD", "")
    if not password:
        raise push.BadInput("COMMITBENCH_READER_PASSWORD is not set: it is the password of the "
                            "commitbench_reader role (`commitbench db upgrade` sets it from the same variable)")
    return push.DatasourceValues(address, database, sslmode, password)


def commitbench_version() -> str:
    try:
        return metadata.version("commitbench")
    except metadata.PackageNotFoundError:
        return "unknown"


def summary(steps: list[push.Step], dry_run: bool) -> str:
    count = {a: sum(s.action == a for s in steps) for a in (push.CREATE, push.UPDATE, push.UNCHANGED, push.EXTRA)}
    if dry_run:
        parts = [f"{count[push.CREATE]} to create", f"{count[push.UPDATE]} to update"]
    else:
        parts = [f"{count[push.CREATE]} created", f"{count[push.UPDATE]} updated"]
    parts.append(f"{count[push.UNCHANGED]} unchanged")
    if count[push.EXTRA]:
        parts.append(f"{count[push.EXTRA]} not among the files left alone")
    return ", ".join(parts) + ("; dry run: nothing was written" if dry_run else "")


def run_push(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    secrets: list[str] = []
    try:
        url = args.grafana_url or env.get("GRAFANA_URL", "")
        if not url:
            raise push.BadInput("no Grafana: give --grafana-url URL or set GRAFANA_URL")
        push.parse_url(url)
        if not (math.isfinite(args.timeout) and 0 < args.timeout <= 600):
            raise push.BadInput(f"--timeout must be a number of seconds in (0, 600], got {args.timeout:g}")
        auth, who = credentials(args.token_env, env)
        secrets += list(auth) if isinstance(auth, tuple) else [auth]
        values = datasource_values(args, env)
        secrets.append(values.password)
        datasource = push.datasource_payload(values)
        dashboards = push.load_dashboards(args.dashboards_dir)
        if not dashboards:
            print(f"commitbench: note: no dashboards in {args.dashboards_dir} "
                  "(python -m dashboards.generate writes them)", file=sys.stderr)

        grafana = push.connect(url, auth, who, args.timeout)
        version = grafana.check()
        print(printable(f"Grafana {version} at {grafana.target.url}"), flush=True)
        steps = push.plan(grafana, datasource, dashboards, f"commitbench {commitbench_version()}",
                          update_password=args.update_password)
        if args.dry_run:
            for step in steps:
                print(printable(step.describe(dry_run=True)))
        else:
            for step in push.apply(grafana, steps):
                print(printable(step.describe()), flush=True)
        print(summary(steps, args.dry_run))
    except push.PushError as e:
        code = next(c for kind, c in ERROR_CODES if isinstance(e, kind))
        return error(redact(str(e), secrets), code)
    return exitcodes.OK


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if dashboards/json differs from "
                   "what the code generates")


def run_generate(args: argparse.Namespace) -> int:
    try:
        from dashboards import generate
    except ModuleNotFoundError as e:
        if (e.name or "").startswith("grafana_foundation_sdk"):
            return error("dashboards generate needs Grafana's SDK: pip install 'commitbench[dashboards]'",
                         exitcodes.BAD_INPUT)
        raise
    return generate.main(["--check"] if args.check else [])


# A subcommand is a help line, its arguments and its run.
SUBCOMMANDS: dict[str, Subcommand] = {
    "push": Subcommand("install the datasource, the folder and the dashboards into a Grafana",
                       add_push_arguments, run_push),
    "generate": Subcommand("write dashboards/json from dashboards/generate.py (in a checkout)",
                           add_generate_arguments, run_generate),
}
