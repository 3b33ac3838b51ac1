"""User text round-trips through markup exactly: what the worker typed is what is shown,
in the CLI (Rich markup) and in the app (Textual content markup); only terminal control
characters, bidi overrides and lone surrogates are taken out (THREAT_MODEL.md, hostile input)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.content import Content

from fieldkit.text import clean, safe, safe_content

# Text rich in what markup reads: brackets, backslashes, tag words, slashes.
MARKUP_ALPHABET = st.sampled_from(list("[]\\/=#@ ab1:$\x1b\u202e\x9b"))
MARKUP_TEXT = st.lists(
    st.one_of(
        MARKUP_ALPHABET,
        st.sampled_from(["[bold red]", "[/]", "[link=https://x.example]", "\\[", "[2J"]),
    ),
    max_size=30,
).map("".join)

EXAMPLES = [
    "[bold red]threat[/] \\[escaped]",
    "a\\[",
    "a\\[2J",
    "\\\\[x]",
    "ends in a backslash \\",
    "[[b]",
    "[/] 12 Elm [link=https://x.example]Street[/link]",
]


def rich_plain(markup: str) -> str:
    # emoji=False: ":name:" codes are Rich's emoji shortcodes, not markup.
    return Text.from_markup(markup, emoji=False).plain


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_show_exactly_in_rich_and_textual(text: str) -> None:
    assert rich_plain(safe(text)) == text
    assert Content.from_markup(safe_content(text)).plain == text


@given(st.one_of(st.text(), MARKUP_TEXT))
def test_any_text_round_trips_through_rich_markup(text: str) -> None:
    assert rich_plain(safe(text)) == clean(text)


@given(st.one_of(st.text(), MARKUP_TEXT))
def test_any_text_round_trips_through_textual_markup(text: str) -> None:
    assert Content.from_markup(safe_content(text)).plain == clean(text)


@given(st.one_of(st.text(), MARKUP_TEXT), st.one_of(st.text(), MARKUP_TEXT))
def test_text_between_tags_keeps_its_tags_closed(before: str, after: str) -> None:
    """Interpolated into a template, the text opens or closes no tag of the template."""
    if clean(before).endswith("\\"):
        return  # a trailing backslash escapes the template's next tag in both parsers
    shown = Content.from_markup(f"[b]{safe_content(before)}[/b] {safe_content(after)}")
    assert shown.plain == f"{clean(before)} {clean(after)}"
    assert rich_plain(f"[b]{safe(before)}[/b] {safe(after)}") == f"{clean(before)} {clean(after)}"
