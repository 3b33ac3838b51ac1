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

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _

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
    if text.isascii() and text.isprintable():
        return text  # no control character, bidi override or surrogate: nothing to remove
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    return _BIDI.sub("", text)


# A `[` that Rich reads as a tag (a letter, #, / or @ next, a `]` before any other `[`),
# with the backslashes written just before it.
_RICH_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?\])")
_BRACKET = re.compile(r"\[")
# Written after text that ends in a backslash: zero cells wide, it keeps that backslash from
# escaping the template's next tag (both parsers read a backslash just before `[` as an
# escape, and Textual has no way to write a backslash there), which would otherwise show the
# tag as text or leave a closing tag unmatched (a MarkupError: a crash on a hostile name).
TAG_GUARD = "\u2060"


def _guarded(markup: str) -> str:
    return markup + TAG_GUARD if markup.endswith("\\") else markup


def escape(text: str) -> str:
    """Text as Rich markup that shows exactly the text: no tag, no backslash lost or doubled.

    Rich reads an odd run of backslashes before a tag as escaped backslashes and an escaped
    tag, so there the run is doubled and one more added; before any other `[` Rich only drops
    the one backslash written just before it. (`rich.markup.escape` leaves `[2J` alone, which
    Textual would read as a tag; here every bracket is escaped.) Text that ends in a backslash
    is followed by `TAG_GUARD`.
    """
    position = 0
    parts: list[str] = []
    for found in _RICH_TAG.finditer(text):
        parts.append(_BRACKET.sub(r"\\[", text[position : found.start()]))
        parts.append(found.group(1) * 2 + "\\" + found.group(2))
        position = found.end()
    parts.append(_BRACKET.sub(r"\\[", text[position:]))
    return _guarded("".join(parts))


def escape_content(text: str) -> str:
    """Text as Textual content markup that shows exactly the text.

    Textual reads every `[` not written after a backslash as a tag and drops that one
    backslash; backslashes anywhere else are text. So each `[` gets one backslash and
    nothing else changes (doubling the backslashes before it, as Rich needs, would show
    them doubled). Text that ends in a backslash is followed by `TAG_GUARD`.
    """
    return _guarded(_BRACKET.sub(r"\\[", text))


def safe(value: Any) -> str:
    """The text cleaned and escaped, to interpolate into Rich markup (console, Rich tables,
    DataTable cells)."""
    return escape(clean(value))


def safe_content(value: Any) -> str:
    """The text cleaned and escaped, to interpolate into Textual markup (Static, Label,
    Option, Selection, notify)."""
    return escape_content(clean(value))


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


def check_text(value: Any, where: str) -> None:
    """Text typed, piped or read for a record holds only what `case import` accepts.

    The same characters import refuses (`unsafe_characters`) are refused here, in one line,
    before anything is written: a record that holds one would be exported into a file its own
    import refuses (THREAT_MODEL.md, hostile input). Form keys and nested lists count too.
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            problem = unsafe_characters(item)
        elif isinstance(item, dict):
            problem = next(filter(None, (unsafe_characters(str(k)) for k in item)), None)
            stack += [(v, f"{at}.{clean(k)}") for k, v in item.items()]
        elif isinstance(item, list | tuple):
            problem = None
            stack += [(v, f"{at}[{n}]") for n, v in enumerate(item)]
        else:
            problem = None
        if problem:
            raise FieldkitError(
                _("{where}: the text holds {problem}; nothing was saved").format(
                    where=at, problem=problem
                )
            )


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
        for n, (_text, width) in enumerate(row[:-1]):
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


__all__ = [
    "aligned",
    "cell",
    "check_text",
    "clean",
    "escape",
    "escape_content",
    "human_size",
    "json_text",
    "safe",
    "safe_content",
    "unsafe_characters",
]
