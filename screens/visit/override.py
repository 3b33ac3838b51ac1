"""The override dialog: go past one check, with the reason kept on the record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from fieldkit.i18n import N_, _
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.practice import GateCheck
    from fieldkit.practice.visit_checks import VisitCheck


class OverrideDialog(ModalScreen[str | None]):
    """Asks why the rule is not met; Enter records, Escape cancels."""

    HELP_TITLE = N_("Override a check")
    CSS_PATH = "override.tcss"
    AUTO_FOCUS = "#reason"
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, check: GateCheck | VisitCheck) -> None:
        super().__init__()
        self.check = check

    def compose(self) -> ComposeResult:
        """The check in words and the reason field."""
        with Vertical(id="override-box"):
            yield Static(
                _("Override {rule}").format(rule=safe_content(self.check.rule)), id="override-title"
            )
            yield Static(safe_content(self.check.message))
            yield Label(_("Why is this not met? (kept on the record with your name)"))
            yield Input(id="reason", placeholder=_("reason, then Enter"))
            yield Static("", id="override-status")

    @on(Input.Submitted, "#reason")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#override-status", Static).update(_("Write the reason first."))
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """No override."""
        self.dismiss(None)
