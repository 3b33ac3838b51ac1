"""The supervisor console driven with Pilot: queue → review → return → addendum → approve,
across two laptops synced through a real server; snapshots of the queue, a visit under
review and the team view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from textual.pilot import Pilot

from fieldkit import changelog, services
from fieldkit.services import review
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, signed_visit, transfer_doc
from tests.functional.conftest import TODAY, settle, type_text
from tests.sync.conftest import Agency, agency, db_url, pg_database, synced_team  # noqa: F401


@pytest.fixture
def console_store(tmp_path: Path) -> Iterator[Store]:
    """A supervisor's profile: two cases, a signed visit, a pending alternative plan."""
    store = Store.create(tmp_path / "sup.fieldkit", PASSPHRASE, "akhan", argon=FAST_ARGON)
    store.set_meta("role", "supervisor")
    other = sample_case("C-2")
    other["worker"] = "bwong"
    services.import_cases(store, transfer_doc(sample_case("C-1"), other))
    signed_visit(store, "v1", case_id="C-1")
    store.record(
        "C-2",
        "safety_plan",
        "alt-v7",
        {
            "kind": "alternative",
            "approval": "phone-approved",
            "created": "2026-11-25",
            "phone_approval_by": "akhan",
            "phone_approval_at": "2026-11-25 18:10",
            "threats": ["t1"],
            "interventions": [{"threat": "t1", "text": "Aunt stays nights"}],
        },
    )
    keep_team_health(store)
    yield store
    store.close()


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def keep_team_health(store: Store) -> None:
    """What the supervisor's last sync kept: four laptops of the team. The app's day is
    TODAY (2026-11-26), so "now" on the team screen is 2026-11-26 12:00 UTC."""
    from fieldkit.sync.client import TEAM_HEALTH
    from fieldkit.sync.protocol import LaptopHealth, TeamHealthResponse

    laptops = [
        LaptopHealth(
            device="019a1b2c",
            user="akhan",
            last_sync_ms=_ms("2026-11-26T09:30Z"),
            outcome="ok",
            waiting=0,
            refused=0,
            waiting_keys=0,
        ),
        # 1 day 19 hours ago: quiet, not flagged.
        LaptopHealth(
            device="019a1b3d",
            user="jsmith",
            last_sync_ms=_ms("2026-11-24T17:05Z"),
            outcome="refused",
            waiting=2,
            refused=1,
            waiting_keys=0,
        ),
        # 2026-11-18 08:00 → 2026-11-26 12:00 is 8 days 4 hours: more than 7, flagged.
        LaptopHealth(
            device="019a1b4e",
            user="bwong",
            last_sync_ms=_ms("2026-11-18T08:00Z"),
            outcome="ok",
            waiting=0,
            refused=0,
            waiting_keys=0,
        ),
        LaptopHealth(device="019a1b5f", user="bwong"),  # enrolled, never synced
    ]
    reply = TeamHealthResponse(as_of_ms=_ms("2026-11-26T09:31Z"), laptops=laptops)
    store.set_secret(TEAM_HEALTH, reply.model_dump_json().encode())


async def _queue(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def _visit_under_review(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)


async def _team(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", ["queue", "visit_under_review", "team"])
def test_console_screen(
    name: str, size: tuple[int, int], snap_compare: Any, console_store: Store
) -> None:
    steps = {"queue": _queue, "visit_under_review": _visit_under_review, "team": _team}[name]
    app = make_app(store=console_store, today=TODAY)
    assert snap_compare(app, terminal_size=size, run_before=steps)


async def test_the_supervisor_opens_on_the_queue_and_confirms_a_phone_approval(
    console_store: Store,
) -> None:
    from fieldkit.screens.supervisor.queue import ReviewQueueScreen

    app = make_app(store=console_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewQueueScreen)
        assert [(i.target, i.target_id) for i in screen.items] == [
            ("safety_plan", "alt-v7"),
            ("visit", "v1"),
        ]
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert "Confirm the phone approval" in str(
            app.screen.query_one("#confirm-question").render()
        )
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ReviewQueueScreen)
        assert [i.target for i in app.screen.items] == ["visit"]
    plan = console_store.entity("C-2", "safety_plan", "alt-v7")
    assert plan is not None and plan.fields["approval"] == "approved"
    decided = review.latest_decision(console_store, "C-2", "safety_plan", "alt-v7")
    assert decided is not None and decided.decision == "confirmed" and decided.by == "akhan"


async def test_record_supervision_from_the_team_view(console_store: Store) -> None:
    app = make_app(store=console_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(*"Weekly visits stay")
        await pilot.press("ctrl+s")
        await settle(pilot)
    sessions = console_store.entities(None, "supervision")
    assert len(sessions) == 1
    assert sessions[0].fields["decisions"] == "Weekly visits stay"
    assert sessions[0].fields["date"] == TODAY.isoformat()


async def test_the_team_screen_shows_each_laptops_sync_health(console_store: Store) -> None:
    """Last sync, changes waiting, refused; a laptop quiet for more than the profile's
    `[sync] stale_after_days` (7 in ontario-std7) is flagged, one quiet for less is not."""
    from textual.widgets import DataTable, Static

    app = make_app(store=console_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        table = app.screen.query_one("#team-laptops", DataTable)
        rows = {
            str(table.get_row_at(n)[0]): [str(c) for c in table.get_row_at(n)]
            for n in range(table.row_count)
        }
        title = str(app.screen.query_one("#team-health-title", Static).render())
    assert "flagged after 7 days without a sync" in title and "2026-11-26 09:31" in title
    assert rows["019a1b2c"] == ["019a1b2c", "akhan", "2026-11-26 09:30", "0", "0", ""]
    assert rows["019a1b3d"] == ["019a1b3d", "jsmith", "2026-11-24 17:05", "2", "1", ""]
    assert rows["019a1b4e"][-1] == "⚠ not seen 8 d"
    assert rows["019a1b5f"][2:] == ["never", "-", "0", "⚠ never synced"]


async def _review(
    store: Store,
    keys: list[str],
    comment: str | None = None,
    confirm: str | None = "y",
    row: int = 0,
) -> None:
    """Open a queue item, press `keys`, type a comment, answer the confirmation."""
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*["down"] * row, "enter")
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if comment is not None:
            await type_text(pilot, "#comment", comment)
            await pilot.press("enter")
            await settle(pilot)
        if confirm is not None:
            await pilot.press(confirm)
            await settle(pilot)


async def test_approve_and_return_ask_first_and_no_records_nothing(console_store: Store) -> None:
    """Approve, return and reject are one key each: each asks once, and "n" records nothing."""
    await _review(console_store, ["a"], confirm="n", row=1)
    await _review(console_store, ["x"], "Where was Leo?", confirm="escape", row=1)
    await _review(console_store, ["x"], "No aunt at night", confirm="n")
    assert review.latest_decision(console_store, "C-1", "visit", "v1") is None
    assert review.latest_decision(console_store, "C-2", "safety_plan", "alt-v7") is None
    await _review(console_store, ["x"], "Where was Leo?", row=1)
    returned = review.latest_decision(console_store, "C-1", "visit", "v1")
    assert returned is not None and returned.decision == "returned"
    assert returned.comment == "Where was Leo?"


async def test_review_return_addendum_approve_across_two_laptops(agency: Agency) -> None:  # noqa: F811
    from fieldkit.sync.client import run_sync

    sup, worker = synced_team(agency)
    signed_visit(worker, "v1", case_id="C-1")
    run_sync(worker)
    run_sync(sup)

    await _review(sup, ["x"], "Say where Leo was interviewed")
    returned = review.latest_decision(sup, "C-1", "visit", "v1")
    assert returned is not None and returned.decision == "returned"
    run_sync(sup)
    run_sync(worker)
    on_worker = review.latest_decision(worker, "C-1", "visit", "v1")
    assert on_worker is not None and on_worker.comment == "Say where Leo was interviewed"

    worker.record(
        "C-1",
        "addendum",
        "add-1",
        {"visit": "v1", "text": "His bedroom, door shut", "date": "2026-11-27", "author": "jsmith"},
    )
    run_sync(worker)
    run_sync(sup)
    (item,) = review.review_queue(sup, review_policy(sup), TODAY)
    assert item.last == "returned"
    await _review(sup, ["a"])
    approved = review.latest_decision(sup, "C-1", "visit", "v1")
    assert approved is not None and approved.decision == "approved" and not approved.stale
    run_sync(sup)
    run_sync(worker)
    seen = review.latest_decision(worker, "C-1", "visit", "v1")
    assert seen is not None and seen.decision == "approved" and not seen.stale
    # The approval binds the content with the addendum: a later change makes it stale.
    worker.record(
        "C-1",
        "addendum",
        "add-2",
        {
            "visit": "v1",
            "text": "and the door was locked",
            "date": "2026-11-28",
            "author": "jsmith",
        },
    )
    stale = review.latest_decision(worker, "C-1", "visit", "v1")
    assert stale is not None and stale.stale


def review_policy(store: Store) -> Any:
    from fieldkit.practice import load_profile

    return load_profile(store.meta("policy"))


async def test_a_safety_critical_conflict_is_resolved_side_by_side(console_store: Store) -> None:
    from tests.unit.test_review import _foreign_op

    person = console_store.entity("C-1", "person", "p2")
    assert person is not None
    base = changelog.head_ops(person.state, "placement")[0]
    console_store.record("C-1", "person", "p2", {"placement": {"setting": "foster"}})
    assert console_store.ingest(_foreign_op(console_store, base, {"setting": "home"}))
    app = make_app(store=console_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "1 conflicts" in str(app.screen.query_one("#queue-counts").render())
        await pilot.press("c")
        await settle(pilot)
        first = str(app.screen.query_one("#version-0").render())
        second = str(app.screen.query_one("#version-1").render())
        assert {"setting: foster", "setting: home"} == {
            line for text in (first, second) for line in text.splitlines() if "setting" in line
        }
        await pilot.press("2")
        await settle(pilot)
    assert review.open_conflicts(console_store) == []
    kept = console_store.entity("C-1", "person", "p2")
    assert kept is not None
    chosen = second.splitlines()[-1].split(": ")[1]
    assert kept.fields["placement"] == {"setting": chosen}
