"""The case view lists collateral contacts and attachments (escaped, never as markup)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.case_view import CaseScreen
from PIL import Image
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from fieldkit import attachments, contacts
from fieldkit.store import Store
from tests.functional.conftest import TODAY, open_case, settle, until


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


async def test_an_image_preview_only_on_request_with_its_caption(
    visit_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """t lists the attachments; p previews the highlighted image from memory (no decrypted
    copy is made), with its caption as text; Esc drops it."""
    from fieldkit.screens.attachments import AttachmentsScreen, HalfBlocks, PreviewScreen
    from textual.widgets import OptionList

    picture = Image.new("RGB", (1200, 800), (200, 0, 0))
    picture.paste((0, 0, 200), (0, 400, 1200, 800))
    picture.save(tmp_path / "crib.jpg", format="JPEG", quality=95)
    attachments.attach(visit_store, "C-INFANT", tmp_path / "crib.jpg", caption="Crib [b]set[/b]")
    made: list[object] = []
    real_preview = attachments.preview

    def counted(*args: object, **kw: object) -> attachments.Preview:
        made.append(args)
        return real_preview(*args, **kw)  # type: ignore[arg-type]

    def no_disk() -> Path:
        raise AssertionError("a preview never writes a decrypted copy")

    monkeypatch.setattr(attachments, "preview", counted)
    monkeypatch.setattr(attachments, "_private_dir", no_disk)
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-INFANT")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AttachmentsScreen)
        listing = app.screen.query_one("#attachments", OptionList)
        prompt = Text.from_markup(str(listing.get_option_at_index(0).prompt)).plain
        assert prompt.startswith("photo · ") and prompt.endswith("Crib [b]set[/b]")
        assert made == [], "nothing is decrypted before the worker asks"
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PreviewScreen), "the preview")
        await settle(pilot)
        assert len(made) == 1
        screen = app.screen
        assert str(screen.query_one("#preview-caption", Static).render()) == "Crib [b]set[/b]"
        image = screen.query_one("#preview-image", Static)
        assert isinstance(image.content, HalfBlocks)
        rows = image.content.rows
        assert image.size.height == len(rows) and image.size.width >= len(rows[0]) > 20
        assert "▀" in app.export_screenshot()
        console = Console(color_system="truecolor", width=200)
        first = next(iter(console.render(image.content)))
        assert first.text == "▀" and first.style is not None and first.style.color is not None
        red = first.style.color.get_truecolor()
        assert red.red > 150 and red.blue < 60  # the upper half of the photo is red
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AttachmentsScreen)


async def test_a_document_opens_as_a_private_copy_removed_on_close_and_on_lock(
    visit_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """o: a decrypted copy in a 0700 folder for the desktop's viewer; gone on Esc or lock."""
    import os
    import stat

    from fieldkit.screens import attachments as screen_module
    from fieldkit.screens.attachments import AttachmentsScreen, OpenedCopy
    from fieldkit.screens.unlock import UnlockScreen

    scan = tmp_path / "letter.pdf"
    scan.write_bytes(b"%PDF-1.4 school letter " * 1000)
    attachments.attach(visit_store, "C-INFANT", scan, caption="School letter")
    handed: list[Path] = []
    monkeypatch.setattr(screen_module, "_hand_to_viewer", lambda p: handed.append(Path(p)))
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-INFANT")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AttachmentsScreen)
        await pilot.press("p")  # not an image: said, nothing opened
        await settle(pilot)
        assert isinstance(app.screen, AttachmentsScreen) and handed == []
        for leave in ("escape", "ctrl+l"):
            await pilot.press("o")
            await until(pilot, lambda: isinstance(app.screen, OpenedCopy), "the copy")
            copy = handed[-1]
            assert copy.read_bytes() == scan.read_bytes()
            assert stat.S_IMODE(os.stat(copy.parent).st_mode) == 0o700
            assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
            await pilot.press(leave)
            folder = copy.parent
            await until(pilot, lambda: not folder.exists(), f"the copy removed on {leave}")  # noqa: B023
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
    assert len(handed) == 2


@pytest.mark.parametrize("size", [(3000, 2000), (600, 1800)])
async def test_the_list_and_the_preview_fit_80x24(
    visit_store: Store, tmp_path: Path, size: tuple[int, int]
) -> None:
    """A landscape and a portrait photo: the picture, its caption and the keys all show."""
    from fieldkit.screens.attachments import AttachmentsScreen, PreviewScreen

    from tests.functional.test_small_screen import H, W, _problems

    photo = tmp_path / "room.jpg"
    Image.new("RGB", size, (90, 120, 30)).save(photo, format="JPEG")
    caption = "The children's room after the repairs, photographed with the caregiver's consent"
    attachments.attach(visit_store, "C-INFANT", photo, caption=caption)
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(W, H)) as pilot:
        await open_case(pilot, "C-INFANT")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AttachmentsScreen)
        assert _problems(pilot) == []
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PreviewScreen), "the preview")
        await settle(pilot)
        assert _problems(pilot) == []
        image = app.screen.query_one("#preview-image", Static)
        assert image.region.bottom <= H and image.region.right <= W
        assert image.size.height > 5
