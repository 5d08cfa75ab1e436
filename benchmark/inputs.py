"""Validation of what identifies a run: branch, commit id, commit message."""

from __future__ import annotations

import re

from .config import ConfigError

COMMIT_ID = re.compile(r"^[0-9a-fA-F]{4,64}$")  # abbreviated to full SHA-1 / SHA-256
SEED_MESSAGE_CHARS = 70  # the seed's commit_message column; the full text is kept elsewhere


def text(value: str) -> str:
    """Any bytes the shell passed become valid text: undecodable bytes (which Python keeps as
    surrogates) turn into U+FFFD, and NUL, which PostgreSQL text cannot hold, is dropped."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "")


def branch(value: str | None) -> str:
    if value is None:
        raise ConfigError("no branch given and none found in a git checkout (use --branch)")
    value = text(value).strip()
    if not value or len(value) > 255 or any(c in value for c in "\n\r\t"):
        raise ConfigError(f"invalid branch name {value[:80]!r}: 1-255 characters, one line")
    return value


def commit_id(value: str | None) -> str:
    if value is None:
        raise ConfigError("no commit id given and none found in a git checkout (use --commit)")
    value = text(value).strip()
    if not COMMIT_ID.match(value):
        raise ConfigError(f"invalid commit id {value[:80]!r}: expected 4-64 hexadecimal characters")
    return value.lower()


def message(value: str | None) -> str:
    return text(value or "").strip()
