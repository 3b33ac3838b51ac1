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
