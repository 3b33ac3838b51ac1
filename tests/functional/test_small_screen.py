"""80×24 is first-class: on every screen and dialog the footer's labels are whole, no text
is clipped short of its own lines, and the review step says whether signing is blocked."""

from __future__ import annotations

from typing import Any

import pytest
from fieldkit.screens.app import make_app
from textual.pilot import Pilot
from textual.widgets import Label, Static
from textual.widgets._footer import FooterKey

from fieldkit.store import Store
from tests.functional.conftest import TODAY, settle, until
from tests.functional.test_snapshots import SCREENS, _visit_step

W, H = 80, 24


async def _dialog(pilot: Pilot[Any], push: Any) -> None:
    pilot.app.push_screen(push())
    await settle(pilot)


def _addendum() -> Any:
    from fieldkit.screens.visit.addendum import AddendumDialog

    return AddendumDialog()


def _confirm() -> Any:
    from fieldkit.screens.confirm import ConfirmDialog

    return ConfirmDialog(
        "Approve the home visit of 2026-11-20 (Ortiz family, jsmith)?",
        "The approval covers exactly what is shown; a later change shows it as stale.",
    )


def _comment() -> Any:
    from fieldkit.screens.supervisor.comment import CommentModal

    return CommentModal("Return the visit to the worker: what should they correct?")


async def _on_review(pilot: Pilot[Any], then: Any) -> None:
    await _visit_step("C-VERBAL", 6)(pilot)
    await _dialog(pilot, then)


DIALOGS = {
    "addendum": lambda p: _on_review(p, _addendum),
    "confirm": lambda p: _on_review(p, _confirm),
    "comment": lambda p: _on_review(p, _comment),
}


def _problems(pilot: Pilot[Any]) -> list[str]:
    screen = pilot.app.screen
    found: list[str] = []
    for key in screen.query(FooterKey):
        region = key.region
        if region.width and region.x < W and region.right > W:
            found.append(f"footer label cut: {key.description!r}")
    for widget in screen.query(Static):
        if not widget.display or not widget.region.area or isinstance(widget, FooterKey):
            continue
        box = widget.content_region
        needed = widget.get_content_height(box.size, box.size, box.width)
        if needed > box.height and isinstance(widget, Label | Static) is not False:
            found.append(f"{widget!r} needs {needed} lines, shows {box.height}")
    return found


@pytest.mark.parametrize("name", [*SCREENS, *DIALOGS])
async def test_nothing_is_cut_at_80x24(name: str, visit_store: Store, demo_store: Store) -> None:
    store = demo_store if name.startswith("dashboard") or name == "help" else visit_store
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(W, H)) as pilot:
        await (SCREENS.get(name) or DIALOGS[name])(pilot)
        await settle(pilot)
        assert _problems(pilot) == []
        if name == "visit_review":
            state = app.screen.query_one("#sign-state", Static)
            assert "Signing is blocked" in str(state.render())
            assert state.region.y > 0 and state.region.bottom <= H - 2, "above the status line"


async def test_the_record_to_sign_scrolls_with_page_keys_at_80x24(visit_store: Store) -> None:
    """The review step opens on the list of what is still required; PgDn and PgUp scroll
    the record to be signed (the list took them, so its end could only be read by mouse)."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(W, H)) as pilot:
        await _visit_step("C-VERBAL", 6)(pilot)
        body = app.screen.query_one("#step-body")
        assert app.focused is app.screen.query_one("#checks"), "the step opens on the list"
        assert body.max_scroll_y > 0, "the record is longer than the screen"
        await pilot.press("pagedown")
        await until(pilot, lambda: body.scroll_y > 0, "the record scrolled down", seconds=10)
        await pilot.press("pageup", "pageup", "pageup", "pageup", "pageup", "pageup")
        await until(pilot, lambda: body.scroll_y == 0, "the record back at its top", seconds=10)
