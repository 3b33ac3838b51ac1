"""The key line at the bottom of every screen, made to fit 80 columns with whole labels."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from fieldkit import i18n
from fieldkit.i18n import _


class KeyFooter(Footer):
    """Compact keys, no palette entry (Ctrl+P is in F1's list): labels stay whole at 80×24."""

    class Shown(Message):
        """The key line has its keys (the app draws its first frame once they are in)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)
        self._composed_width: int | None = None
        """The terminal width the keys were last chosen for."""
        self._composed_keys: tuple[Any, ...] | None = None
        """What the keys on show were made from (`_keys_made_of`)."""

    def _keys_made_of(self) -> tuple[Any, ...]:
        """Everything the keys on show depend on: the screen's shown bindings with their
        state, the width and the language."""
        if not self._bindings_ready or not self.is_attached:
            return ()
        shown = tuple(
            (binding, enabled, tooltip)
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        return (shown, self.app.size.width, i18n.language(), self.show_command_palette)

    def compose(self) -> ComposeResult:
        """Textual's keys with their words in the worker's language (bindings are fixed at
        import in English and marked for the catalogue; the words are looked up here).

        Only keys whose label fits whole are shown, in binding order (the screen's own keys
        come first); a key that does not fit is left out rather than cut — F1 lists them all.
        """
        width = self.app.size.width or 80
        self._composed_width = width
        self._composed_keys = self._keys_made_of()
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

    async def recompose(self) -> None:
        """Textual fills the keys in once the screen's bindings are known (a refresh after
        the mount), and again at every later change of focus or bindings: the same keys
        again are left as they are. Say so when the keys are in."""
        if not self._composed_keys or self._keys_made_of() != self._composed_keys:
            await super().recompose()
        if self._bindings_ready and self.is_attached:
            self.post_message(self.Shown())

    def bindings_changed(self, screen: Any) -> None:
        """Textual's, and a key line that waits for the terminal's focus holds no frame."""
        super().bindings_changed(screen)
        if not screen.app.app_focus:
            self.post_message(self.Shown())

    def on_resize(self) -> None:
        """A wider or narrower terminal shows more or fewer whole keys (the first size, at
        mount, is the width the keys were just chosen for: nothing to do again)."""
        if (self.app.size.width or 80) != self._composed_width:
            self.refresh(recompose=True)
