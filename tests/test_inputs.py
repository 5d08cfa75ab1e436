"""benchmark/contracts/inputs.py: what identifies a run."""

from __future__ import annotations

import os

import pytest

from benchmark.contracts import inputs
from benchmark.contracts.config import ConfigError


def test_text_replaces_undecodable_bytes_and_drops_nul():
    argv_like = os.fsdecode(b"bad \xff\xfe bytes")  # how Python hands argv bytes over (surrogateescape)
    assert inputs.text(argv_like) == "bad \ufffd\ufffd bytes"
    assert inputs.text("a\x00b") == "ab"
    assert inputs.text("emoji 🚀 ünï") == "emoji 🚀 ünï"


@pytest.mark.parametrize("value, expected", [("main", "main"), ("  feature/x  ", "feature/x"),
                                             ("a" * 255, "a" * 255), ("ünï-🚀", "ünï-🚀")])
def test_branch_ok(value, expected):
    assert inputs.branch(value) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "a" * 256, "a\nb", "a\tb", "a\rb"])
def test_branch_bad(value):
    with pytest.raises(ConfigError) as info:
        inputs.branch(value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value, expected", [("abcd", "abcd"), ("ABCDEF0123", "abcdef0123"), (" 0123abcd\n", "0123abcd"),
                                             ("a" * 40, "a" * 40), ("f" * 64, "f" * 64)])
def test_commit_ok(value, expected):
    assert inputs.commit_id(value) == expected


@pytest.mark.parametrize("value", [None, "", "abc", "xyz!", "g123", "a" * 65, "a" * 100, "abcd ef"])
def test_commit_bad(value):
    with pytest.raises(ConfigError) as info:
        inputs.commit_id(value)
    assert "\n" not in str(info.value)


def test_message():
    assert inputs.message(None) == ""
    assert inputs.message("  subject\n\nbody\n") == "subject\n\nbody"
    long = "x" * 10000
    assert inputs.message(long) == long  # never truncated: the full text is kept
    assert inputs.message("'; DROP TABLE benchmarks; --") == "'; DROP TABLE benchmarks; --"


def test_blank_explicit_message_is_refused():
    with pytest.raises(ConfigError, match="--message is blank"):
        inputs.message("  \n\t ", explicit=True)
    assert inputs.message("", explicit=False) == ""  # a commit from git may have none


@pytest.mark.parametrize("value, expected", [
    ("https://x-access-token:ghs_s3cret@github.com/o/r.git", "https://github.com/o/r.git"),
    ("https://s3cret@github.com/o/r", "https://github.com/o/r"),
    ("ssh://git:s3cret@host:22/o/r.git", "ssh://host:22/o/r.git"),
    ("git@github.com:o/r.git", "github.com:o/r.git"),
    ("user:s3cret@host:o/r.git", "host:o/r.git"),
    ("huggingface/transformers", "huggingface/transformers"),
    ("https://github.com/o/r", "https://github.com/o/r"),
    ("  ", None),
    (None, None),
])
def test_repository_never_keeps_credentials(value, expected):
    assert inputs.repository(value) == expected


@pytest.mark.parametrize("value", ["r" * 513, "a\nb"])
def test_repository_bad(value):
    with pytest.raises(ConfigError, match="invalid repository"):
        inputs.repository(value)


def test_commit_time():
    assert inputs.commit_time(None) is None
    assert inputs.commit_time("1735689600") == 1735689600.0
    assert inputs.commit_time("2025-01-01T00:00:00Z") == 1735689600.0
    assert inputs.commit_time("2025-01-01T01:00:00+01:00") == 1735689600.0
    assert inputs.commit_time("2025-01-01 00:00:00") == 1735689600.0  # no zone: UTC
    with pytest.raises(ConfigError, match="invalid commit time 'yesterday'"):
        inputs.commit_time("yesterday")


def test_parents():
    assert inputs.parents(None) == [] and inputs.parents("") == []
    assert inputs.parents("ABCD, 1234ef") == ["abcd", "1234ef"]
    assert inputs.parents(["abcd"]) == ["abcd"]
    with pytest.raises(ConfigError, match="invalid parent commit id 'zz'"):
        inputs.parents("abcd zz")
    with pytest.raises(ConfigError, match="too many parents"):
        inputs.parents(["abcd"] * 17)
