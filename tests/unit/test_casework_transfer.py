"""Export is the whole case: every record kind round-trips through fieldkit.case-transfer/1.

The case is built through the services a worker and a supervisor use (assessment, plan,
visit with a new threat and an alternative safety plan, override, addendum, approval,
supervision, events, formal review, case facts, closure); export → import → export is
identical and the due list is unchanged.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fieldkit import services
from fieldkit.domain import ENTITY_KINDS
from fieldkit.practice import due_items, load_profile
from fieldkit.services import casework, review, visits
from fieldkit.store import Store
from fieldkit.visit_record import ChildObservation, PrivateInterview
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc

ON = load_profile("ontario-std7")
US = load_profile("us-ongoing")

PLAN_FORM = {
    "family_agreement": "Ana agrees with the plan",
    "participants": ["Ana Ortiz", "Rosa Diaz"],
    "goals": [
        {
            "text": "Children are safe every evening",
            "objectives": [
                {
                    "text": "No alcohol while caring for the children",
                    "activities": [
                        {
                            "text": "Outpatient addiction program",
                            "who": "Ana",
                            "where": "community clinic",
                            "how": "group sessions",
                            "when": "twice weekly",
                            "measure": "attendance letters",
                        }
                    ],
                }
            ],
        }
    ],
}


def _visit(store: Store, day: str) -> str:
    """A home visit signed through the visit service, naming a new threat: the alternative
    safety plan (SA-2) and an override with its reason come from the same path."""
    case = services.load_case(store, "C-1")
    draft = visits.new_draft(case, store.user, date.fromisoformat(day))
    record = visits.record_of(draft)
    record.date, record.kind, record.outcome = day, "home", "completed"
    record.announced = True  # the case requires unannounced visits: VI-4; overridden below
    record.notes = "Grandmother present; new partner staying over."
    record.next_visit = "2026-11-03"
    record.present = [p.id for p in case.people]
    for contact in record.children:
        contact.seen = True
        if contact.person == "p1":
            contact.observation = ChildObservation(
                interaction="settles with mother", condition="alert"
            )
        if contact.person == "p2":
            contact.private_interview = PrivateInterview(True, False, "bedroom")
    plan = case.service_plan
    items = [g.id for g in plan.goals] + [a.id for a in plan.activities] if plan else []
    record.progress = {key: "started the program" for key in items}
    record.safety.changed = True
    record.safety.circumstances = ["a new adult in the home"]
    record.safety.new_threats = ["New partner with a violence history stays nights"]
    record.safety.interventions = "Partner does not stay overnight"
    today = date.fromisoformat(day)
    for check in visits.check_record(case, record, ON, today):
        if check.gate and check.override is None:
            visits.add_override(
                record, check, "announced: the family was in crisis", store.user, datetime.now(UTC)
            )
    visits.sign_visit(store, case, record, ON, today)
    return record.visit_id


def build_full_case(store: Store) -> None:
    """One case holding every record kind, made through the services users call."""
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    store.set_meta("role", "supervisor")
    casework.record_assessment(
        store, "C-1", date(2026, 9, 20), "Grandmother close by", "Sobriety support", True
    )
    form = casework.PlanForm.from_form(date(2026, 9, 28), PLAN_FORM)
    plan_id = casework.record_service_plan(store, "C-1", form, ON)
    review.approve(store, "C-1", "service_plan", plan_id)
    visit_id = _visit(store, "2026-10-20")
    visits.add_addendum(
        store, "C-1", visit_id, "Partner's name corrected.", store.user, date(2026, 10, 21)
    )
    review.approve(store, "C-1", "visit", visit_id)
    review.record_supervision(store, "C-1", date(2026, 10, 25), "Keep weekly visits", True)
    casework.record_event(
        store, "C-1", "placement-change", date(2026, 11, 2), "Moved to aunt", "p2", "kinship"
    )
    casework.record_event(store, "C-1", "new-information", date(2026, 11, 5), "School report")
    casework.update_person(store, "C-1", "p3", {"phone": "555-0199"})
    casework.add_person(store, "C-1", "other", {"name": "Rosa Diaz", "relationship": "aunt"})
    casework.set_threat(store, "C-1", "Caregiver intoxicated at night", "t1")
    casework.set_intervention(store, "C-1", "t1", "Grandmother present evenings", "Rosa Diaz")
    casework.record_review(
        store,
        "C-1",
        ON,
        date(2026, 11, 20),
        prognosis="Good: reunification likely by spring",
        notes="Plan on track",
        participants=["Ana Ortiz"],
    )
    closure_id = casework.record_closure(
        store, "C-1", ON, date(2026, 12, 15), "Goals met", "Aunt and program", True
    )
    review.approve(store, "C-1", "closure", closure_id)


@pytest.fixture
def full(store: Store) -> Store:
    build_full_case(store)
    return store


def _fresh(tmp_path: Path, name: str) -> Store:
    return Store.create(tmp_path / f"{name}.fieldkit", PASSPHRASE, "mlee", argon=FAST_ARGON)


def test_every_record_kind_round_trips(full: Store, tmp_path: Path) -> None:
    first = services.export_case(full, "C-1")
    case = first["cases"][0]
    held = {kind for kind in case.get("records", {})}
    held |= {"person"} if case["people"] else set()
    held |= {"threat"} if case["safety"]["threats"] else set()
    held |= {"safety_plan"} if case["safety"].get("alternative_plans") else set()
    held |= {"visit"} if case["history"]["visits"] else set()
    assert held | {"case"} == set(ENTITY_KINDS), set(ENTITY_KINDS) - held

    other = _fresh(tmp_path, "other")
    try:
        services.import_cases(other, first)
        second = services.export_case(other, "C-1")
        assert json.dumps(second, sort_keys=False) == json.dumps(first, sort_keys=False)
        a, b = services.load_case(full, "C-1"), services.load_case(other, "C-1")
        for day in (date(2026, 9, 25), date(2026, 11, 10), date(2026, 12, 1), date(2027, 1, 5)):
            for profile in (ON, US):
                assert due_items(a, profile, day) == due_items(b, profile, day), day
    finally:
        other.close()


def test_round_trip_keeps_what_the_due_list_reads(full: Store) -> None:
    """Hand-checked on the rebuilt case: the closure (2026-12-15) ends every deadline (CL-1);
    before it the placement change of 2026-11-02 was answered by the review of 11-20."""
    case = services.load_case(full, "C-1")
    assert due_items(case, ON, date(2026, 12, 16)) == []
    before = {i.rule: i for i in due_items(case, ON, date(2026, 12, 1))}
    assert "PL-7" not in before  # the review answered the event
    assert before["RV-2"].due == date(2027, 5, 20)  # formal review 2026-11-20 + 6 months
    assert before["RV-2"].status == "done"
    assert case.service_plan is not None and case.service_plan.approval == "approved"
    assert [p.id for p in case.safety_plans if p.kind == "alternative"]
    placement = next(p.placement for p in case.people if p.id == "p2")
    assert placement is not None and placement.setting == "kinship"


def test_a_closed_case_comes_back_closed(full: Store, tmp_path: Path) -> None:
    """The defect: a closed case used to come back with overdue visits."""
    other = _fresh(tmp_path, "closed")
    try:
        services.import_cases(other, services.export_case(full, "C-1"))
        assert due_items(services.load_case(other, "C-1"), ON, date(2027, 3, 1)) == []
    finally:
        other.close()
