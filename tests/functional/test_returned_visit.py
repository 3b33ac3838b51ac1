"""A returned visit on the worker's laptop, driven with Pilot through the app's own paths:
the case view's banner and visit line follow the latest decision only, Tab then Enter opens
a visit, the record and the addendum dialog show the supervisor's comment (escaped), the
dialog's words wrap whole, and an imported visit takes no addendum."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.visit.addendum import AddendumDialog
from fieldkit.screens.visit.record import VisitRecordScreen
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from fieldkit import changelog, services
from fieldkit.services import review
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, signed_visit, transfer_doc
from tests.functional.conftest import TODAY, open_case, settle, type_text

COMMENT = "Say where Leo was interviewed [b]now[/b]"
"""The supervisor's words, with markup-like text that must show as typed."""


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Store]:
    """jsmith's laptop: case C-1 with an imported visit (2026-10-03) and a signed one (v1)
    that the supervisor akhan returned."""
    store = Store.create(tmp_path / "w.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    signed_visit(store, "v1", case_id="C-1")
    decide(store, "returned", COMMENT)
    yield store
    store.close()


def decide(store: Store, decision: str, comment: str = "") -> None:
    """A decision of akhan's as a sync brings it: an approval record bound to the content."""
    content = review.visit_content(store, "C-1", "v1")
    store.record(
        "C-1",
        "approval",
        f"ap-{changelog.uuid7()}",
        {
            "target": "visit",
            "target_id": "v1",
            "decision": decision,
            "comment": comment,
            "by": "akhan",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "content_hash": changelog.content_hash(content),
        },
    )


def shown(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


def visit_lines(pilot: Pilot[Any]) -> list[str]:
    options = pilot.app.screen.query_one("#visits", OptionList)
    return [str(options.get_option_at_index(n).prompt) for n in range(options.option_count)]


async def test_return_addendum_approval_clears_the_banner_and_says_the_state(
    worker: Store,
) -> None:
    app = make_app(store=worker, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-1")
        assert isinstance(app.screen, CaseScreen)
        assert "returned by akhan" in shown(pilot, "#attention")
        assert "returned by akhan, awaiting the worker's addendum" in visit_lines(pilot)[0]
        assert visit_lines(pilot)[1].endswith("imported")

        # Tab lands on the first visit with its cursor, and Enter opens it (issue 6).
        await pilot.press("tab")
        await settle(pilot)
        options = app.screen.query_one("#visits", OptionList)
        assert options.has_focus and options.highlighted == 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen) and app.screen.visit_id == "v1"
        record = shown(pilot, "#record")
        assert f"akhan's comment: {COMMENT}" in record

        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddendumDialog)
        assert f"Returned by akhan: {COMMENT}" in shown(pilot, "#addendum-comment")
        await type_text(pilot, "#addendum-text", "His bedroom, door shut")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
        assert "addendum received: awaiting review" in shown(pilot, "#record")
        await pilot.press("escape")
        await settle(pilot)

        # The return is answered: no banner, the visit line says where it stands.
        assert isinstance(app.screen, CaseScreen)
        assert not app.screen.query_one("#attention", Static).display
        assert "returned by akhan, addendum received: awaiting review" in visit_lines(pilot)[0]

        decide(worker, "approved")  # the supervisor's approval arrives with a sync
        app.screen.load()
        await settle(pilot)
        assert not app.screen.query_one("#attention", Static).display
        assert visit_lines(pilot)[0].endswith("✓ signed · approved by akhan")
        assert options.highlighted == 0  # the reload keeps the cursor


async def test_an_imported_visit_takes_no_addendum(worker: Store) -> None:
    app = make_app(store=worker, today=TODAY)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-1")
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("tab", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen) and app.screen.visit_id != "v1"
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    assert notes == [
        "an addendum corrects a signed visit; this one was never signed here (imported history)"
    ]
    assert worker.entities("C-1", "addendum") == []


def drawn_words(pilot: Pilot[Any]) -> str:
    """The words the screen draws, line by line inside the dialog's border, joined."""
    strips = pilot.app.screen._compositor.render_strips()
    inside = [strip.text.strip().strip("█▊▎┃│▌▐▀▄").strip() for strip in strips]
    return " ".join(line for line in inside if line)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_addendum_dialog_wraps_its_words_whole(
    worker: Store, size: tuple[int, int]
) -> None:
    app = make_app(store=worker, today=TODAY)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.push_screen(AddendumDialog("akhan", COMMENT))
        await settle(pilot)
        words = drawn_words(pilot)
    assert "The signed record does not change; this correction is kept beside it." in words
    assert f"Returned by akhan: {COMMENT}" in words


async def test_the_queue_says_a_returned_visit_is_returned_not_stale(tmp_path: Path) -> None:
    """The console's queue and review screen say "returned, awaiting the worker's addendum",
    then "addendum received", never that an approval went stale (there was none)."""
    from textual.widgets import DataTable

    sup = Store.create(tmp_path / "s.fieldkit", PASSPHRASE, "akhan", argon=FAST_ARGON)
    sup.set_meta("role", "supervisor")
    services.import_cases(sup, transfer_doc(sample_case("C-1")))
    signed_visit(sup, "v1", case_id="C-1")
    review.return_for_changes(sup, "C-1", "v1", COMMENT)

    async def queue_says() -> tuple[str, str, str]:
        app = make_app(store=sup, today=TODAY)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#queue", DataTable)
            label = str(table.get_row_at(0)[1])
            flags = shown(pilot, "#queue-flags")
            await pilot.press("enter")
            await settle(pilot)
            return label, flags, shown(pilot, "#record")

    label, flags, record = await queue_says()
    assert label == "↩ returned: awaiting addendum"
    assert "returned by akhan, awaiting the worker's addendum" in flags

    sup.record(
        "C-1",
        "addendum",
        "add-1",
        {"visit": "v1", "text": "His bedroom", "date": "2026-11-27", "author": "jsmith"},
    )
    label, flags, record = await queue_says()
    assert label == "↩ returned: addendum received"
    assert "returned by akhan, addendum received: awaiting review" in flags
    assert "stale" not in (label + flags + record).lower()
    assert "returned by akhan at" in record and "the record changed since" in record
    sup.close()
