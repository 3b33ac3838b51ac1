"""The key line at the bottom of every screen, made to fit 80 columns with whole labels."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeyFooter(Footer):
    """Compact keys, no palette entry (Ctrl+P is in F1's list): labels stay whole at 80×24."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)
