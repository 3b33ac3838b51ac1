"""Meaning never by colour alone: toggles show their state as ☑/☐ and ◉/○ in every theme
and under NO_COLOR, and people read names, kinds and dates where ids used to be."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.draft_offer import DraftOfferScreen
from fieldkit.screens.toggles import Choice, TickBox, TickList
from textual.pilot import Pilot
from textual.widgets import OptionList, Static
from textual.widgets._toggle_button import ToggleButton

from fieldkit import services
from fieldkit.services import visits
from fieldkit.store import Store
from tests.functional.conftest import TODAY, click, open_case, settle, start_visit


def _screen_text(pilot: Pilot[Any]) -> str:
    """What the screen says, as plain characters (no colour at all)."""
    parts: list[str] = []
    for widget in pilot.app.screen.query("*"):
        if isinstance(widget, TickList):
            parts += [widget.render_line(y).text for y in range(widget.option_count)]
        elif isinstance(widget, OptionList):
            parts += [str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)]
        elif isinstance(widget, Static | ToggleButton) and widget.display:
            parts.append(str(widget.render()))
    return "\n".join(parts)


@pytest.mark.parametrize("look", ["textual-dark", "high-contrast", "NO_COLOR"])
async def test_toggles_say_their_state_without_colour(
    look: str, visit_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    if look == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(store=visit_store, today=TODAY, theme=None if look == "NO_COLOR" else look)
    async with app.run_test(size=(100, 40)) as pilot:
        await start_visit(pilot, "C-VERBAL")
        await click(pilot, "#announced-no")
        await settle(pilot)
        announced = str(app.screen.query_one("#announced-yes", Choice).render())
        unannounced = str(app.screen.query_one("#announced-no", Choice).render())
        assert announced.startswith("○") and unannounced.startswith("◉")

        await pilot.press("ctrl+n")
        await settle(pilot)
        present = app.screen.query_one("#present", TickList)
        assert [present.render_line(y).text[:3] for y in range(2)] == [" ☐ ", " ☐ "]
        await click(pilot, "#present")
        await pilot.press("space")
        await settle(pilot)
        assert present.render_line(0).text.startswith(" ☑ ")
        assert present.render_line(1).text.startswith(" ☐ ")

        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        for box in app.screen.query(TickBox):
            glyph = str(box.render())[0]
            assert glyph == ("☑" if box.value else "☐")
            box.value = not box.value
            await pilot.pause()
            assert str(box.render())[0] == ("☑" if box.value else "☐")


async def test_the_same_words_in_every_look(visit_store: Store) -> None:
    """The high-contrast theme shows exactly the characters of the default one."""
    seen: list[str] = []
    app = make_app(store=visit_store, today=TODAY, theme="textual-dark")
    async with app.run_test(size=(100, 40)) as pilot:
        await start_visit(pilot, "C-VERBAL", 1)
        for theme in ("textual-dark", "high-contrast"):
            app.theme = theme
            await settle(pilot)
            seen.append(_screen_text(pilot))
    assert seen[0] == seen[1]


def _ids(text: str, ids: list[str]) -> list[str]:
    """The ids found in the text (an id that is an English word, like "plan", is skipped)."""
    return [
        i for i in ids if not i.isalpha() and re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)
    ]


async def test_case_view_and_draft_offer_name_people_not_ids(visit_store: Store) -> None:
    """A draft left on a child's step is offered as "Leo Ortiz: private interview"."""
    case = services.load_case(visit_store, "C-VERBAL")
    draft = visits.new_draft(case, "jsmith", TODAY)
    draft["step"] = "child:p2"
    visits.save_draft(visit_store, draft)
    ids = [p.id for p in case.people] + [v.id for v in case.visits] + [draft["visit_id"]]
    ids += [t.id for t in case.threats] + [p.id for p in case.safety_plans]
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DraftOfferScreen)
        offer = _screen_text(pilot)
        assert "Leo Ortiz" in offer and "private interview" in offer
        assert "child:" not in offer and not _ids(offer, ids)
        await pilot.press("escape")
        await open_case(pilot, "C-VERBAL")
        shown = _screen_text(pilot)
        assert not _ids(shown, ids), shown
        assert "seen nobody" not in shown and "seen Leo" in shown
