"""Help: every key of the screen the worker is on, read from that screen's bindings."""

from __future__ import annotations

from fieldkit.screens.keys import KeyLine, screen_keys, typing_field_focused
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from fieldkit.i18n import N_, _
from fieldkit.text import safe_content


class HelpScreen(ModalScreen[None]):
    """Lists the keys active on the screen below (never the help window's own)."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape", "close", N_("Close")),
        Binding("f1", "close", N_("Close"), show=False),
        Binding("question_mark", "close", N_("Close"), show=False),
    ]

    def __init__(self, below: Screen[object]) -> None:
        super().__init__()
        self.below = below
        self.keys: list[KeyLine] = screen_keys(below)
        """The lines shown, one per key, in the order Textual tries them."""

    def compose(self) -> ComposeResult:
        """One line per key of the screen below, then a few words on safety keys."""
        named = getattr(self.below, "HELP_TITLE", "")
        title = _(named) if named else type(self.below).__name__
        lines = [
            _("[b]Keys on this screen: {title}[/b]  (Esc closes)").format(title=safe_content(title))
        ]
        lines.append("")
        width = max((len(k.key) for k in self.keys), default=6) + 2
        lines += [
            f"  {safe_content(k.key):<{width}} {safe_content(k.description)}" for k in self.keys
        ]
        if typing_field_focused(self.below):
            lines.append(f"  {'…':<{width}} " + _("in a text field: the usual editing keys"))
        lines.append(
            f"  {'↑ ↓ PgUp':<{width}} " + _("scroll the page when it is longer than the screen")
        )
        lines += [
            "",
            _("Every answer in a visit is saved, encrypted, as you type."),
            _("The app also locks itself when left idle."),
        ]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines), id="help-keys")

    def action_close(self) -> None:
        """Back to where the worker was."""
        self.dismiss(None)
