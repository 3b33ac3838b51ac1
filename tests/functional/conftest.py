"""Fixtures for Pilot-driven screens: a seeded profile, a fixed day, helpers that type."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from fieldkit import services
from fieldkit.demo import demo_document
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc

TODAY = date(2026, 11, 26)
"""Every screen test runs on this day, so due items and snapshots never drift."""

KEYS = {" ": "space", "-": "minus", ",": "comma", ".": "full_stop", ":": "colon", "'": "apostrophe"}


def one_child_case(case_id: str, child: str) -> dict[str, Any]:
    """The sample case with one child: "p1" is the non-verbal infant, "p2" the verbal victim."""
    case = sample_case(case_id)
    case["people"] = [p for p in case["people"] if p["id"] in (child, "p3")]
    for visit in case["history"]["visits"]:
        for key in ("seen", "private_interview", "observed"):
            visit[key] = [pid for pid in visit[key] if pid == child]
    return case


def add_service_plan(store: Store, case_id: str) -> None:
    """A plan with one goal, objective and activity (PL-4), as the sync would bring it."""
    store.record(case_id, "service_plan", "sp1", {"completed": "2026-10-01"})
    store.record(case_id, "goal", "g1", {"text": "Safe evenings at home"})
    store.record(case_id, "objective", "o1", {"goal": "g1", "text": "No drinking while caring"})
    store.record(
        case_id,
        "activity",
        "a1",
        {"objective": "o1", "text": "Attend outpatient program", "who": "Ana", "when": "weekly"},
    )


@pytest.fixture(autouse=True)
def _english_unless_asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Screens speak English unless a test asks for another language (the machine's LANG
    does not decide what a snapshot shows); the language in use is put back afterwards."""
    from fieldkit import i18n

    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    previous = i18n.language()
    yield
    i18n.set_language(previous)


@pytest.fixture
def visit_store(tmp_path: Path) -> Iterator[Store]:
    """A profile with a verbal-victim case (C-VERBAL) and a non-verbal-infant case (C-INFANT)."""
    store = Store.create(tmp_path / "visit.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(
        store,
        transfer_doc(one_child_case("C-VERBAL", "p2"), one_child_case("C-INFANT", "p1")),
    )
    add_service_plan(store, "C-VERBAL")
    add_service_plan(store, "C-INFANT")
    yield store
    with contextlib.suppress(Exception):
        store.close()


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[Store]:
    """The demo caseload (40 cases, seed 7) as of TODAY."""
    store = Store.create(tmp_path / "demo.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, demo_document(40, 7, TODAY))
    yield store
    with contextlib.suppress(Exception):
        store.close()


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers finish, their messages land and the screen stop changing.

    On a busy machine a screen can take several frames to reach its final layout; a fixed
    number of pauses could capture a half-drawn screen. This waits until two consecutive
    renders are the same (bounded, so a screen that never settles still fails visibly).
    """
    previous = None
    for _ in range(100):
        # An exclusive worker replaced by a newer one is cancelled: an expected state.
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        shot = pilot.app.export_screenshot()
        if shot == previous:
            return
        previous = shot


async def until(
    pilot: Pilot[Any], condition: Callable[[], object], what: str, seconds: float = 60.0
) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await pilot.pause(0.02)


async def click(pilot: Pilot[Any], selector: str) -> None:
    """Scroll a widget into view (as Tab would), then click it."""
    pilot.app.screen.query_one(selector).scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.click(selector)


async def type_text(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Move to a field (as Tab does) and type, key by key, like a worker."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus(scroll_visible=False)
    widget.scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.press(*[KEYS.get(ch, ch) for ch in text])


async def open_case(pilot: Pilot[Any], case_id: str) -> None:
    """From the caseload: search for the case, Enter, wait for it to load."""
    await settle(pilot)
    await pilot.press(*[KEYS.get(ch, ch) for ch in case_id], "enter")
    await settle(pilot)


async def start_visit(pilot: Pilot[Any], case_id: str, nexts: int = 0) -> None:
    """Open the case, start its guided visit (V), then go `nexts` steps on with Ctrl+N."""
    await open_case(pilot, case_id)
    await pilot.press("v")
    await settle(pilot)
    for _ in range(nexts):
        await pilot.press("ctrl+n")
        await settle(pilot)
