"""The field app syncs in the background and says what happened (or that nothing is lost)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from textual.pilot import Pilot
from textual.widgets import DataTable

from fieldkit import services
from fieldkit.store import Store
from tests.conftest import sample_case, signed_visit, transfer_doc
from tests.functional.conftest import TODAY, settle, type_text, until
from tests.sync.conftest import (  # noqa: F401
    Agency,
    agency,
    assigned_case,
    db_url,
    pg_database,
    synced_team,
)


async def sync_now(pilot: Pilot[Any], done: Callable[[str], bool]) -> list[str]:
    """Ctrl+Y, as a worker syncs, until a notification answers `done`; all that was shown."""
    notes: list[str] = []
    pilot.app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
    await pilot.press("ctrl+y")
    await until(pilot, lambda: any(done(n) for n in notes), "the sync")
    await settle(pilot)
    return notes


async def test_background_sync_sends_the_day_and_reports_a_return(agency: Agency) -> None:  # noqa: F811
    from fieldkit.sync.client import run_sync

    from fieldkit.services import review

    sup, worker = synced_team(agency)
    signed_visit(worker, "v1")
    run_sync(worker)
    run_sync(sup)
    review.return_for_changes(sup, "C-1", "v1", "Add who else was home")
    run_sync(sup)
    worker.record("C-1", "visit", "v2", {"date": "2026-11-25", "notes": "draft"})
    assert worker.outbox_count() == 1
    app = make_app(store=worker, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        notes = await sync_now(pilot, lambda n: n.startswith("Synced:"))
    assert worker.outbox_count() == 0
    assert worker.meta("last_sync")
    summary = [n for n in notes if n.startswith("Synced:")]
    assert summary and "↑ 1 sent" in summary[0] and "↩ 1 returned for changes" in summary[0]


async def test_background_sync_offline_keeps_everything(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    waiting = store.outbox_count()
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        notes = await sync_now(pilot, lambda n: not n.startswith("Syncing"))
    assert store.outbox_count() == waiting
    assert any("enroll" in n or "nothing lost" in n for n in notes), notes


async def test_the_status_line_shows_each_file_uploading_after_the_text(
    agency: Agency,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl+Y: the ops go first, then each attachment's chunks, with the file's name and
    its chunk count on the status line (the progress `fieldkit sync` draws its bars from)."""
    from fieldkit.screens.status_bar import StatusBar
    from fieldkit.sync.attachment_sync import waiting_chunks

    from fieldkit import attachments
    from fieldkit.store.chunks import CHUNK_BYTES

    sup, worker = synced_team(agency)
    scan = tmp_path / "school report.pdf"
    scan.write_bytes(os.urandom(5 * CHUNK_BYTES // 2))  # 3 chunks
    attachments.attach(worker, "C-1", scan, caption="Report card")
    assert waiting_chunks(worker) == 3
    worker.record("C-1", "visit", "v2", {"date": "2026-11-25", "notes": "draft"})
    shown: list[str] = []
    watch = StatusBar.watch_activity

    def seen(bar: StatusBar, activity: str) -> None:
        if activity and (not shown or shown[-1] != activity):
            shown.append(activity)
        watch(bar, activity)

    monkeypatch.setattr(StatusBar, "watch_activity", seen)
    app = make_app(store=worker, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await sync_now(pilot, lambda n: n.startswith("Synced"))
        bar = app.screen.query_one(StatusBar)
        assert bar.activity == "" and "uploading" not in str(bar.render())
    uploads = [s for s in shown if s.startswith("uploading")]
    assert uploads[-1] == "uploading school report.pdf 3/3 chunks", shown
    assert "uploading school report.pdf 1/3 chunks" in uploads
    first_upload = shown.index(uploads[0])
    sending = [i for i, s in enumerate(shown) if s.startswith("syncing: sending changes")]
    assert sending and max(sending) < first_upload, shown  # ops first
    assert waiting_chunks(worker) == 0 and worker.outbox_count() == 0


async def test_a_visit_signed_in_the_app_keeps_its_times_and_the_servers_receipt(
    agency: Agency,  # noqa: F811
) -> None:
    """Time evidence through the real flow: the guided visit keeps its start and end from
    the laptop clock, Ctrl+Y syncs it, the server stamps its receipt, and the signed
    record on screen shows all three."""
    from fieldkit.screens.visit.record import VisitRecordScreen
    from fieldkit.sync.client import assign_case, run_sync
    from textual.widgets import Static

    from fieldkit import evidence
    from tests.functional.conftest import add_service_plan, one_child_case, open_case
    from tests.functional.test_visit_flows import _first_steps, _last_steps, _observation

    sup, worker = agency.laptop("akhan"), agency.laptop("jsmith")
    case = one_child_case("C-INFANT", "p1")
    case["worker"], case["supervisor"] = "jsmith", "akhan"
    services.import_cases(sup, transfer_doc(case))
    add_service_plan(sup, "C-INFANT")
    assign_case(sup, "C-INFANT", "jsmith")
    run_sync(sup)
    run_sync(worker)
    app = make_app(store=worker, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_case(pilot, "C-INFANT")
        before = datetime.now(UTC).replace(microsecond=0)
        await pilot.press("v")
        await settle(pilot)
        await _first_steps(pilot)
        await _observation(pilot)
        await _last_steps(pilot)
        after = datetime.now(UTC)
        assert isinstance(app.screen, VisitRecordScreen)
        visit_id = app.screen.visit_id
        fields = worker.entity("C-INFANT", "visit", visit_id).fields  # type: ignore[union-attr]
        started = evidence.parse_moment(fields.get("started_at"))
        ended = evidence.parse_moment(fields.get("ended_at"))
        assert started is not None and ended is not None, fields
        assert before <= started <= ended <= after
        shown = str(app.screen.query_one("#record", Static).render())
        assert f"Started (laptop clock): {started:%Y-%m-%d %H:%M} UTC" in shown
        assert f"Ended (laptop clock): {ended:%Y-%m-%d %H:%M} UTC" in shown
        assert "Received by the server: not yet synced" in shown

        sent = datetime.now(UTC).replace(microsecond=0)
        await sync_now(pilot, lambda n: n.startswith("Synced"))
        received = evidence.visit_received_at(worker, "C-INFANT", visit_id)
        assert received is not None and sent <= received <= datetime.now(UTC)
        line = f"Received by the server: {received:%Y-%m-%d %H:%M} UTC"
        await until(
            pilot,
            lambda: line in str(app.screen.query_one("#record", Static).render()),
            "the record shows the server's receipt",
        )
    # The supervisor's laptop learns the same server stamp.
    run_sync(sup)
    assert evidence.visit_received_at(sup, "C-INFANT", visit_id) == received


def _status(app: Any) -> str:
    """The status line of the screen in front, as the worker reads it."""
    from fieldkit.screens.status_bar import StatusBar

    return str(app.screen.query_one(StatusBar).render())


async def test_the_console_counts_its_own_return_the_moment_it_is_made(
    agency: Agency,  # noqa: F811
) -> None:
    """x, then y returns a visit: the queue the supervisor lands on counts that change as
    waiting, never "all changes synced" until a sync sends it."""
    from fieldkit.screens.supervisor.queue import ReviewQueueScreen
    from fieldkit.sync.client import run_sync

    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    signed_visit(worker, "v1")
    run_sync(worker)
    run_sync(sup)
    assert sup.outbox_count() == 0
    app = make_app(store=sup, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "all changes synced" in _status(app)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await type_text(pilot, "#comment", "Say where Leo was interviewed")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ReviewQueueScreen)
        assert sup.outbox_count() == 1
        assert "1 change waiting to sync" in _status(app), _status(app)
        assert "all changes synced" not in _status(app)


async def test_a_signature_is_counted_on_the_case_view_it_returns_to(visit_store: Store) -> None:
    """Signing adds to the outbox: the case view the worker goes back to reads it again."""
    from fieldkit.screens.case_view import CaseScreen

    from tests.functional.conftest import open_case
    from tests.functional.test_visit_flows import _first_steps, _last_steps, _observation

    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_case(pilot, "C-INFANT")
        before = visit_store.outbox_count()
        assert f"{before} changes waiting to sync" in _status(app)
        await pilot.press("v")
        await settle(pilot)
        await _first_steps(pilot)
        await _observation(pilot)
        await _last_steps(pilot)
        after = visit_store.outbox_count()
        assert after > before
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert f"{after} changes waiting to sync" in _status(app), _status(app)


async def test_an_addendum_shows_waiting_beside_refused(agency: Agency) -> None:  # noqa: F811
    """A laptop with refused changes saves an addendum: the line says both, on the visit
    and on the case view it goes back to."""
    from fieldkit.screens.case_view import CaseScreen
    from fieldkit.screens.visit.record import VisitRecordScreen
    from fieldkit.sync.client import run_sync

    from tests.functional.conftest import open_case

    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    signed_visit(worker, "v1")
    other = sample_case("C-9")
    other["worker"] = "jsmith"
    services.import_cases(worker, transfer_doc(other))  # not on C-9: the server refuses
    run_sync(worker)
    refused = len(worker.quarantined())
    assert refused and worker.outbox_count() == 0
    app = make_app(store=worker, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-1")
        assert isinstance(app.screen, CaseScreen) and app.screen.case is not None
        app.push_screen(VisitRecordScreen(app.screen.case, "v1"))
        await settle(pilot)
        assert f"✗ {refused} refused" in _status(app)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"door shut")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
        assert worker.outbox_count() == 1
        for where in ("the visit", "the case view"):
            line = _status(app)
            assert "1 change waiting to sync" in line and f"✗ {refused} refused" in line, (
                where,
                line,
            )
            await pilot.press("escape")
            await settle(pilot)


async def test_ctrl_y_sees_an_enrollment_made_while_the_app_was_open(
    agency: Agency,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`fieldkit enroll` in another terminal: the next Ctrl+Y syncs, no lock needed."""
    from fieldkit.sync import admin
    from fieldkit.sync.client import enroll

    from tests.conftest import FAST_ARGON, PASSPHRASE

    path = tmp_path / "late.fieldkit"
    store = Store.create(path, PASSPHRASE, "bwong", argon=FAST_ARGON)
    store.record("C-5", "note", "n1", {"text": "draft"})
    app = make_app(store=store, today=TODAY)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        other = Store.open(path, PASSPHRASE)  # the second terminal
        enroll(other, agency.url, admin.enroll_code(agency.engine, "bwong").code, PASSPHRASE)
        other.close()
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any(not n.startswith("Syncing") for n in notes), "the sync")
    assert any(n.startswith("Synced") for n in notes), notes


async def test_ctrl_y_in_the_console_shows_the_visits_it_received(
    agency: Agency,  # noqa: F811
) -> None:
    """The queue said "Nothing waiting for review" after a Ctrl+Y had just received a
    signed visit, until r was pressed: a sync that received work reads the queue again."""
    from fieldkit.screens.supervisor.queue import ReviewQueueScreen
    from fieldkit.sync.client import run_sync

    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    signed_visit(worker, "v1")
    run_sync(worker)
    app = make_app(store=sup, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, ReviewQueueScreen)
        table = queue.query_one("#queue", DataTable)
        assert table.row_count == 0
        await sync_now(pilot, lambda n: n.startswith("Synced"))
        await until(pilot, lambda: table.row_count == 1, "the received visit in the queue")


async def test_a_sync_in_the_console_keeps_the_highlighted_visit_under_the_cursor(
    agency: Agency,  # noqa: F811
) -> None:
    """A reload after a sync (Ctrl+Y, or the console's sync in the background) put the
    cursor back on the first row: an Enter pressed just then opened another visit than
    the one the supervisor was reading. The highlighted item stays under the cursor."""
    from fieldkit.screens.supervisor.queue import ReviewQueueScreen
    from fieldkit.sync.client import run_sync

    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    signed_visit(worker, "v1", day="2026-11-18")
    signed_visit(worker, "v2", day="2026-11-19")
    run_sync(worker)
    app = make_app(store=sup, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await sync_now(pilot, lambda n: n.startswith("Synced"))
        queue = app.screen
        assert isinstance(queue, ReviewQueueScreen)
        table = queue.query_one("#queue", DataTable)
        await until(pilot, lambda: table.row_count == 2, "two visits in the queue")
        await pilot.press("down")
        await until(pilot, lambda: table.cursor_row == 1, "the cursor on the second row")
        reading = queue.items[1].target_id
        signed_visit(worker, "v3", day="2026-11-17")
        run_sync(worker)
        await sync_now(pilot, lambda n: n.startswith("Synced"))
        await until(pilot, lambda: table.row_count == 3, "the third visit in the queue")
        assert queue.items[table.cursor_row].target_id == reading
