"""Help: every key of the screen the worker is on, read from that screen's bindings."""

from __future__ import annotations

from fieldkit.screens.keys import KeyLine, screen_keys, typing_field_focused
from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists the keys active on the screen below (never the help window's own)."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, below: Screen[object]) -> None:
        super().__init__()
        self.below = below
        self.keys: list[KeyLine] = screen_keys(below)
        """The lines shown, one per key, in the order Textual tries them."""

    def compose(self) -> ComposeResult:
        """One line per key of the screen below, then a few words on safety keys."""
        title = getattr(self.below, "HELP_TITLE", "") or type(self.below).__name__
        lines = [f"[b]Keys on this screen: {escape(str(title))}[/b]  (Esc closes)", ""]
        width = max((len(k.key) for k in self.keys), default=6) + 2
        lines += [f"  {escape(k.key):<{width}} {escape(k.description)}" for k in self.keys]
        if typing_field_focused(self.below):
            lines.append(f"  {'…':<{width}} in a text field: the usual editing keys")
        lines.append(f"  {'↑ ↓ PgUp':<{width}} scroll the page when it is longer than the screen")
        lines += [
            "",
            "Every answer in a visit is saved, encrypted, as you type.",
            "The app also locks itself when left idle.",
        ]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines), id="help-keys")

    def action_close(self) -> None:
        """Back to where the worker was."""
        self.dismiss(None)
