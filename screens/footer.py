"""The key line at the bottom of every screen, made to fit 80 columns with whole labels."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from fieldkit.i18n import _


class KeyFooter(Footer):
    """Compact keys, no palette entry (Ctrl+P is in F1's list): labels stay whole at 80×24."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)

    def compose(self) -> ComposeResult:
        """Textual's keys with their words in the worker's language (bindings are fixed at
        import in English and marked for the catalogue; the words are looked up here)."""
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if widget.tooltip and isinstance(widget.tooltip, str):
                    widget.tooltip = _(widget.tooltip)
            yield widget
