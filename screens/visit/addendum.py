"""The addendum dialog: a correction to a signed visit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static, TextArea

from fieldkit.i18n import N_, _


class AddendumDialog(ModalScreen[str | None]):
    """Ctrl+S keeps the addendum; Escape drops it."""

    HELP_TITLE = N_("Addendum")
    CSS_PATH = "addendum.tcss"
    AUTO_FOCUS = "#addendum-text"
    BINDINGS = [
        Binding("ctrl+s", "keep", N_("Save addendum"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def compose(self) -> ComposeResult:
        """One text area."""
        with Vertical(id="addendum-box"):
            yield Static(_("Addendum to a signed visit"), id="addendum-title")
            yield Label(_("The signed record does not change; this correction is kept beside it."))
            yield TextArea(id="addendum-text")
            yield Static(_("Ctrl+S saves · Escape cancels"), classes="hint")

    def action_keep(self) -> None:
        """Keep the text (empty text keeps nothing)."""
        text = self.query_one("#addendum-text", TextArea).text.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        """Drop it."""
        self.dismiss(None)
