"""Privacy: a blank screen, at once, when someone should not see the case."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static


class PrivacyScreen(ModalScreen[None]):
    """Shows nothing about anyone; any key brings the work back."""

    CSS_PATH = "privacy.tcss"

    def compose(self) -> ComposeResult:
        """A neutral word, nothing else."""
        yield Static("fieldkit", id="privacy-word")

    def on_key(self, event: events.Key) -> None:
        """Any key returns (Ctrl+L still locks: it is a priority binding)."""
        event.stop()
        self.dismiss(None)
