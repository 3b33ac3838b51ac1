"""Help: every key of the screen underneath, in words."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _key(key: str) -> str:
    return {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter"}.get(
        key,
        key.replace("ctrl+", "Ctrl+").upper() if len(key) <= 3 else key.replace("ctrl+", "Ctrl+"),
    )


class HelpScreen(ModalScreen[None]):
    """Lists the keys active on the screen below, and the app-wide ones."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        """The keys of the screen below, then the app's."""
        below = self.app.screen_stack[-1] if self.app.screen_stack else None
        lines = ["[b]Keys[/b]  (Esc closes)", ""]
        seen: set[str] = set()
        nodes = [below, below.focused if below else None, self.app] if below else [self.app]
        for node in nodes:
            if node is None:
                continue
            for binding in node._bindings.key_to_bindings.values():
                for b in binding:
                    if not b.description or b.key in seen:
                        continue
                    seen.add(b.key)
                    lines.append(f"  {_key(b.key):<10} {b.description}")
        lines += [
            "",
            "  Ctrl+P     command palette: find a case or an action",
            "  Ctrl+Q     quit (the visit draft is saved first)",
            "",
            "Every answer in a visit is saved, encrypted, as you type.",
            "Ctrl+L locks now; the app also locks itself when left idle.",
            "Ctrl+B blanks the screen when someone looks over your shoulder.",
        ]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines))

    def action_close(self) -> None:
        """Back to where the worker was."""
        self.dismiss(None)
