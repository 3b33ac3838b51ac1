"""F1 lists the keys of the screen the worker is on, read from that screen's bindings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fieldkit.screens.app import FieldkitApp, make_app
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.help import HelpScreen
from fieldkit.screens.keys import BETTER_WORDS, key_words
from textual.binding import Binding
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, TextArea

from fieldkit.store import Store
from tests.functional.conftest import TODAY, open_case, settle, start_visit

Steps = Callable[[Pilot[Any]], Awaitable[None]]


def _visit(nexts: int, case_id: str = "C-VERBAL") -> Steps:
    async def go(pilot: Pilot[Any]) -> None:
        await start_visit(pilot, case_id, nexts)

    return go


async def _case(pilot: Pilot[Any]) -> None:
    await open_case(pilot, "C-VERBAL")


async def _caseload(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def _caseload_table(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("tab")
    await settle(pilot)


SCREENS: dict[str, Steps] = {
    "caseload": _caseload,
    "caseload_table": _caseload_table,
    "case": _case,
    "visit_kind": _visit(0),
    "visit_present": _visit(1),
    "visit_safety": _visit(2),
    "visit_interview": _visit(3),
    "visit_observation": _visit(3, "C-INFANT"),
    "visit_progress": _visit(4),
    "visit_next": _visit(5),
    "visit_review": _visit(6),
}


def _declared(screen: Screen[Any]) -> list[Binding]:
    """The bindings the screen's classes declare (BINDINGS of the class and its bases)."""
    found: list[Binding] = []
    for cls in type(screen).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding):
                found += list(Binding.make_bindings([binding]))
    return found


def _keys_taken_before(screen: Screen[Any], app: FieldkitApp) -> set[str]:
    """Keys a priority app binding or the focused widget answers before the screen does."""
    taken = {key for key, b in app._bindings if b.priority}
    focused = screen.focused
    if focused is not None and not isinstance(focused, Input | TextArea):
        taken |= set(focused._bindings.key_to_bindings)
    return taken


async def _help_for(pilot: Pilot[Any]) -> tuple[Screen[Any], HelpScreen, str]:
    below = pilot.app.screen
    await pilot.press("f1")
    await settle(pilot)
    shown = pilot.app.screen
    assert isinstance(shown, HelpScreen)
    return below, shown, str(shown.query_one("#help-keys").render())


@pytest.mark.parametrize("name", list(SCREENS))
async def test_help_lists_the_screens_own_keys(name: str, visit_store: Store) -> None:
    """Every key the screen declares is one line of its help, with its description."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await SCREENS[name](pilot)
        below, help_screen, text = await _help_for(pilot)
        lines = text.splitlines()
        taken = _keys_taken_before(below, app)
        for binding in _declared(below):
            if not binding.description or binding.key in taken:
                continue
            key = binding.key_display or key_words(binding.key)
            words = BETTER_WORDS.get(binding.action, binding.description)
            matching = [
                line for line in lines if line.split() and line.split()[0] == key and words in line
            ]
            assert matching, f"{key} ({words}) missing from the help on {name}"
        for binding in FieldkitApp.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.description in text
        # The help window's own keys are not the screen's.
        own = {b.description for b in _declared(help_screen)}
        declared = {b.description for b in _declared(below)}
        listed = {k.description.split(":")[0] for k in help_screen.keys}
        for description in own - declared:
            assert description not in listed
        # Each key once, one line each.
        keys = [k.key for k in help_screen.keys]
        assert len(keys) == len(set(keys))
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is below


async def test_help_on_the_caseload_names_its_keys(demo_store: Store) -> None:
    """The keys a worker asked for by name: Enter, F3, F4, /, and the app's Ctrl keys."""
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        _, help_screen, text = await _help_for(pilot)
        pairs = {(k.key, k.description.split(":")[0]) for k in help_screen.keys}
        for pair in [
            ("Enter", "Open case"),
            ("F3", "Filter"),
            ("F4", "Drafts"),
            ("/", "Search"),
            ("Ctrl+L", "Lock"),
            ("Ctrl+Y", "Sync"),
        ]:
            assert pair in pairs
        assert "Close" not in {k.description for k in help_screen.keys}


async def test_slash_focuses_the_search_and_is_never_typed(demo_store: Store) -> None:
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        search = screen.query_one("#search", Input)
        await pilot.press(*"ort")
        await pilot.press("tab")
        assert app.focused is not search
        await pilot.press("slash")
        assert app.focused is search
        await pilot.press("slash", *"ana")
        assert search.value == "ana", "'/' selects the search; what is typed replaces it"
