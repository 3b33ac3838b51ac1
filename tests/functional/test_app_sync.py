"""The field app syncs in the background and says what happened (or that nothing is lost)."""

from __future__ import annotations

from fieldkit.screens.app import make_app

from fieldkit import services
from fieldkit.store import Store
from tests.conftest import sample_case, signed_visit, transfer_doc
from tests.functional.conftest import TODAY, settle, until
from tests.sync.conftest import Agency, agency, assigned_case, db_url, pg_database  # noqa: F401


async def test_background_sync_sends_the_day_and_reports_a_return(agency: Agency) -> None:  # noqa: F811
    from fieldkit.sync.client import run_sync

    from fieldkit.services import review

    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    signed_visit(worker, "v1")
    run_sync(worker)
    run_sync(sup)
    review.return_for_changes(sup, "C-1", "v1", "Add who else was home")
    run_sync(sup)
    worker.record("C-1", "visit", "v2", {"date": "2026-11-25", "notes": "draft"})
    assert worker.outbox_count() == 1
    app = make_app(store=worker, today=TODAY)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any(n.startswith("Synced:") for n in notes), "the sync")
        await settle(pilot)
    assert worker.outbox_count() == 0
    assert worker.meta("last_sync")
    summary = [n for n in notes if n.startswith("Synced:")]
    assert summary and "↑ 1 sent" in summary[0] and "↩ 1 returned for changes" in summary[0]


async def test_background_sync_offline_keeps_everything(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    waiting = store.outbox_count()
    app = make_app(store=store, today=TODAY)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any(not n.startswith("Syncing") for n in notes), "the sync")
        await settle(pilot)
    assert store.outbox_count() == waiting
    assert any("enroll" in n or "nothing lost" in n for n in notes), notes
