"""benchmark/inputs.py: what identifies a run."""

from __future__ import annotations

import os

import pytest

from benchmark import inputs
from benchmark.config import ConfigError


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
