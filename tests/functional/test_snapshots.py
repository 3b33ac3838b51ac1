"""SVG snapshots of every screen at 80×24 and 120×40, on a fixed day with seeded data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from textual.pilot import Pilot

from fieldkit.store import Store
from tests.functional.conftest import TODAY, click, open_case, settle, start_visit, until

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def _fixed_visit_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new visit's id is random; the pictures show it, so here it is always the same."""
    from types import SimpleNamespace

    from fieldkit import changelog
    from fieldkit.services import visits

    fixed = SimpleNamespace(uuid7=lambda: "snapshot", content_hash=changelog.content_hash)
    monkeypatch.setattr(visits, "changelog", fixed)


def _still(steps: Steps) -> Steps:
    """Run the steps, then stop cursors blinking so the picture is the same every time."""

    async def run(pilot: Pilot[Any]) -> None:
        await steps(pilot)
        session = pilot.app.visit_session  # type: ignore[attr-defined]
        await until(pilot, lambda: session is None or session.saved, "the draft autosave")
        await settle(pilot)
        for scroller in pilot.app.screen.query("VerticalScroll"):
            scroller.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
            # Textual's TextArea keeps each drawn line under one key for "blink off phase"
            # and "not blinking": stopped while its cursor was blinked off (a loaded machine
            # gets there), it would reuse the line drawn without the cursor. Its lines are
            # drawn afresh, so the focused field shows its cursor in every picture.
            widget.notify_style_update()
            widget.refresh()
        await settle(pilot)

    return run


Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def _dashboard(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def _dashboard_search(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press(*"ortiz")
    await settle(pilot)


async def _case(pilot: Pilot[Any]) -> None:
    await open_case(pilot, "C-VERBAL")


async def _help(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("f1")
    await settle(pilot)


def _visit_step(case_id: str, nexts: int, then: Steps | None = None) -> Steps:
    async def go(pilot: Pilot[Any]) -> None:
        await start_visit(pilot, case_id, nexts)
        if then is not None:
            await then(pilot)
        await settle(pilot)

    return go


async def _safety_changed(pilot: Pilot[Any]) -> None:
    await click(pilot, "#safety_changed-yes")
    session = pilot.app.visit_session  # type: ignore[attr-defined]
    await until(pilot, lambda: session.saved, "the draft autosave, so the indicator reads saved")
    await settle(pilot)


async def _complete_review(pilot: Pilot[Any]) -> None:
    """The review step of a visit with every answer given: the whole record before signing."""
    from fieldkit.services import visits
    from fieldkit.visit_record import PrivateInterview

    store = pilot.app.store  # type: ignore[attr-defined]
    case = visits.load_case_with_plan(store, "C-VERBAL")
    draft = visits.new_draft(case, "jsmith", TODAY)
    draft["visit_id"] = "v-snapshot"
    record = visits.record_of(draft)
    record.visit_id = "v-snapshot"
    record.kind, record.outcome, record.announced = "home", "completed", False
    record.present, record.others_present = ["p2", "p3"], "grandmother Rosa"
    record.location = "12 Elm Street"
    contact = record.contact("p2")
    contact.seen = True
    contact.private_interview = PrivateInterview(True, False, "his bedroom", "mum is better")
    record.safety.changed = False
    record.progress = {"g1": "calm evenings", "a1": "attended twice"}
    record.notes, record.next_steps = "home tidy", "call the school"
    record.next_visit = "2026-12-10"
    draft["record"], draft["step"] = record.to_doc(), "review"
    visits.save_draft(store, draft)
    await start_visit(pilot, "C-VERBAL")


SCREENS: dict[str, Steps] = {
    "dashboard": _dashboard,
    "dashboard_search": _dashboard_search,
    "case": _case,
    "help": _help,
    "visit_kind": _visit_step("C-VERBAL", 0),
    "visit_present": _visit_step("C-VERBAL", 1),
    "visit_safety": _visit_step("C-VERBAL", 2),
    "visit_safety_changed": _visit_step("C-VERBAL", 2, _safety_changed),
    "visit_interview": _visit_step("C-VERBAL", 3),
    "visit_observation": _visit_step("C-INFANT", 3),
    "visit_progress": _visit_step("C-VERBAL", 4),
    "visit_next": _visit_step("C-VERBAL", 5),
    "visit_review": _visit_step("C-VERBAL", 6),
    "visit_review_complete": _complete_review,
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(
    name: str, size: tuple[int, int], snap_compare: Any, visit_store: Store, demo_store: Store
) -> None:
    """Each screen, as the worker sees it."""
    store = demo_store if name.startswith("dashboard") or name == "help" else visit_store
    app = make_app(store=store, today=TODAY)
    assert snap_compare(app, terminal_size=size, run_before=_still(SCREENS[name]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_unlock_screen(size: tuple[int, int], snap_compare: Any, visit_store: Store) -> None:
    """The locked profile asks for the passphrase (no case data is shown)."""
    path = Path(visit_store.path)
    app = make_app(profile_path=path, today=TODAY)
    app.profile_path = path.with_name("default.fieldkit")  # the same name on every machine
    assert snap_compare(app, terminal_size=size, run_before=_still(settle))


async def test_a_picture_taken_after_the_cursor_blinked_off_still_shows_it(
    visit_store: Store,
) -> None:
    """The focused notes field, stilled in its blink's off phase (where a loaded machine
    lands), is drawn with its cursor, as in the `visit_next` pictures."""
    from textual.widgets import TextArea

    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:

        async def blinked_off(pilot: Pilot[Any]) -> None:
            await start_visit(pilot, "C-VERBAL", 5)
            notes = pilot.app.screen.query_one("#notes", TextArea)
            await until(pilot, lambda: not notes._cursor_visible, "the cursor blinked off")
            await pilot.pause()

        await _still(blinked_off)(pilot)
        notes = app.screen.query_one("#notes", TextArea)
        assert app.focused is notes
        shot = app.export_screenshot()
        x, y = notes.cursor_screen_offset
        assert f'fill="#e0e0e0" x="{x * 12.2:g}" y="{y * 24.4 + 1.5:g}"' in shot, "the cursor"
