"""The addendum dialog: a correction to a signed visit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from fieldkit.i18n import N_, _
from fieldkit.text import safe_content


class AddendumDialog(ModalScreen[str | None]):
    """Ctrl+S keeps the addendum; Escape drops it. A returned visit shows the supervisor's
    comment above the text, so the worker answers what was asked."""

    HELP_TITLE = N_("Addendum")
    CSS_PATH = "addendum.tcss"
    AUTO_FOCUS = "#addendum-text"
    BINDINGS = [
        Binding("ctrl+s", "keep", N_("Save addendum"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def __init__(self, returned_by: str = "", comment: str = "") -> None:
        super().__init__()
        self.returned_by = returned_by
        self.comment = comment

    def compose(self) -> ComposeResult:
        """The supervisor's comment when the visit was returned, then one text area."""
        with Vertical(id="addendum-box"):
            yield Static(_("Addendum to a signed visit"), id="addendum-title")
            if self.comment:
                yield Static(
                    _("Returned by {who}: {comment}").format(
                        who=safe_content(self.returned_by or _("the supervisor")),
                        comment=safe_content(self.comment),
                    ),
                    id="addendum-comment",
                )
            yield Static(
                _("The signed record does not change; this correction is kept beside it."),
                id="addendum-why",
            )
            yield TextArea(id="addendum-text")
            yield Static(_("Ctrl+S saves · Escape cancels"), classes="hint")

    def action_keep(self) -> None:
        """Keep the text (empty text keeps nothing)."""
        text = self.query_one("#addendum-text", TextArea).text.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        """Drop it."""
        self.dismiss(None)
