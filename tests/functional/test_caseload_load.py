"""The app's start and caseload: unlock begun early, rows only, cases read on open, and the
background read that follows changes made by another fieldkit."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens import app as screens_app
from fieldkit.screens.app import FieldkitApp, make_app
from fieldkit.screens.case_table import CaseTable, status_label, when_words
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.dashboard import DashboardScreen
from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.unlock import UnlockScreen
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from fieldkit import i18n, services
from fieldkit.cli import early
from fieldkit.demo import demo_document
from fieldkit.services import caseload
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE
from tests.functional.conftest import TODAY, open_case, settle, type_text, until


def _profile(tmp_path: Path, cases: int = 40) -> Path:
    path = tmp_path / "home" / "default.fieldkit"
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, demo_document(cases, 7, TODAY))
    store.close()
    return path


def _case_text(screen: Any) -> list[str]:
    return [str(w.render()) for w in screen.query("#case-body Static")]


async def test_a_case_opened_after_the_sliced_load_shows_what_a_direct_open_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caseload, "CHUNK", 16)  # 40 cases: three slices
    path = _profile(tmp_path)
    store = Store.open(path, PASSPHRASE)
    whole = caseload.dashboard_rows(services.load_cases(store), caseload.policy_of(store), TODAY)
    target = whole[-1].case_id  # the least urgent: read in the last slice
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        assert dashboard.rows == whole  # the rows the whole caseload in memory gave
        assert not hasattr(dashboard, "cases") and dashboard.draft_cases == {}
        await open_case(pilot, target)
        assert isinstance(app.screen, CaseScreen) and app.screen.case_id == target
        via_dashboard = _case_text(app.screen)
    store.close()

    store = Store.open(path, PASSPHRASE)
    direct = make_app(store=store, today=TODAY)
    async with direct.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        direct.push_screen(CaseScreen(target))
        await settle(pilot)
        assert _case_text(direct.screen) == via_dashboard
    case = services.load_case(store, target)
    assert any(case.family_name in line for line in via_dashboard)
    store.close()


CHANGE = """
import os, sys
from pathlib import Path
from fieldkit.store import Store
store = Store.open(Path(os.environ["PROFILE"]), os.environ["FIELDKIT_PASSPHRASE"])
name = sys.stdin.readline().strip()
store.record(os.environ["CASE"], "person", os.environ["PERSON"], {"name": name})
store.close()
"""


async def test_the_background_read_shows_a_change_made_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _profile(tmp_path)
    store = Store.open(path, PASSPHRASE)
    reads: list[list[str]] = []
    real = caseload.cases_of

    def counting(s: Store, case_ids: Any) -> Any:
        reads.append(list(case_ids))
        return real(s, case_ids)

    monkeypatch.setattr(caseload, "cases_of", counting)
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        row = dashboard.rows[5]
        person = next(p for p in services.load_case(store, row.case_id).people)
        reads.clear()
        script = tmp_path / "change.py"
        script.write_text(CHANGE)
        env = {
            **os.environ,
            "PROFILE": str(path),
            "CASE": row.case_id,
            "PERSON": person.id,
            "FIELDKIT_PASSPHRASE": PASSPHRASE,
        }
        done = subprocess.run(
            [sys.executable, str(script)], input="Zora Quillfeather\n", env=env, text=True
        )
        assert done.returncode == 0

        def shown() -> bool:
            fresh = next(r for r in dashboard.rows if r.case_id == row.case_id)
            return "Zora Quillfeather" in fresh.names

        await until(pilot, shown, "the other process's change on the dashboard")
        assert reads == [[row.case_id]]  # only the changed case was read again
        await type_text(pilot, "#search", "quillfeather")
        await settle(pilot)
        assert [r.case_id for r in dashboard.query_one("#cases").rows] == [row.case_id]  # type: ignore[attr-defined]
    store.close()


async def test_a_passphrase_given_opens_the_caseload_without_the_unlock_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _profile(tmp_path, cases=3)
    mounted: list[str] = []
    real_mount = UnlockScreen.on_mount

    def spy(self: UnlockScreen) -> None:
        mounted.append("unlock")
        real_mount(self)

    monkeypatch.setattr(UnlockScreen, "on_mount", spy)
    monkeypatch.setenv("FIELDKIT_PASSPHRASE", PASSPHRASE)
    app = make_app(profile_path=path, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the caseload")
        await settle(pilot)
        assert app.store is not None and len(app.screen.rows) == 3  # type: ignore[attr-defined]
        assert mounted == []
        app.store.close()


async def test_a_wrong_passphrase_given_opens_the_unlock_screen_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _profile(tmp_path, cases=3)
    monkeypatch.setenv("FIELDKIT_PASSPHRASE", "not the passphrase")
    app = make_app(profile_path=path, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "the unlock screen")

        def reason() -> str:
            found = app.screen.query("#unlock-status")
            return str(found.first().render()) if found else ""

        await until(pilot, lambda: "wrong passphrase" in reason(), "the reason")
        assert app.store is None
        await _type_passphrase(pilot)
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the caseload")


async def _type_passphrase(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await type_text(pilot, "#passphrase", PASSPHRASE)
    await pilot.press("enter")


def test_the_app_command_begins_the_unlock_before_the_commands_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldkit import hardening

    path = _profile(tmp_path, cases=1)
    monkeypatch.setenv("FIELDKIT_PASSPHRASE", PASSPHRASE)
    home = str(path.parent)
    hardened: list[bool] = []
    # Core dumps go off before any key is derived (recorded here, not done to pytest).
    monkeypatch.setattr(hardening, "disable_core_dumps", lambda: hardened.append(True))
    for argv in (["fieldkit", "due"], ["fieldkit", "--help"], ["pytest", "-q"], ["-m", "-x"]):
        early.begin_app_unlock(argv)
        assert services.take_pending_unlock(path) is None, argv
    assert hardened == []
    for argv in (["fieldkit"], ["-m", f"--data-dir={home}", "--profile", "default"]):
        early.begin_app_unlock(argv)
        pending = services.take_pending_unlock(path)
        assert pending is not None, argv
        assert hardened.pop() is True
        opened = pending.result()
        assert len(opened.case_ids()) == 1
        opened.close()
    assert services.take_pending_unlock(path) is None  # handed out once
    assert services.app_options(["--theme"]) is None
    assert services.app_options(["--theme=high-contrast", "--data-dir", "/x"]) == {
        "--theme": "high-contrast",
        "--data-dir": "/x",
    }
    monkeypatch.setenv("FIELDKIT_PASSPHRASE", "wrong")
    early.begin_app_unlock(["fieldkit"])
    pending = services.take_pending_unlock(path)
    assert pending is not None
    with pytest.raises(Exception, match="wrong passphrase"):
        pending.result()


def test_what_follows_the_unlock_on_its_thread_never_undoes_it(tmp_path: Path) -> None:
    path = _profile(tmp_path, cases=1)

    def fails(store: Store) -> None:
        raise RuntimeError("the follow-up failed")

    pending = services.begin_unlock(path, PASSPHRASE, then=fails)
    assert pending is not None
    store = pending.result()  # the unlock stands; the app reads for itself
    assert pending.prepared is None and len(store.case_ids()) == 1
    store.close()
    ran: list[Store] = []
    wrong = services.begin_unlock(path, "not the passphrase", then=ran.append)
    assert wrong is not None
    with pytest.raises(Exception, match="wrong passphrase"):
        wrong.result()
    assert ran == [] and wrong.prepared is None  # nothing follows a failed unlock


async def test_the_first_frame_shows_the_rows_read_on_the_unlock_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _profile(tmp_path, cases=3)
    readers: list[str] = []
    real_quick = caseload.quick_caseload

    def spy(*args: Any) -> Any:
        readers.append(threading.current_thread().name)
        return real_quick(*args)

    monkeypatch.setattr(caseload, "quick_caseload", spy)
    pending = services.begin_unlock(path, PASSPHRASE, then=caseload.start_read)
    assert pending is not None
    pending.result()
    read = pending.prepared
    assert isinstance(read, caseload.StartRead) and read.caseload is not None
    app = make_app(profile_path=path, pending=pending)  # no fixed day: the policy's today
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the caseload")
        shown = app.screen.query_one("#cases").rows  # type: ignore[attr-defined]
        assert [r.case_id for r in shown] == [r.case_id for r in read.caseload.rows]
        assert len(shown) == 3
        assert app.store is not None
        app.store.close()
    assert readers == ["fieldkit-unlock"]  # read once, on the unlock's thread


async def test_the_first_frame_is_drawn_whole_and_turns_the_collector_back_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _profile(tmp_path, cases=3)
    # neither limit may rescue the start here: only the key line ends the hold
    monkeypatch.setattr(screens_app, "FIRST_FRAME_LIMIT", 600.0)
    monkeypatch.setattr(screens_app, "COLLECTOR_LIMIT", 600.0)
    frames: list[tuple[str, list[str], bool]] = []
    real_display = FieldkitApp._display

    def display(app: FieldkitApp, screen: Any, renderable: Any) -> None:
        if renderable is not None and not app._batch_count and isinstance(screen, DashboardScreen):
            counts = str(screen.query_one("#counts", Static).render())
            keys = [str(key.description) for key in screen.query(FooterKey)]
            frames.append((counts, keys, gc.isenabled()))
        real_display(app, screen, renderable)

    monkeypatch.setattr(FieldkitApp, "_display", display)
    pending = services.begin_unlock(path, PASSPHRASE, then=caseload.start_read)
    assert pending is not None
    pending.result()
    gc.disable()  # as `fieldkit.launch` leaves it for the start
    try:
        app = make_app(profile_path=path, pending=pending)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, gc.isenabled, "the collector on again after the first frame")
            await settle(pilot)
            assert app.store is not None
            app.store.close()
    finally:
        gc.enable()
    counts, keys, collecting = frames[0]  # the first frame drawn: the rows and the key line
    assert counts.startswith("3 of 3 cases")
    assert "Help" in keys and "Filter" in keys
    assert collecting is False  # turned on only once that frame was drawn


async def test_the_key_line_is_made_again_only_when_its_keys_change(demo_store: Store) -> None:
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        keys = list(footer.query(FooterKey))
        assert str(keys[0].description) == "Open case"  # Enter opens, from the search too
        app.screen.refresh_bindings()  # the same keys again: the same widgets stay
        await settle(pilot)
        assert list(footer.query(FooterKey)) == keys
        app.screen.query_one("#cases").focus()  # the table's Enter opens the case: the same keys
        await settle(pilot)
        shown = [str(k.description) for k in footer.query(FooterKey)]
        assert shown[0] == "Open case" and "Help" in shown


async def test_the_search_filters_in_the_keystroke_that_changed_it(demo_store: Store) -> None:
    """The rows and the counts follow the search's value at once (not on a later message),
    so the typed letter and the rows it leaves are drawn in one frame."""
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(CaseTable)
        every = list(table.rows)
        word = every[5].family.split()[0]
        screen.query_one("#search", Input).value = word  # no await: nothing else has run
        assert table.rows == caseload.filter_rows(every, word)
        assert 0 < len(table.rows) < len(every)
        counts = str(screen.query_one("#counts", Static).render())
        assert counts.startswith(f"{len(table.rows)} of {len(every)} cases")
        await settle(pilot)
        assert table.rows == caseload.filter_rows(every, word)


async def test_a_row_drawn_before_is_drawn_again_when_the_cursor_or_language_changes(
    demo_store: Store,
) -> None:
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(CaseTable)

        def lines() -> list[Strip]:
            table.refresh()  # Textual's own line cache forgets them; the table's may keep them
            return table.render_lines(Region(0, 0, table.size.width, table.size.height))

        first = lines()
        table.action_cursor_down()  # the second row is now the cursor's
        await settle(pilot)
        moved = lines()
        assert [s.text for s in moved] == [s.text for s in first]
        assert moved[0] != first[0] and moved[1] != first[1]  # the cursor's style moved
        assert moved[2] == first[2]
        table.action_cursor_up()
        await settle(pilot)
        assert lines() == first
        english = status_label(table.rows[2].status)
        with i18n.using("fr"):
            french = lines()
            assert status_label(table.rows[2].status) in french[2].text
        assert english not in french[2].text
        assert lines() == first


async def test_past_midnight_the_rows_count_their_days_from_the_new_day(
    demo_store: Store,
) -> None:
    """A reload on the next day gave the same rows (nothing fell due), so the table kept
    the lines it drew with yesterday's "in 3 days"; it now counts from the new day."""
    app = make_app(store=demo_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(CaseTable)
        row = next(r for r in table.rows if r.due is not None)
        at = table.rows.index(row)

        def line() -> str:
            table.refresh()
            return table.render_lines(Region(0, at, table.size.width, 1))[0].text

        assert when_words(row.due, TODAY) in line()
        tomorrow = TODAY + timedelta(days=1)
        app.fixed_today = tomorrow
        screen.load()
        await until(pilot, lambda: table.today == tomorrow, "the reload of the next day")
        await settle(pilot)
        assert table.rows[at].case_id == row.case_id
        assert when_words(row.due, tomorrow) in line()
        assert when_words(row.due, TODAY) not in line()


OPEN_APP_PROBE = """
import gc, json, sys
import fieldkit.screens.app as screens_app

class Recorded:
    def __init__(self, **given):
        self.given = given
    def run(self):
        pending = self.given["pending"]
        store = pending.result()  # the head start's key opens the profile
        print(json.dumps({
            "path": str(self.given["profile_path"]),
            "theme": self.given["theme"],
            "cases": len(store.case_ids()),
            "typer": "typer" in sys.modules,
            "pydantic": "pydantic" in sys.modules,
            "commands": "fieldkit.cli" in sys.modules,
            "collector": gc.isenabled(),
        }))
        store.close()

screens_app.make_app = lambda **given: Recorded(**given)
sys.stdout.isatty = lambda: True  # as in a terminal
sys.argv = ["fieldkit", *sys.argv[1:]]
from fieldkit.launch import main
main()
print(json.dumps({"collector": gc.isenabled()}))  # on again once the app has run
"""


def test_the_app_opens_without_loading_the_command_line(tmp_path: Path) -> None:
    path = _profile(tmp_path, cases=2)
    env = {**os.environ, "FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(path.parent)}
    args = ["--theme", "high-contrast"]
    done = subprocess.run(
        [sys.executable, "-c", OPEN_APP_PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    during, after = (json.loads(line) for line in done.stdout.splitlines())
    assert after == {"collector": True}
    assert during == {
        "path": str(path),
        "theme": "high-contrast",
        "cases": 2,
        "typer": False,
        "pydantic": False,
        "commands": False,
        "collector": False,  # off for the start (the app turns it on after its first frame)
    }


CLI_PROBE = """
import gc, sys
import fieldkit.cli
fieldkit.cli.main = lambda: print("collector", gc.isenabled())
sys.argv = ["fieldkit", *sys.argv[1:]]
from fieldkit.launch import main
main()
"""


def test_the_command_line_runs_with_the_collector_on(tmp_path: Path) -> None:
    path = _profile(tmp_path, cases=1)
    env = {**os.environ, "FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(path.parent)}
    done = subprocess.run(
        [sys.executable, "-c", CLI_PROBE, "due"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["collector", "True"]


def test_anything_but_the_app_goes_to_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldkit import launch

    path = _profile(tmp_path, cases=1)
    monkeypatch.setenv("FIELDKIT_HOME", str(path.parent))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    opened: list[Any] = []
    monkeypatch.setattr("fieldkit.screens.app.make_app", lambda **given: opened.append(given))
    for argv in (["due"], ["--help"], ["--lang", "fr"], ["--theme"], ["--profile", "other"]):
        assert launch.open_app(argv) is False, argv
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)  # piped: the CLI prints the list
    assert launch.open_app([]) is False
    assert opened == []


def test_lang_opens_the_app_in_that_language_for_this_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fieldkit --lang fr` opens the field app in French (the app chose the profile's or
    LANG's language again, so `--lang` was said in `--help` and ignored)."""
    import typer

    from fieldkit import i18n
    from fieldkit.cli import app as cli_app

    path = _profile(tmp_path, cases=1)
    monkeypatch.setenv("FIELDKIT_HOME", str(path.parent))
    monkeypatch.setenv("LANG", "es_MX.UTF-8")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    opened: list[dict[str, Any]] = []

    class Recorded:
        def __init__(self, **given: Any) -> None:
            opened.append(given)

        def run(self) -> None:
            pass

    monkeypatch.setattr(screens_app, "make_app", Recorded)
    try:
        typer.main.get_command(cli_app).main(["--lang", "fr"], standalone_mode=False)
    finally:
        i18n.set_language(i18n.DEFAULT)
    assert [given.get("language") for given in opened] == ["fr"]


def test_the_stylesheet_is_parsed_again_only_when_its_sources_or_theme_change() -> None:
    from fieldkit.screens.stylesheet import KeptStylesheet
    from textual.color import Color

    sheet = KeptStylesheet(variables={"accent": "#ff0000"})
    sheet.add_source("Static { color: $accent; }", read_from=("a.tcss", ""))
    first = sheet.rules
    sheet.reparse()
    assert sheet.rules is first  # the same sources and theme: the rules stand
    sheet.set_variables({"accent": "#00ff00"})
    sheet.reparse()
    assert sheet.rules is not first  # another theme: every source parsed again
    assert sheet.rules[0].styles.color == Color.parse("#00ff00")
    green = sheet.rules[0]
    sheet.set_variables({"accent": "#00ff00"})  # the same theme again
    sheet.add_source("Label { color: red; }", read_from=("b.tcss", ""))
    sheet.reparse()
    assert len(sheet.rules) == 2  # a new source: parsed …
    assert sheet.rules[0] is green  # … alone: the others' rules stand


async def test_a_start_that_fails_to_unlock_turns_the_collector_back_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong passphrase in the environment: the unlock screen is the first frame, and the
    collector comes back on with it (not later, after a key line or at COLLECTOR_LIMIT:
    both pushed out of reach here)."""
    path = _profile(tmp_path, cases=1)
    monkeypatch.setattr(screens_app, "COLLECTOR_LIMIT", 600.0)
    monkeypatch.setattr(screens_app, "COLLECTOR_AFTER", 600.0)
    pending = services.begin_unlock(path, "not the passphrase")
    assert pending is not None
    with pytest.raises(Exception, match="wrong passphrase"):
        pending.result()
    gc.disable()  # as `fieldkit.launch` leaves it for the start
    try:
        app = make_app(profile_path=path, pending=pending)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "the unlock screen")
            await until(pilot, gc.isenabled, "the collector on again with the unlock screen")
            assert app.store is None
    finally:
        gc.enable()


async def test_a_wrong_passphrase_found_before_the_language_is_chosen_is_said_in_it(
    tmp_path: Path,
) -> None:
    """The unlock starts on its thread before the app picks its language (`fieldkit.launch`
    begins it first): its error is said in the app's language, not the one of the moment
    the key derivation failed."""
    path = _profile(tmp_path, cases=1)
    with i18n.using("en"):
        pending = services.begin_unlock(path, "not the passphrase")
        assert pending is not None
        with pytest.raises(Exception, match="wrong passphrase"):
            pending.result()
    app = make_app(profile_path=path, pending=pending, language="fr")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "the unlock screen")
        status = app.screen.query_one("#unlock-status", Static)
        await until(pilot, lambda: "phrase de passe incorrecte" in str(status.render()), "French")
        assert "wrong passphrase" not in str(status.render())


HEAD_START_PROBE = """
import json, sys
from fieldkit import launch, kdf
launch.start_unlock([])
started = sorted(kdf._EARLY)
crypto_loaded = "fieldkit.crypto" in sys.modules
derived = []
real = kdf._derive
kdf._derive = lambda *a: derived.append(1) or real(*a)
from fieldkit import i18n, services
store = services.begin_unlock(launch._profile_path([]), then=None).result()
print(json.dumps({"started": len(started), "crypto_before": crypto_loaded,
                  "derived_again": len(derived), "cases": len(store.case_ids())}))
store.close()
"""


def test_the_head_start_derives_before_the_rest_of_crypto_loads_and_is_taken(
    tmp_path: Path,
) -> None:
    """Argon2id starts from `fieldkit.kdf` alone (the sooner, the less a busy start waits for
    the key), and the unlock takes that key: it reads the slot's salt and cost as
    `fieldkit.crypto` does, so nothing is derived twice."""
    path = _profile(tmp_path, cases=2)
    env = {**os.environ, "FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(path.parent)}
    done = subprocess.run(
        [sys.executable, "-c", HEAD_START_PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "started": 1,
        "crypto_before": False,
        "derived_again": 0,
        "cases": 2,
    }
