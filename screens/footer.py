"""The key line at the bottom of every screen, made to fit 80 columns with whole labels."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
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
        self._composed_width: int | None = None
        """The terminal width the keys were last chosen for."""

    def compose(self) -> ComposeResult:
        """Textual's keys with their words in the worker's language (bindings are fixed at
        import in English and marked for the catalogue; the words are looked up here).

        Only keys whose label fits whole are shown, in binding order (the screen's own keys
        come first); a key that does not fit is left out rather than cut — F1 lists them all.
        """
        width = self.app.size.width or 80
        self._composed_width = width
        used = 0
        kept = 0
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if widget.tooltip and isinstance(widget.tooltip, str):
                    widget.tooltip = _(widget.tooltip)
                # compact: "key description" and one space before the next key
                need = cell_len(widget.key_display) + 1 + cell_len(widget.description) + 1
                if used + need > width + 1:  # the last key needs no space after it
                    continue
                used += need
            kept += 1
            yield widget
        self.styles.grid_size_columns = max(kept, 1)

    def on_resize(self) -> None:
        """A wider or narrower terminal shows more or fewer whole keys (the first size, at
        mount, is the width the keys were just chosen for: nothing to do again)."""
        if (self.app.size.width or 80) != self._composed_width:
            self.refresh(recompose=True)
