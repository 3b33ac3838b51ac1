"""Case records beyond the visit travel like visits: signed ops through the server, the
supervisor's approve/return reaches the worker, a concurrent placement change waits for a
person (safety-critical, SA-4)."""

from __future__ import annotations

from datetime import date

from fieldkit.sync.client import run_sync

from fieldkit import services
from fieldkit.practice import load_profile
from fieldkit.services import casework, review
from tests.sync.conftest import Agency, synced_team
from tests.unit.test_casework_transfer import PLAN_FORM

ON = load_profile("ontario-std7")


def test_a_service_plan_is_returned_then_approved_through_the_server(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    casework.record_assessment(worker, "C-1", date(2026, 9, 20), "close family", "support", True)
    form = casework.PlanForm.from_form(date(2026, 9, 28), PLAN_FORM)
    first = casework.record_service_plan(worker, "C-1", form, ON)
    run_sync(worker)
    run_sync(sup)
    queue = review.review_queue(sup, ON, date(2026, 10, 1))
    assert [(i.target, i.target_id) for i in queue] == [("service_plan", first)]
    review.return_for_changes(sup, "C-1", first, "add a housing goal", target="service_plan")
    run_sync(sup)
    run_sync(worker)
    # the returned version is not in force on the worker's laptop: PL-2 is open again
    case = services.load_case(worker, "C-1")
    assert case.service_plan is not None and case.service_plan.approval == "returned"
    second = casework.record_service_plan(
        worker, "C-1", casework.PlanForm.from_form(date(2026, 10, 2), PLAN_FORM), ON
    )
    run_sync(worker)
    run_sync(sup)
    assert [i.target_id for i in review.review_queue(sup, ON, date(2026, 10, 3))] == [second]
    review.approve(sup, "C-1", "service_plan", second)
    run_sync(sup)
    run_sync(worker)
    case = services.load_case(worker, "C-1")
    assert case.service_plan is not None
    assert (case.service_plan.id, case.service_plan.approval) == (second, "approved")


def test_concurrent_placement_changes_wait_for_a_person(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    casework.record_event(worker, "C-1", "placement-change", date(2026, 11, 2), "", "p2", "foster")
    casework.record_event(sup, "C-1", "placement-change", date(2026, 11, 3), "", "p2", "group")
    run_sync(worker)
    run_sync(sup)
    run_sync(worker)
    for store in (sup, worker):
        assert services.load_case(store, "C-1").needs_resolution >= 1
        conflicts = review.open_conflicts(store, "C-1")
        assert [(c.entity, c.entity_id, c.field) for c in conflicts if c.critical] == [
            ("person", "p2", "placement")
        ]
