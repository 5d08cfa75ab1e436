"""benchmark/contracts/escapes.py: outside text reaches the terminal and the report escaped."""

from __future__ import annotations

from benchmark.contracts.escapes import printable


def test_controls_are_escaped():
    assert printable("x\x1b]0;title\x07") == "x\\x1b]0;title\\x07"
    assert printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert printable("a\rb\x00c\x7f\x9b") == "a\\x0db\\x00c\\x7f\\x9b"
    assert printable("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert printable("two\nlines\ttab") == "two\\x0alines\\x09tab"
    assert printable("two\nlines\ttab", newlines=True) == "two\nlines\ttab"
    assert printable("half \ud83d pair") == "half \\ud83d pair"


def test_ordinary_text_is_untouched():
    text = "feature/ünïcode 🚀 中文 'quotes' \"double\" \\backslash"
    assert printable(text) == text


def test_aligned_escapes_before_it_measures_so_columns_line_up_as_shown():
    from benchmark.contracts.escapes import aligned

    lines = aligned([["NAME", "STATE"], ["a\tb", "ok"], ["longer-name", ""]])
    assert lines == ["NAME         STATE", "a\\x09b       ok", "longer-name"]
