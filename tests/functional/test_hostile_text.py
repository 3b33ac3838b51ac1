"""Hostile text is data: a caseload of markup, terminal escapes and broken Unicode renders
everywhere (CLI listings, every app screen, a saved draft) without a crash, a live link or
a control character reaching the terminal (THREAT_MODEL.md, hostile input)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from textual.command import CommandPalette
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Label, OptionList, Static

from fieldkit import services
from fieldkit.services import visits
from fieldkit.store import Store
from fieldkit.text import clean, safe
from tests.conftest import FAST_ARGON, PASSPHRASE, run_cli, sample_case, signed_visit, transfer_doc
from tests.functional.conftest import TODAY, add_service_plan, open_case, settle, until

MARKUP_NAME = "Ana [/] Ortiz"
LINK_NAME = "[link=https://x.example]Leo[/link] Ortiz"
ESCAPE_NAME = "Maya \x1b[2J\x07\x00 Ortiz"
SURROGATE_NAME = "Rosa \ud800 Diaz"
THREAT = "Caregiver [/] drinks \x1b]8;;https://x.example\x07click\x1b]8;;\x07 [bold red]"
FORBIDDEN = ("\x1b[2J", "\x07", "\x00", "\x1b]8;", "\ud800")


def hostile_case(case_id: str) -> dict[str, Any]:
    """The sample case whose names and texts are markup (import accepts markup: it is text)."""
    case = sample_case(case_id)
    case["people"][0]["name"] = "[bold]Maya[/bold] Ortiz"
    case["people"][1]["name"] = LINK_NAME
    case["people"][2]["name"] = MARKUP_NAME
    case["address"] = "[/] 12 Elm [link=https://x.example]Street[/link]"
    case["safety"]["threats"][0]["text"] = "Caregiver [/] drinks [bold red]"
    case["safety"]["plan"]["interventions"][0]["who"] = "[/]"
    return case


def poison(store: Store, case_id: str) -> None:
    """Control characters and a lone surrogate, as a hostile enrolled laptop could sync them."""
    store.record(case_id, "person", "p1", {"name": ESCAPE_NAME})
    store.record(case_id, "person", "p3", {"name": f"{MARKUP_NAME} {SURROGATE_NAME}"})
    store.record(case_id, "threat", "t1", {"text": THREAT})


@pytest.fixture
def hostile_store(tmp_path: Path) -> Iterator[Store]:
    """Two hostile cases, a service plan, a signed visit and a saved draft."""
    path = tmp_path / "home" / "default.fieldkit"
    store = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(hostile_case("C-1"), hostile_case("C-2")))
    add_service_plan(store, "C-1")
    store.record("C-1", "goal", "g1", {"text": "Safe [/] evenings \x1b[2J"})
    poison(store, "C-1")
    poison(store, "C-2")
    signed_visit(store, "v1", case_id="C-1")
    case = services.load_case(store, "C-2")
    draft = visits.new_draft(case, "jsmith", TODAY)
    draft["record"]["notes"] = "notes [/] \x1b[2J"
    visits.save_draft(store, draft)
    yield store
    store.close()


def test_safe_escapes_markup_and_strips_control_characters() -> None:
    assert safe(MARKUP_NAME) == "Ana \\[/] Ortiz"
    assert safe("[2J x") == "\\[2J x"
    assert clean(ESCAPE_NAME) == "Maya [2J Ortiz"
    assert clean(SURROGATE_NAME) == "Rosa \ufffd Diaz"
    assert clean("a\u202eb\tc\nd") == "ab\tc\nd"


@pytest.mark.parametrize(
    "command",
    [("case", "list"), ("due",), ("review",), ("case", "show", "C-1"), ("verify",)],
    ids=lambda c: " ".join(c),
)
def test_cli_listings_show_hostile_text_as_text(
    hostile_store: Store, command: tuple[str, ...]
) -> None:
    hostile_store.set_meta("role", "supervisor")
    hostile_store.close()
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    result = (
        run_cli(*command, "--as-of", "2026-11-26", env=env)
        if command == ("due",)
        else run_cli(*command, env=env)
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 2), result.stderr  # `due` exits 2 when items are overdue
    for bad in FORBIDDEN:
        assert bad not in result.stdout, f"{bad!r} reached the terminal"
    if command == ("case", "list"):
        assert "[/]" in result.stdout  # shown literally, not taken as markup


def _screen_text(pilot: Pilot[Any]) -> str:
    """Every text the current screen renders."""
    parts = []
    for widget in pilot.app.screen.query("*"):
        if isinstance(widget, Static | Label):
            parts.append(str(widget.render()))
        if isinstance(widget, OptionList):
            parts += [str(o.prompt) for o in widget.options]
    return "\n".join(parts)


def _assert_clean(pilot: Pilot[Any]) -> str:
    text = _screen_text(pilot)
    for bad in FORBIDDEN:
        assert bad not in text, f"{bad!r} on screen {type(pilot.app.screen).__name__}"
    return text


async def test_every_app_screen_renders_the_hostile_caseload(hostile_store: Store) -> None:
    app = make_app(store=hostile_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _assert_clean(pilot)  # the draft offer (a draft with a [/] family name is saved)
        await pilot.press("escape")
        await settle(pilot)
        _assert_clean(pilot)  # the caseload
        await open_case(pilot, "C-1")
        text = _assert_clean(pilot)
        assert "Caregiver [/] drinks" in text  # the threat, as written
        await pilot.press("v")
        await settle(pilot)
        seen = set()
        for _ in range(7):  # kind, present, safety check, child steps, progress, next, review
            seen.add(type(app.screen).__name__)
            _assert_clean(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
        assert "SafetyCheckStep" in seen or any("Safety" in name for name in seen), seen
        _assert_clean(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Ortiz")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)


async def test_the_supervisor_console_renders_the_hostile_caseload(hostile_store: Store) -> None:
    hostile_store.set_meta("role", "supervisor")
    app = make_app(store=hostile_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _assert_clean(pilot)
        for key in ("enter", "escape", "t", "escape", "c", "escape"):
            await pilot.press(key)
            await settle(pilot)
            _assert_clean(pilot)


ESCAPED_THREAT = "[bold red]threat[/] \\[escaped] a\\[2J \\\\[x]"


async def test_a_backslash_before_a_bracket_shows_once_in_the_app(hostile_store: Store) -> None:
    """What was written is what is shown: Textual's markup needs one backslash per bracket,
    not Rich's doubling, or `\\[escaped]` would show as `\\\\[escaped]`."""
    hostile_store.record("C-1", "threat", "t1", {"text": ESCAPED_THREAT})
    app = make_app(store=hostile_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await open_case(pilot, "C-1")
        assert ESCAPED_THREAT in _assert_clean(pilot)


async def test_the_command_palette_shows_a_hostile_name_as_text(store: Store) -> None:
    """Ctrl+P, then a few letters of a case's names: the names are shown as written. A name
    holding `[/]` stopped the app (the palette read it as markup); `[@click=…]` and `[red]`
    were taken as an action and a colour."""
    case = sample_case("C-9")
    case["people"][0]["name"] = "Jo [/] Ortiz"
    case["people"][2]["name"] = "[red]Ana[/red] [@click=app.quit]Ortiz[/]"
    services.import_cases(store, transfer_doc(case))
    app = make_app(store=store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"Ortiz")
        results = app.screen.query_one(OptionList)
        await until(pilot, lambda: results.option_count > 0, "the case found")
        await settle(pilot)
        assert app.is_running
        prompt = results.get_option_at_index(0).prompt
        assert isinstance(prompt, Content)
        assert "[red]Ana[/red] [@click=app.quit]Ortiz[/]" in prompt.plain
        assert "Jo [/] Ortiz" in prompt.plain
        assert not any("click" in str(span.style) for span in prompt.spans)
