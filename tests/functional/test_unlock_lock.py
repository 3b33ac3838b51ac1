"""Unlock, wrong passphrase, the lock key and the idle lock: keys leave memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.unlock import UnlockScreen
from textual.pilot import Pilot
from textual.widgets import Input

from fieldkit import services
from fieldkit.errors import StoreError, StoreLocked
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc
from tests.functional.conftest import TODAY, open_case, settle, start_visit, type_text, until


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "lock.fieldkit"
    store = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    store.close()
    return path


async def test_wrong_passphrase_says_so_and_the_worker_retries(tmp_path: Path) -> None:
    path = _profile(tmp_path)
    before = path.read_bytes()
    app = make_app(profile_path=path, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        await type_text(pilot, "#passphrase", "not it")
        await pilot.press("enter")
        await settle(pilot)
        status = str(app.screen.query_one("#unlock-status").render())
        assert "wrong passphrase" in status
        assert app.store is None
        assert app.focused is not None and app.focused.id == "passphrase"
        app.screen.query_one("#passphrase").value = ""  # type: ignore[attr-defined]
        await type_text(pilot, "#passphrase", PASSPHRASE)
        await pilot.press("enter")
        await settle(pilot)
        assert app.store is not None
        assert isinstance(app.screen, DashboardScreen)
    assert path.read_bytes()[:100] == before[:100]


async def test_the_lock_key_drops_the_keys_and_shows_no_case(tmp_path: Path) -> None:
    store = Store.open(_profile(tmp_path), PASSPHRASE)
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert app.store is None
        screen_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "Ortiz" not in screen_text
    assert store._master is None and store._sign_key is None and not store._case_sealers


async def test_the_app_locks_itself_when_left_alone(tmp_path: Path) -> None:
    store = Store.open(_profile(tmp_path), PASSPHRASE)
    app = make_app(store=store, today=TODAY, idle_lock_seconds=0.5)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "the idle lock")
        assert app.store is None
        # The draft is written and the keys dropped on a worker thread: await it.
        await until(pilot, lambda: store._master is None, "the keys dropped")
    assert store._master is None


async def test_the_second_start_shows_the_sealed_caseload_at_once(tmp_path: Path) -> None:
    from fieldkit.services import caseload

    store = Store.open(_profile(tmp_path), PASSPHRASE)
    store._conn.execute("DELETE FROM sealed_cache")  # the rows the import sealed
    assert caseload.read_cache(store) is None
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        first = list(app.screen.rows)  # type: ignore[attr-defined]
    cached = caseload.cached_rows(store, TODAY)
    assert cached == first and [r.case_id for r in cached] == ["C-1"]
    # One sealed BLOB (not hex in the settings table), no clear byte of the case in it.
    blob = store._conn.execute(
        "SELECT value FROM sealed_cache WHERE key=?", (caseload.CACHE_KEY,)
    ).fetchone()[0]
    assert isinstance(blob, bytes) and b"Ortiz" not in blob and b"C-1" not in blob
    assert store.meta(caseload.CACHE_KEY) is None
    assert b"Ortiz" not in Path(store.path).read_bytes()
    # Another day, or a change to the log, and the rows are not taken as they are.
    assert caseload.cached_rows(store, TODAY.replace(day=27)) is None
    store.record("C-1", "visit", "v9", {"date": "2026-11-26"})
    assert caseload.cached_rows(store, TODAY) is None
    store.close()


async def _unlock(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, UnlockScreen)
    await type_text(pilot, "#passphrase", PASSPHRASE)
    await pilot.press("enter")
    for _ in range(100):
        await settle(pilot)
        if not getattr(pilot.app, "places", None):
            break


async def test_unlock_returns_to_the_visit_step_the_worker_was_on(tmp_path: Path) -> None:
    """Lock mid-visit (Ctrl+L): every screen goes; unlock rebuilds caseload → case → the step."""
    from fieldkit.screens.case_view import CaseScreen
    from fieldkit.screens.visit.step import VisitStep

    path = _profile(tmp_path)
    app = make_app(profile_path=path, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await _unlock(pilot)
        await start_visit(pilot, "C-1")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await type_text(pilot, "#location", "porch")
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen) and app.store is None
        assert len(app.screen_stack) == 1, "no decrypted screen is kept while locked"
        await _unlock(pilot)
        screen = app.screen
        assert isinstance(screen, VisitStep) and screen.key == "present"
        assert screen.query_one("#location", Input).value == "porch"
        kinds = [type(s).__name__ for s in app.screen_stack]
        assert kinds == ["DashboardScreen", "CaseScreen", "PresenceStep"]
        assert isinstance(app.screen_stack[1], CaseScreen)
        # Back from the step is the case, as before the lock.
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.case_id == "C-1"


async def test_unlock_returns_to_the_case_and_the_theme_is_the_profiles(tmp_path: Path) -> None:
    """The theme chosen once is the profile's; a lock on a case comes back to the case."""
    from fieldkit.screens.case_view import CaseScreen

    from fieldkit.prefs import load_prefs

    path = _profile(tmp_path)
    app = make_app(profile_path=path, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await _unlock(pilot)
        app.theme = "high-contrast"
        await open_case(pilot, "C-1")
        await pilot.press("ctrl+l")
        await _unlock(pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.case_id == "C-1"
    assert load_prefs(path)["theme"] == "high-contrast"
    again = make_app(profile_path=path, today=TODAY)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert again.theme == "high-contrast"


async def test_only_a_demo_profile_states_its_passphrase(tmp_path: Path) -> None:
    """The demo marker is in the profile (its prefs), not a global: a real one says nothing."""
    from fieldkit.prefs import save_pref

    (tmp_path / "demo").mkdir()
    (tmp_path / "real").mkdir()
    demo, real = _profile(tmp_path / "demo"), _profile(tmp_path / "real")
    save_pref(demo, "demo_passphrase", PASSPHRASE)
    for path, shown in ((demo, True), (real, False)):
        app = make_app(profile_path=path, today=TODAY)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, UnlockScreen)
            text = " ".join(str(w.render()) for w in app.screen.query("Static"))
            assert (PASSPHRASE in text) is shown


async def test_a_worker_error_is_one_line_and_the_app_keeps_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A StoreError in the dashboard's read worker is shown in one line, not a traceback."""

    from fieldkit.services import caseload

    def broken(store: Store, *args: Any) -> None:
        raise StoreError("the profile store failed (disk I/O error); nothing was saved\nmore")

    monkeypatch.setattr(caseload, "load_caseload", broken)
    store = Store.open(_profile(tmp_path), PASSPHRASE)
    app = make_app(store=store, today=TODAY)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(notes), "the error line")
        await settle(pilot)
        assert notes == ["the profile store failed (disk I/O error); nothing was saved"]
        assert isinstance(app.screen, DashboardScreen)
        assert app.is_running
    store.close()


async def test_a_store_locked_under_a_running_worker_is_not_an_error(tmp_path: Path) -> None:
    """The idle lock closes the store while a read runs: the read stops, nothing is said."""
    store = Store.open(_profile(tmp_path), PASSPHRASE)
    app = make_app(store=store, today=TODAY)
    notes: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        store.lock()
        with pytest.raises(StoreLocked):
            store.case_ids()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        screen.rows = []  # no cached rows: the worker reads the (locked) store
        screen.load()
        await settle(pilot)
        assert app.is_running
        assert notes == []
