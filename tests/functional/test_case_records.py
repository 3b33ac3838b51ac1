"""The case's own record from the case view, driven with Pilot as a worker and a supervisor:
assessment → plan (blocked before the assessment, PL-1), a plan returned by the supervisor
then approved, a placement change moving the plan review (PL-7), a formal review (RV-2,
RV-4, RV-6), a closure after which nothing is due (CL-1)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.supervisor.queue import ReviewQueueScreen
from textual.pilot import Pilot
from textual.widgets import Select, Static

from fieldkit import services
from fieldkit.practice import due_items, load_profile
from fieldkit.services import casework, review
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc
from tests.functional.conftest import KEYS, TODAY, open_case, settle
from tests.unit.test_casework_transfer import PLAN_FORM

ON = load_profile("ontario-std7")
MORE_KEYS = {**KEYS, ";": "semicolon", "\n": "enter"}
OUTLINE = (
    "- Children are safe every evening\n"
    "  - No alcohol while caring\n"
    "    - Outpatient program; who: Ana; where: clinic; how: group; when: weekly; "
    "measure: letters"
)


@pytest.fixture
def case_store(tmp_path: Path) -> Iterator[Store]:
    """One case (opened 2026-09-01) with no assessment or plan on record yet."""
    store = Store.create(tmp_path / "case.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    case = sample_case("C-1")
    case["history"]["assessment_completed"] = None
    services.import_cases(store, transfer_doc(case))
    yield store
    with contextlib.suppress(Exception):
        store.close()


async def write(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Move to a field and type, key by key (newlines as Enter in a text area)."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus(scroll_visible=False)
    widget.scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.press(*[MORE_KEYS.get(ch, ch) for ch in text])


async def choose(pilot: Pilot[Any], selector: str, label: str) -> None:
    """Open a drop-down and move to the option whose label starts with `label`."""
    select = pilot.app.screen.query_one(selector, Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    labels = [str(prompt) for prompt, _ in select._options]  # noqa: SLF001
    target = next(i for i, text in enumerate(labels) if text.startswith(label))
    await pilot.press(*["down"] * target, "enter")
    await pilot.pause()


def result(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#form-result", Static).render())


async def sign(pilot: Pilot[Any]) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


def _rules(store: Store) -> dict[str, Any]:
    return {i.rule: i for i in due_items(services.load_case(store, "C-1"), ON, TODAY)}


async def test_assessment_then_plan_blocked_before_it(case_store: Store) -> None:
    app = make_app(store=case_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_case(pilot, "C-1")
        assert isinstance(app.screen, CaseScreen)
        # rule PL-1: the plan cannot be signed before the assessment
        await pilot.press("p")
        await settle(pilot)
        await write(pilot, "#sp-goals", OUTLINE)
        await write(pilot, "#sp-agreement", "Ana agrees")
        await sign(pilot)
        assert "PL-1" in result(pilot) and "assessment" in result(pilot)
        assert case_store.entities("C-1", "service_plan") == []
        await pilot.press("escape")
        await settle(pilot)
        # the assessment, then the plan signs
        await pilot.press("a")
        await settle(pilot)
        await write(pilot, "#as-strengths", "Grandmother close by")
        await write(pilot, "#as-needs", "Sobriety support")
        await pilot.click("#as-discussed")
        await sign(pilot)
        assert isinstance(app.screen, CaseScreen)
        await pilot.press("p")
        await settle(pilot)
        await write(pilot, "#sp-goals", OUTLINE)
        await write(pilot, "#sp-agreement", "Ana agrees")
        await write(pilot, "#sp-participants", "Ana Ortiz, Rosa Diaz")
        await sign(pilot)
        assert isinstance(app.screen, CaseScreen), result(pilot)
    [assessment] = case_store.entities("C-1", "assessment")
    assert assessment.fields["discussed_with_family"] is True and assessment.signed
    [plan] = case_store.entities("C-1", "service_plan")
    assert plan.signed and plan.fields["participants"] == ["Ana Ortiz", "Rosa Diaz"]
    [activity] = case_store.entities("C-1", "activity")
    assert (activity.fields["who"], activity.fields["measure"]) == ("Ana", "letters")
    assert _rules(case_store)["PL-2"].status == "done"


async def test_plan_returned_by_the_supervisor_then_approved(case_store: Store) -> None:
    casework.record_assessment(case_store, "C-1", TODAY, "close family", "support", True)
    form = casework.PlanForm.from_form(TODAY, PLAN_FORM)
    first = casework.record_service_plan(case_store, "C-1", form, ON)
    case_store.set_meta("role", "supervisor")
    app = make_app(store=case_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)  # the supervisor opens on the review queue
        assert isinstance(app.screen, ReviewQueueScreen)
        await pilot.press("enter")
        await settle(pilot)
        shown = str(app.screen.query_one("#record", Static).render())
        assert "Outpatient addiction program" in shown and "Family agreement" in shown
        await pilot.press("x")
        await settle(pilot)
        await write(pilot, "#comment", "Add a goal on housing")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")  # the console asks before a decision is recorded
        await settle(pilot)
        assert review.latest_decision(case_store, "C-1", "service_plan", first).decision == (
            "returned"
        )
        second = casework.record_service_plan(case_store, "C-1", form, ON)
        assert isinstance(app.screen, ReviewQueueScreen)  # back on the queue
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    decision = review.latest_decision(case_store, "C-1", "service_plan", second)
    assert decision is not None and decision.decision == "approved" and not decision.stale
    plan = services.load_case(case_store, "C-1").service_plan
    assert plan is not None and (plan.id, plan.approval) == (second, "approved")


@pytest.fixture
def planned(case_store: Store) -> Store:
    """Assessment 2026-09-20, plan 2026-09-28, a visit and a supervision on record."""
    from datetime import date

    casework.record_assessment(case_store, "C-1", date(2026, 9, 20), "close family", "help", True)
    casework.record_service_plan(
        case_store, "C-1", casework.PlanForm.from_form(date(2026, 9, 28), PLAN_FORM), ON
    )
    case_store.record("C-1", "supervision", "sup1", {"date": "2026-10-15", "decisions": "ok"})
    return case_store


async def test_placement_change_moves_the_plan_review_then_a_formal_review(planned: Store) -> None:
    # before: the periodic review, plan 2026-09-28 + 6 months
    assert _rules(planned)["RV-2"].due.isoformat() == "2027-03-28"
    app = make_app(store=planned, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_case(pilot, "C-1")
        await pilot.press("e")
        await settle(pilot)
        await choose(pilot, "#ev-kind", "placement change")
        await choose(pilot, "#ev-person", "Leo")
        await write(pilot, "#ev-setting", "foster")
        await sign(pilot)
        assert isinstance(app.screen, CaseScreen), result(pilot)
        await settle(pilot)
        due = str(app.screen.query_one("#due", Static).render())
        # rule PL-7: placement change today (2026-11-26) → plan review by 2026-12-26
        assert "2026-12-26" in due and "PL-7" in due
        # a formal review: RV-4 asks the prognosis (Leo is in care), then it signs
        await pilot.press("r")
        await settle(pilot)
        await write(pilot, "#rv-notes", "Plan on track")
        await sign(pilot)
        assert "RV-4" in result(pilot)
        await write(pilot, "#rv-prognosis", "Good")
        await sign(pilot)
        assert isinstance(app.screen, CaseScreen), result(pilot)
    rules = _rules(planned)
    assert "PL-7" not in rules
    assert (rules["RV-2"].due.isoformat(), rules["RV-2"].status) == ("2027-05-26", "done")
    leo = next(p for p in services.load_case(planned, "C-1").people if p.id == "p2")
    assert leo.placement is not None and leo.placement.setting == "foster"


async def test_closure_after_which_nothing_is_due(planned: Store) -> None:
    visit = {"date": "2026-11-20", "kind": "home", "notes": "seen", "author": "jsmith"}
    planned.record("C-1", "visit", "v1", visit)
    app = make_app(store=planned, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_case(pilot, "C-1")
        assert "nothing due" not in str(app.screen.query_one("#due", Static).render())
        await pilot.press("c")
        await settle(pilot)
        await write(pilot, "#cl-reason", "Goals met")
        await sign(pilot)
        assert "supports in place" in result(pilot)  # CL-1
        await write(pilot, "#cl-supports", "Aunt and the program")
        await pilot.click("#cl-goals-yes")
        await sign(pilot)
        assert isinstance(app.screen, CaseScreen), result(pilot)
        await settle(pilot)
        assert "nothing due" in str(app.screen.query_one("#due", Static).render())
    [closure] = planned.entities("C-1", "closure")
    assert closure.signed and closure.fields["goals_met"] is True
    assert due_items(services.load_case(planned, "C-1"), ON, TODAY) == []


async def test_case_facts_contact_details_threat_and_intervention(case_store: Store) -> None:
    """Rule SA-1: a threat named and its intervention recorded; a new phone number."""
    app = make_app(store=case_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_case(pilot, "C-1")
        await pilot.press("f")
        await settle(pilot)
        await sign(pilot)
        assert "nothing to record" in result(pilot)
        await choose(pilot, "#facts-person", "Ana")
        await write(pilot, "#facts-phone", "555-0199")
        await write(pilot, "#facts-threat-text", "Partner violent when drinking")
        await write(pilot, "#facts-intervention", "Partner stays away")
        await write(pilot, "#facts-who", "Ana")
        await sign(pilot)
        assert isinstance(app.screen, CaseScreen), result(pilot)
    case = services.load_case(case_store, "C-1")
    assert next(p.phone for p in case.people if p.id == "p3") == "555-0199"
    threat = next(t for t in case.threats if t.text == "Partner violent when drinking")
    plan = next(p for p in case.safety_plans if p.id == "plan")
    assert [(i.threat, i.text, i.who) for i in plan.interventions if i.threat == threat.id] == [
        (threat.id, "Partner stays away", "Ana")
    ]
