"""Ask once before a decision that goes to someone else (approve, return, reject, dispute)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from fieldkit.i18n import N_, _
from fieldkit.text import safe_content


class ConfirmDialog(ModalScreen[bool]):
    """The decision in words; y or Enter confirms, n or Escape goes back (nothing recorded)."""

    HELP_TITLE = N_("Confirm")
    BINDINGS = [
        Binding("y,enter", "confirm", N_("Yes, record it")),
        Binding("n,escape", "cancel", N_("No, go back")),
    ]
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmDialog #confirm-question { text-style: bold; }
    ConfirmDialog #confirm-hint { margin-top: 1; }
    """

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        """The question, what it means, and the two keys."""
        with Vertical():
            yield Static(safe_content(self.question), id="confirm-question")
            if self.detail:
                yield Static(safe_content(self.detail), id="confirm-detail")
            yield Static(_("y / Enter: yes, record it · n / Esc: no, go back"), id="confirm-hint")

    def action_confirm(self) -> None:
        """Record the decision."""
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Nothing is recorded."""
        self.dismiss(False)
