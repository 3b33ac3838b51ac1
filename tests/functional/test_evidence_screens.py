"""The case view lists collateral contacts and attachments (escaped, never as markup)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fieldkit.screens.app import make_app
from fieldkit.screens.case_view import CaseScreen
from PIL import Image
from textual.widgets import Static

from fieldkit import attachments, contacts
from fieldkit.store import Store
from tests.functional.conftest import TODAY, open_case, settle


async def test_case_view_lists_contacts_and_attachments(visit_store: Store, tmp_path: Path) -> None:
    photo = tmp_path / "crib.jpg"
    Image.new("RGB", (3000, 2000), (10, 20, 30)).save(photo, format="JPEG")
    attachments.attach(visit_store, "C-INFANT", photo, caption="Crib [b]assembled[/b]")
    contacts.add_contact(
        visit_store,
        "C-INFANT",
        day=date(2026, 11, 24),
        kind="call",
        who="Nurse Ito [public health]",
        role="provider",
        notes="Maya's weight is on track.",
        children=["p1"],
        today=TODAY,
    )
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-INFANT")
        assert isinstance(app.screen, CaseScreen)
        await settle(pilot)
        box = app.screen.query_one("#evidence", Static)
        assert box.display
        text = str(box.render())
        assert "Collateral contacts" in text and "Nurse Ito [public health]" in text
        assert "about Maya Ortiz" in text and "weight is on track" in text
        assert "Attachments" in text and "photo" in text and "Crib [b]assembled[/b]" in text


async def test_recording_an_acknowledgement_from_the_case_view(visit_store: Store) -> None:
    """Rule SA-5: the caregiver had the safety plan read aloud and agreed; stored, signed."""
    from fieldkit.screens.acknowledge import AcknowledgeScreen

    from fieldkit.acknowledgements import acknowledgements_of
    from tests.functional.conftest import click, type_text

    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-VERBAL")
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Choose the caregiver" in str(app.screen.query_one("#ack-error", Static).render())
        await click(pilot, "#caregiver-0")
        await type_text(pilot, "#ack-name", "Ana Ortiz")
        await click(pilot, "#how-read-aloud-agreed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        await settle(pilot)
        text = str(app.screen.query_one("#evidence", Static).render())
        assert "had the plan read aloud and agreed" in text
    (ack,) = acknowledgements_of(visit_store, "C-VERBAL", "safety_plan", "plan")
    assert (ack.caregiver, ack.typed_name, ack.how) == ("p3", "Ana Ortiz", "read-aloud-agreed")
    assert visit_store.entity("C-VERBAL", "acknowledgement", ack.id).signed is not None
