"""User text is data: the one helper that makes it safe to show in Rich and Textual.

Names, addresses, threats and notes come from case-transfer files, the server and the
keyboard. Shown raw, `[/]` crashes a Rich render, `[link=…]` becomes a live hyperlink and an
ESC sequence rewrites the terminal. Every place that puts user text on a screen or a
console passes it through `safe` (markup) or `clean` (plain Text, tables without markup).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.cells import cell_len

# C0 controls except tab and newline, DEL, and the C1 controls (CSI among them).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Bidi overrides and isolates can make a name read differently from what it is.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def clean(value: Any) -> str:
    """The text with terminal control characters, bidi overrides and lone surrogates removed.

    A lone surrogate becomes U+FFFD (it cannot be encoded for the terminal at all).
    """
    text = value if isinstance(value, str) else str(value)
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    return _BIDI.sub("", text)


_BRACKET = re.compile(r"(\\*)\[")


def escape(text: str) -> str:
    """Every `[` escaped, so neither Rich nor Textual reads a tag in it.

    `rich.markup.escape` escapes only what Rich would take for a tag; Textual's parser
    also reads `[2J … \\[link=…]` as one, so here every bracket is escaped.
    """
    return _BRACKET.sub(lambda m: m.group(1) * 2 + "\\[", text)


def safe(value: Any) -> str:
    """The text cleaned and escaped, to interpolate into Rich/Textual markup."""
    return escape(clean(value))


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def json_text(value: Any, indent: int | None = None) -> str:
    """JSON for a terminal or a pipe: readable Unicode, but every control character,
    bidi override and lone surrogate written as a \\u escape (json escapes C0 itself)."""
    text = json.dumps(value, indent=indent, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def unsafe_characters(text: str) -> str | None:
    """A description of the first character import refuses in a text, or None."""
    for pattern, what in (
        (_SURROGATE, "a lone surrogate (not valid Unicode text)"),
        (_CONTROL, "a terminal control character"),
        (_BIDI, "a bidirectional override character"),
    ):
        found = pattern.search(text)
        if found:
            return f"{what} U+{ord(found.group()):04X}"
    return None


def cell(value: object) -> str:
    """User text for one plain-text cell: control characters removed, on one line."""
    return " ".join(clean(value).split()) if value is not None else ""


def aligned(rows: list[list[str]], gap: str = "  ") -> list[str]:
    """Rows of cleaned cells as plain text lines, each column padded to its widest cell.

    Long listings print this way: Rich's table layout costs seconds on thousands of rows,
    plain text of the same rows a few milliseconds. The last column is never padded.
    """
    if not rows:
        return []
    cells = [
        [(text, len(text) if text.isascii() else cell_len(text)) for text in row] for row in rows
    ]
    widths = [0] * max(len(r) for r in rows)
    for row in cells:
        for n, (_, width) in enumerate(row[:-1]):
            if width > widths[n]:
                widths[n] = width
    lines = []
    for row in cells:
        parts = [text + " " * (widths[n] - width) for n, (text, width) in enumerate(row[:-1])]
        lines.append(gap.join([*parts, row[-1][0]]).rstrip())
    return lines


def human_size(size: int) -> str:
    """1.2 MB, 340 KB, 12 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} KB"
    return f"{size} bytes"


__all__ = ["aligned", "cell", "clean", "human_size", "json_text", "safe", "unsafe_characters"]
