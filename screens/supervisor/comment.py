"""A small modal that asks the supervisor for a comment (return, reject, dispute)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from fieldkit.i18n import N_, _


class CommentModal(ModalScreen[str | None]):
    """Ask why; Enter sends it, Escape cancels (None)."""

    HELP_TITLE = N_("Comment")
    DEFAULT_CSS = """
    CommentModal { align: center middle; }
    CommentModal > Vertical {
        width: 70; max-width: 95%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    CommentModal #comment-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, title: str, placeholder: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder or _("What should the worker correct?")

    def compose(self) -> ComposeResult:
        """Title, one input, a line for errors."""
        with Vertical():
            yield Label(self.title_text)
            yield Input(placeholder=self.placeholder, id="comment")
            yield Static("", id="comment-error")

    @on(Input.Submitted, "#comment")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#comment-error", Static).update(_("Write a comment first."))
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Nothing is recorded."""
        self.dismiss(None)
