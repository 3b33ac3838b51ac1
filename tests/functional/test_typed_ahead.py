"""Keys typed while a visit step is still drawing reach it, in order, once it has focused its
first field: the focus they move is never taken back by the step getting ready."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fieldkit.screens.app import FieldkitApp, make_app
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.visit.contact_kind import ContactKindStep
from fieldkit.screens.visit.step import VisitStep
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, RadioSet

from fieldkit.services import visits
from fieldkit.store import Store
from tests.functional.conftest import TODAY, open_case, settle, start_visit, until

CHARACTERS = {"tab": "\t", "enter": "\r", "ctrl+n": "\x0e", "minus": "-"}


def burst(app: FieldkitApp, *keys: str) -> None:
    """The keys as a terminal delivers a fast typist's burst: all queued at once, none
    waiting for the screen the first of them opens."""
    for key in keys:
        event = events.Key(key, CHARACTERS.get(key, key))
        event.set_sender(app)
        app.post_message(event)


async def step_ready(pilot: Pilot[Any], key: str) -> VisitStep:
    """The step `key` in front with its typed-ahead keys handed over, and still."""
    app: Any = pilot.app

    def ready() -> bool:
        screen = app.screen
        held = app._keys_held or app._pending_keys or app._key_in_flight is not None
        return isinstance(screen, VisitStep) and screen.key == key and not held

    await until(pilot, ready, f"the {key} step with the keys typed ahead handed over")
    await settle(pilot)
    assert isinstance(app.screen, VisitStep)
    return app.screen


async def test_tab_enter_typed_as_the_visit_opens_chooses_the_first_kind(
    visit_store: Store,
) -> None:
    """V, Tab, Enter in one burst: Tab goes from the date to the kind, Enter chooses "home"
    (a step got ready twice and took the focus back to the date, so Enter left the date)."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-VERBAL")
        burst(app, "v", "tab", "enter")
        step = await step_ready(pilot, "kind")
        assert isinstance(step, ContactKindStep)
        kind = step.query_one("#kind", RadioSet)
        assert app.focused is kind
        assert kind.pressed_index == 0
        assert app.visit_session is not None
        assert app.visit_session.record.kind == app.visit_session.policy.contact_kinds[0]


async def test_v_pressed_while_the_case_loads_starts_the_visit_once_it_has(
    visit_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case view shows "v Start visit" before its case is read: V, Tab, Enter typed then
    start the visit once the case is there, and Tab and Enter answer its first question
    (V was dropped, and the keys after it went to the case view)."""
    loaded = threading.Event()
    load = visits.load_case_with_plan

    def slow(store: Store, case_id: str) -> Any:
        loaded.wait(30)
        return load(store, case_id)

    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*"C", "minus", *"VERBAL")
        await settle(pilot)
        monkeypatch.setattr(visits, "load_case_with_plan", slow)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CaseScreen), "the case view")
        assert app.screen.case is None, "the case is still loading"
        burst(app, "v", "tab", "enter")
        await until(pilot, lambda: app._keys_held, "V, pressed while the case loads, held")
        assert app.visit_session is None
        loaded.set()
        step = await step_ready(pilot, "kind")
        assert step.query_one("#kind", RadioSet).pressed_index == 0
        assert app.visit_session is not None and app.visit_session.case.id == "C-VERBAL"


async def test_each_step_of_a_visit_gets_ready_once(
    visit_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step focuses its first field and hands the kept keys over once, on every step of a
    visit; asked again, it leaves the focus where the worker's keys moved it."""
    readied: list[str] = []
    ready = VisitStep._ready

    async def counted(step: VisitStep) -> None:
        readied.append(step.key)
        await ready(step)

    monkeypatch.setattr(VisitStep, "_ready", counted)
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, "C-VERBAL", 6)
        await step_ready(pilot, "review")
        await pilot.press("escape")
        step = await step_ready(pilot, "next")
        steps = ["kind", "present", "safety", "child:p2", "progress", "next", "review", "next"]
        assert readied == steps, "each step of the visit was made ready once, in order"
        await pilot.press("tab")
        moved = app.focused
        assert moved is not step.first_field()
        await ready(step)
        assert app.focused is moved, "a step already ready does not take the focus back"


async def test_enter_then_v_typed_quickly_on_the_caseload_starts_the_visit(
    visit_store: Store,
) -> None:
    """Enter, V in one burst from the caseload's search: Enter opens the case under the cursor
    and V starts its visit (the V was handed to the search before the case view was in
    front, and filtered the caseload instead)."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        search = dashboard.query_one("#search", Input)
        assert app.focused is search
        burst(app, "enter", "v")
        await until(
            pilot,
            lambda: isinstance(app.screen, VisitStep) or search.value,
            "the visit started, or the V typed into the search",
        )
        assert search.value == "", "V went to the search, not to the case view"
        step = await step_ready(pilot, "kind")
        assert isinstance(step, ContactKindStep)


async def test_a_case_id_and_enter_typed_in_one_burst_open_that_case(demo_store: Store) -> None:
    """A case id typed into the search and Enter, all at once: Enter opens the case the
    search finds, not the row under the cursor before the last letters were filtered."""
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        rows = dashboard.rows
        wanted = next(r.case_id for r in rows[1:] if r.case_id.startswith("C-2026-00"))
        assert rows[0].case_id != wanted
        burst(app, *[{"-": "minus"}.get(ch, ch) for ch in wanted], "enter")
        await until(pilot, lambda: isinstance(app.screen, CaseScreen), "a case view")
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.case_id == wanted
