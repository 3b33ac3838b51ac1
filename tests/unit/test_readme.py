"""The README's command examples give case text the way the CLI takes it: `-` (stdin) or
`@FILE`, never words on the command line (fieldkit/freetext.py refuses those)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
TEXT_FLAGS = re.compile(r"(--text|--comment|--decisions|--value)[ =]([^\s\]`|]+)")


def test_readme_free_text_examples_are_accepted_forms() -> None:
    found = TEXT_FLAGS.findall(README.read_text(encoding="utf-8"))
    assert found, "the README shows no free-text example"
    for flag, source in found:
        assert source == "-" or source.startswith("@"), f"{flag} {source}: the CLI refuses it"
