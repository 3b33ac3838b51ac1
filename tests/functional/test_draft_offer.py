"""The unfinished-visit offer that appears by itself after an unlock never takes keys the
worker typed for the caseload before it could be read; F4's offer answers typed-ahead keys."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fieldkit.screens.app import FieldkitApp, make_app
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.draft_offer import DraftOfferScreen
from fieldkit.screens.visit.step import VisitStep
from textual import events
from textual.widgets import Input, Static

from fieldkit import services
from fieldkit.services import visits
from fieldkit.store import Store
from tests.functional.conftest import TODAY, settle, until
from tests.functional.test_typed_ahead import burst


def _leave_draft(store: Store, case_id: str) -> str:
    """A visit left unfinished on `case_id` (a closed lid); its visit id."""
    draft = visits.new_draft(services.load_case(store, case_id), "jsmith", TODAY)
    draft["record"]["notes"] = "half-written"
    visits.save_draft(store, draft)
    return str(draft["visit_id"])


def _drafts_read_when_set(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The caseload's read of the drafts waits until the returned event is set."""
    read = threading.Event()
    found = visits.drafts

    def slow(store: Store, case_id: str | None = None) -> list[dict[str, Any]]:
        read.wait(30)
        return found(store, case_id)

    monkeypatch.setattr(visits, "drafts", slow)
    return read


def _notes(app: FieldkitApp) -> list[str]:
    """What the app says in notices from now on."""
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
    return notes


async def test_enter_typed_as_the_offer_appears_opens_the_case_not_the_draft(
    visit_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enter typed in the instant the offer is put up, before it is drawn, opens the
    highlighted case, as the worker meant on the caseload (it resumed the draft)."""
    draft_id = _leave_draft(visit_store, "C-VERBAL")
    shown = DraftOfferScreen.on_screen_resume

    def typed_as_it_appears(offer: DraftOfferScreen) -> None:
        burst(app, "enter")
        shown(offer)

    monkeypatch.setattr(DraftOfferScreen, "on_screen_resume", typed_as_it_appears)
    app = make_app(store=visit_store, today=TODAY)
    notes = _notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: not isinstance(app.screen, DashboardScreen), "Enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen), type(app.screen).__name__
        assert app.visit_session is None, "the offer's Enter resumed the draft"
        assert "F4 to resume" in " ".join(notes)
    assert draft_id in {d["visit_id"] for d in visits.drafts(visit_store)}


@pytest.mark.parametrize("at_work", ["typed", "clicked"])
async def test_no_offer_pops_up_once_the_worker_is_at_work_on_the_caseload(
    visit_store: Store, monkeypatch: pytest.MonkeyPatch, at_work: str
) -> None:
    """A search typed, or a click, while the caseload is still being read: when the drafts
    come, no window takes the next keys or covers what was clicked; the drafts line and a
    notice say F4 resumes."""
    _leave_draft(visit_store, "C-INFANT")
    read = _drafts_read_when_set(monkeypatch)
    app = make_app(store=visit_store, today=TODAY)
    notes = _notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the caseload")
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        if at_work == "typed":
            await pilot.press("slash", "v", "e")
        else:
            await pilot.click("#search")
        read.set()
        await until(pilot, lambda: bool(dashboard.drafts), "the drafts read")
        if at_work == "typed":
            await pilot.press("r")
        await settle(pilot)
        assert app.screen is dashboard, type(app.screen).__name__
        if at_work == "typed":
            assert dashboard.query_one("#search", Input).value == "ver"
        assert "F4 to resume" in " ".join(notes)
        assert "F4 to resume" in str(dashboard.query_one("#drafts-line", Static).render())


async def test_f4_then_enter_typed_at_once_resumes_the_draft(visit_store: Store) -> None:
    """The offer asked for with F4 answers the Enter typed right after it."""
    draft_id = _leave_draft(visit_store, "C-VERBAL")
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DraftOfferScreen), "the offer")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        for key, character in (("f4", None), ("enter", "\r")):
            event = events.Key(key, character)
            event.set_sender(app)
            app.post_message(event)
        await until(pilot, lambda: not isinstance(app.screen, DashboardScreen), "F4, Enter")
        await until(pilot, lambda: isinstance(app.screen, VisitStep), "the resumed visit", 5)
        session = app.visit_session
        assert session is not None and session.draft["visit_id"] == draft_id


async def test_a_key_typed_before_the_offer_is_drawn_after_it_was_closed_by_a_click(
    visit_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Enter typed before the offer was drawn, and the offer closed (a click on Later)
    before the Enter is handled: the Enter still goes to the caseload, and the caseload
    is not closed in the offer's place (the app crashed popping its last screen)."""
    _leave_draft(visit_store, "C-VERBAL")
    shown = DraftOfferScreen.on_screen_resume

    def typed_then_clicked(offer: DraftOfferScreen) -> None:
        burst(app, "enter")
        app.call_later(offer.dismiss, None)  # handled before the Enter's step aside
        shown(offer)

    monkeypatch.setattr(DraftOfferScreen, "on_screen_resume", typed_then_clicked)
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, CaseScreen), "the case Enter opened")
        await settle(pilot)
        assert isinstance(app.screen_stack[0], DashboardScreen)
        assert app.return_code is None, "the app stopped"


async def test_the_offer_shown_again_answers_keys_typed_since_it_was_first_drawn(
    visit_store: Store,
) -> None:
    """The screen blanked over the offer (Ctrl+B) and shown again: a key typed while the
    offer was on view is still its answer (its clock moved to the second draw, so a fast
    unblank, Enter closed the offer and opened a case)."""
    _leave_draft(visit_store, "C-VERBAL")
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DraftOfferScreen), "the offer")
        await settle(pilot)
        offer = app.screen
        assert isinstance(offer, DraftOfferScreen)
        typed_on_view = events.Key("enter", "\r")
        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.screen is not offer, "the blank screen")
        await pilot.press("space")
        await until(pilot, lambda: app.screen is offer, "the offer again")
        await settle(pilot)
        assert not offer.typed_before_seen(typed_on_view)
