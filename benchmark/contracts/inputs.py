"""Validation of what identifies a run: branch, commit, message, repository, commit order.

Each check returns the value to store, or raises ConfigError with one line naming the
field and what is allowed. Limits are the database columns' (a value that passes here is
always storable, so a spooled result can always be ingested later).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from .config import ConfigError

COMMIT_ID = re.compile(r"^[0-9a-fA-F]{4,64}$")  # abbreviated to full SHA-1 / SHA-256
SEED_MESSAGE_CHARS = 70  # the seed's commit_message column; the full text is kept elsewhere
BRANCH_CHARS = 255  # benchmarks.branch
REPOSITORY_CHARS = 512  # benchmarks.repository
MODEL_CHARS = 512  # benchmarks.model_id
MAX_PARENTS = 16


def text(value: str) -> str:
    """Any bytes the shell passed become valid text: undecodable bytes (which Python keeps as
    surrogates) turn into U+FFFD, and NUL, which PostgreSQL text cannot hold, is dropped."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "")


def branch(value: str | None) -> str:
    if value is None:
        raise ConfigError("no branch given and none found in a git checkout (use --branch)")
    value = text(value).strip()
    if not value or len(value) > BRANCH_CHARS or any(c in value for c in "\n\r\t"):
        raise ConfigError(f"invalid branch name {value[:80]!r}: 1-{BRANCH_CHARS} characters, one line")
    return value


def commit_id(value: str | None, what: str = "commit id") -> str:
    if value is None:
        raise ConfigError(f"no {what} given and none found in a git checkout (use --commit)")
    value = text(value).strip()
    if not COMMIT_ID.match(value):
        raise ConfigError(f"invalid {what} {value[:80]!r}: expected 4-64 hexadecimal characters")
    return value.lower()


def message(value: str | None, explicit: bool = False) -> str:
    """The commit message. One given explicitly must say something: a blank `--message` is
    a mistake (a commit read from git may have an empty message, and keeps it)."""
    cleaned = text(value or "").strip()
    if explicit and not cleaned:
        raise ConfigError("--message is blank: give the commit's message, or leave it out to read it from git")
    return cleaned


def repository(value: str | None) -> str | None:
    """Repository name or URL, without credentials: a token in a git remote URL
    (https://user:token@host/...) must never reach the database or a result file."""
    if value is None:
        return None
    value = strip_userinfo(text(value).strip())
    if not value:
        return None
    if len(value) > REPOSITORY_CHARS or any(c in value for c in "\n\r\t"):
        raise ConfigError(f"invalid repository {value[:80]!r}: 1-{REPOSITORY_CHARS} characters, one line")
    return value


def strip_userinfo(url: str) -> str:
    if "://" in url:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        return url
    # scp-like git remotes, user[:secret]@host:path: whatever stands before the host
    userinfo, at, rest = url.rpartition("@")
    return rest if at and "/" not in userinfo else url


def model_id(value: str) -> str:
    if len(value) > MODEL_CHARS:
        raise ConfigError(f"model {value[:60]!r}...: longer than {MODEL_CHARS} characters")
    return value


def commit_time(value: str | float | None) -> float | None:
    """--commit-time: unix seconds or ISO 8601 (a zone-less time is UTC)."""
    if value is None or isinstance(value, float):
        return value
    value = value.strip()
    try:
        return float(int(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"invalid commit time {value[:40]!r}: unix seconds or ISO 8601, "
                          "e.g. 2026-11-25T16:28:00+00:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def parents(value: str | list[str] | None) -> list[str]:
    """--parents: commit ids separated by commas or spaces (none for a root commit)."""
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if len(items) > MAX_PARENTS:
        raise ConfigError(f"too many parents ({len(items)}; at most {MAX_PARENTS})")
    return [commit_id(p, "parent commit id") for p in items]
