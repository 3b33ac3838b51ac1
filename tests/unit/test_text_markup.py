"""User text round-trips through markup exactly: what the worker typed is what is shown,
in the CLI (Rich markup) and in the app (Textual content markup); only terminal control
characters, bidi overrides and lone surrogates are taken out (THREAT_MODEL.md, hostile input)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.content import Content

from fieldkit.text import TAG_GUARD, clean, safe, safe_content

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


def shown(text: str) -> str:
    """What the screen shows of a text: the text cleaned, and the zero-width guard after a
    trailing backslash."""
    cleaned = clean(text)
    return cleaned + TAG_GUARD if cleaned.endswith("\\") else cleaned


def rich_plain(markup: str) -> str:
    # emoji=False: ":name:" codes are Rich's emoji shortcodes, not markup.
    return Text.from_markup(markup, emoji=False).plain


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_show_exactly_in_rich_and_textual(text: str) -> None:
    assert rich_plain(safe(text)) == shown(text)
    assert Content.from_markup(safe_content(text)).plain == shown(text)


@given(st.one_of(st.text(), MARKUP_TEXT))
def test_any_text_round_trips_through_rich_markup(text: str) -> None:
    assert rich_plain(safe(text)) == shown(text)


@given(st.one_of(st.text(), MARKUP_TEXT))
def test_any_text_round_trips_through_textual_markup(text: str) -> None:
    assert Content.from_markup(safe_content(text)).plain == shown(text)


@given(st.one_of(st.text(), MARKUP_TEXT), st.one_of(st.text(), MARKUP_TEXT))
def test_text_between_tags_keeps_its_tags_closed(before: str, after: str) -> None:
    """Interpolated into a template, the text opens or closes no tag of the template."""
    expected = f"{shown(before)} {shown(after)}"
    assert (
        Content.from_markup(f"[b]{safe_content(before)}[/b] {safe_content(after)}").plain
        == expected
    )
    assert rich_plain(f"[b]{safe(before)}[/b] {safe(after)}") == expected


@pytest.mark.parametrize("name", ["Leo\\", "Leo\\\\", "\\"])
def test_a_name_ending_in_a_backslash_does_not_break_the_next_tag(name: str) -> None:
    """Before the guard, `Leo\\` before `[b]` escaped the tag and left `[/b]` unmatched:
    MarkupError, a crash on the name alone."""
    assert rich_plain(f"{safe(name)}[b]visit[/b]") == f"{name}{TAG_GUARD}visit"
    assert (
        Content.from_markup(f"{safe_content(name)}[b]visit[/b]").plain == f"{name}{TAG_GUARD}visit"
    )
    spans = Content.from_markup(f"{safe_content(name)}[b]visit[/b]").spans
    assert [(span.start, span.end) for span in spans] == [(len(name) + 1, len(name) + 6)]
