"""The keys a screen answers to, read from its bindings (so the help can never drift)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.widgets import Input, TextArea

from fieldkit.i18n import N_, _

BETTER_WORDS = {
    "toggle_button": N_("Tick / untick, or choose the highlighted answer"),
    "select": N_("Choose the highlighted line"),
    "app.focus_next": N_("Next field"),
    "app.focus_previous": N_("Previous field"),
}
"""Textual's own descriptions where a worker needs more than "Toggle"."""

KEY_WORDS = {
    "question_mark": "?",
    "slash": "/",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "tab": "Tab",
    "shift+tab": "Shift+Tab",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "delete": "Del",
    "backspace": "Backspace",
}


@dataclass(frozen=True)
class KeyLine:
    """One key of a screen and, in words, what it does there."""

    key: str
    """The key as the worker types it ("Ctrl+N", "F3", "v")."""
    description: str
    """What the key does, from the binding's description, in the worker's language."""


def key_words(key: str) -> str:
    """A binding's key as printed on a keyboard: "ctrl+n" → "Ctrl+N", "f3" → "F3"."""
    if key in KEY_WORDS:
        return KEY_WORDS[key]
    parts = key.split("+")
    *mods, last = parts
    last = KEY_WORDS.get(last, last.upper() if len(last) > 1 or mods else last)
    return "+".join([m.capitalize() for m in mods] + [last])


def screen_keys(screen: Screen[object]) -> list[KeyLine]:
    """Every key the screen answers to now, in the order Textual tries them.

    Priority bindings first (app, then screen, then the focused widget), then the others from
    the focused widget up to the app; a key bound twice is listed once, as Textual runs it.
    The editing keys of a text field and the scroll keys of a page are left out (one line
    each says they exist). Listed from the focused widget out to the app.
    """
    chain = [
        (rank, node, bindings)
        for rank, (node, bindings) in enumerate(screen._binding_chain)
        if not isinstance(node, Input | TextArea | ScrollableContainer)
    ]
    seen: set[str] = set()
    ranked: list[tuple[int, KeyLine]] = []

    def add(rank: int, binding: Binding) -> None:
        if binding.key in seen or not binding.description or binding.system:
            return
        seen.add(binding.key)
        shown = binding.key_display or key_words(binding.key)
        words = _(BETTER_WORDS.get(binding.action, binding.description))
        if binding.tooltip:
            words = _("{what}: {how}").format(what=words, how=_(binding.tooltip))
        ranked.append((rank, KeyLine(shown, words)))

    for rank, _node, bindings in reversed(chain):
        for group in bindings.key_to_bindings.values():
            for binding in group:
                if binding.priority:
                    add(rank, binding)
    for rank, _node, bindings in chain:
        for group in bindings.key_to_bindings.values():
            for binding in group:
                if not binding.priority:
                    add(rank, binding)
    ranked.sort(key=lambda pair: pair[0])
    return [line for _rank, line in ranked]


def typing_field_focused(screen: Screen[object]) -> bool:
    """A text field has the focus (its editing keys are the usual ones)."""
    return isinstance(screen.focused, Input | TextArea)
