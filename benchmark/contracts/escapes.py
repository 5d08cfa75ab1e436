"""Text from outside (branch names, commit messages, a crashed worker's stderr) goes to
the terminal, and into the HTML report, escaped: an ESC sequence in a branch name must not
recolour, retitle or rewrite the screen of whoever reads the output, and a lone surrogate
(valid in JSON, not in UTF-8) must not make the write fail."""

from __future__ import annotations

# C0 and C1 controls, DEL, the bidirectional overrides that can make text read other than
# it is ("Trojan Source"), and lone surrogates.
_BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def printable(text: str, newlines: bool = False) -> str:
    """`text` with every control character written as an escape (\\x1b, \\u202e, \\ud800);
    with `newlines`, line breaks and tabs stay as they are."""
    out = []
    for ch in text:
        o = ord(ch)
        if newlines and ch in "\n\t":
            out.append(ch)
        elif o < 0x20 or 0x7F <= o < 0xA0:
            out.append(f"\\x{o:02x}")
        elif o in _BIDI or 0xD800 <= o < 0xE000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


def aligned(rows: list[list[str]]) -> list[str]:
    """Rows of cells as left-aligned columns, two spaces apart, no trailing blanks. Cells are
    escaped first (printable), so the columns align as the terminal shows them."""
    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
