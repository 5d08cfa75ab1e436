"""Credentials kept out of what commitbench stores and prints: the one place that masks a
command line before it becomes a run's provenance, refuses a token no service would issue,
and redacts known secrets from text that came back from a server.

Standard library only: `benchmark/github.py` uses it when the workflow runs
`python3 benchmark/cli/pr_comment.py` with commitbench not installed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MASK = "***"
# A secret shorter than this is not replaced in free text: masking "a" would mangle every word.
MIN_SECRET = 4

# scheme://user:PASSWORD@ : the password runs to the last "@" before a blank, as SQLAlchemy
# and libpq read an unescaped "@" in a password. A URL without a password is left alone.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):\S*@")
# ?password=... (psycopg2 takes any libpq keyword from a URL's query), &token=..., ...
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?token)=)"
                           r"[^&#\s]*", re.IGNORECASE)
# Options whose value is a credential: --password, --db-password, --token, --api-key, ...
# (`--token-env NAME` names a variable, not a credential: kept.)
_CREDENTIAL_OPTION = re.compile(r"^--?[A-Za-z0-9-]*?(?:password|passwd|token|secret|api-?key|credentials?)$",
                                re.IGNORECASE)


def mask_urls(text: str) -> str:
    """`text` with the password of every URL in it, and every password-like query value,
    replaced by ***; the user, host and the rest kept (`postgresql://user:***@host/db`)."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: m.group("head") + MASK, text)


def masked_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """A command line fit to store: URLs' passwords masked, and the value of a credential
    option (`--password X`, `--token=X`) replaced by ***."""
    out: list[str] = []
    credential_next = False
    for arg in map(str, argv):
        if credential_next:
            credential_next = False
            if not arg.startswith("--"):  # else the option was a flag (--update-password): no value
                out.append(MASK)
                continue
        name, eq, _ = arg.partition("=")
        if _CREDENTIAL_OPTION.match(name):
            if eq:
                out.append(f"{name}={MASK}")
            else:
                out.append(arg)
                credential_next = True
            continue
        out.append(mask_urls(arg))
    return tuple(out)


def token_problem(name: str, token: str) -> str:
    """Why the token in $`name` is no token (a blank, a newline, a character outside printable
    ASCII: an HTTP header cannot carry it, and the library's error would print it), or ''.
    The reason names the variable, never the value."""
    if token and not all(33 <= ord(c) <= 126 for c in token):
        return f"${name} holds whitespace or a character outside ASCII, which no token has"
    return ""


def redact(text: str, secrets: Iterable[str]) -> str:
    """A last guard on text that is about to be printed, even text a server echoed back:
    every known secret (of at least MIN_SECRET characters) replaced by ***, and URLs' passwords masked."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return mask_urls(text)
