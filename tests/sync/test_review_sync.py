"""Supervisor records through the server: the role is enforced there, decisions reach the worker."""

from __future__ import annotations

from datetime import date

from fieldkit.sync.client import assign_case, run_sync

from fieldkit.cli.outbox import console, print_summary
from fieldkit.services import review
from fieldkit.store import SYNC_QUARANTINED, Store
from tests.sync.conftest import Agency, synced_team

REFUSAL = "only the case's supervisor may approve or return records"


def _signed_visit(store: Store, visit_id: str, notes: str = "seen alone in her room") -> None:
    fields = {"date": "2026-11-20", "kind": "home", "notes": notes, "author": store.user}
    store.record("C-1", "visit", visit_id, fields)
    store.sign("C-1", "visit", visit_id, fields)


def test_a_worker_cannot_approve_even_past_the_local_check(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _signed_visit(worker, "v1")
    # The worker's laptop is tampered with to pass review.require_supervisor locally.
    worker.set_meta("sync_role", "supervisor")
    forged = review.approve(worker, "C-1", "visit", "v1")
    session = worker.record("C-1", "supervision", "sup-x", {"decisions": "all fine"})
    crafted = worker.record(
        "C-1", "approval", "ap-y", {"target": "visit", "target_id": "v1", "decision": "approved"}
    )
    result = run_sync(worker)
    assert result.pushed == 2  # the visit and its signature
    refused = {r["op_id"]: r["reason"] for r in result.rejected}
    forged_op = next(op.op_id for op in worker.ops(SYNC_QUARANTINED) if op.entity_id == forged)
    assert set(refused) == {forged_op, session.op_id, crafted.op_id}
    for reason in refused.values():
        assert reason.startswith(REFUSAL) and "jsmith is a worker" in reason
    assert {o for o, _ in worker.quarantined()} == set(refused)
    assert worker.outbox_count() == 0
    # The refusal is shown in the `fieldkit sync` summary.
    with console.capture() as out:
        print_summary(result)
    shown = " ".join(out.get().split())
    assert "3 changes refused by the server (kept, quarantined):" in shown
    # One line per reason and case, with its count: the two approvals share one.
    assert f"case C-1: {REFUSAL} (approval): jsmith is a worker (2; for good)" in shown
    assert f"case C-1: {REFUSAL} (supervision): jsmith is a worker (1; for good)" in shown
    # The supervisor never receives the forgery; the same ops resent get the same answer.
    got = run_sync(sup)
    assert got.pulled == 2 and got.approvals_received == 0
    assert sup.entities("C-1", "approval") == []


def test_a_supervisor_carrying_a_case_may_not_approve_their_own_work(agency: Agency) -> None:
    agency.person("mlee", "supervisor")
    sup, _worker = synced_team(agency)
    # mlee, a supervisor, carries the case as its worker; akhan supervises it.
    assign_case(sup, "C-1", "mlee")
    own = agency.laptop("mlee")
    run_sync(sup)
    assert run_sync(own).keys_received == 2  # the key so far and the one made as jsmith left
    _signed_visit(own, "v1")
    review.approve(own, "C-1", "visit", "v1")
    result = run_sync(own)
    assert result.pushed == 2
    assert [r["reason"] for r in result.rejected] == [
        f"{REFUSAL} (approval): mlee does not supervise case C-1"
    ]
    run_sync(sup)
    review.approve(sup, "C-1", "visit", "v1")
    assert run_sync(sup).rejected == []
    assert run_sync(own).approvals_received == 1


def test_the_supervisor_approves_and_returns_and_the_worker_is_told(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _signed_visit(worker, "v1")
    _signed_visit(worker, "v2", notes="brief")
    run_sync(worker)
    run_sync(sup)
    review.approve(sup, "C-1", "visit", "v1")
    review.return_for_changes(sup, "C-1", "v2", "say where the children were seen")
    review.record_supervision(sup, "C-1", date(2026, 11, 21), "keep weekly visits", True)
    pushed = run_sync(sup)
    assert pushed.rejected == [] and pushed.pushed == 3
    got = run_sync(worker)
    assert (got.approvals_received, got.returns_received) == (1, 1)
    assert got.approval_case_ids == got.return_case_ids == ["C-1"]
    assert (got.supervision_received, got.supervision_case_ids) == (1, ["C-1"])
    returned = [d for d in got.decisions_received if d["decision"] == "returned"]
    assert returned == [
        {
            "case_id": "C-1",
            "target": "visit",
            "target_id": "v2",
            "decision": "returned",
            "comment": "say where the children were seen",
            "by": "akhan",
        }
    ]
    latest = review.latest_decision(worker, "C-1", "visit", "v1")
    assert latest is not None and latest.decision == "approved" and not latest.stale
    as_json = got.to_json()
    assert as_json["approvals_received"] == 1 and as_json["returns_received"] == 1
    with console.capture() as out:
        print_summary(got)
    text = " ".join(out.get().split())
    assert "returned for changes" in text and "say where the children were seen" in text


def test_a_supervisor_decision_on_a_safety_plan_reaches_the_worker(agency: Agency) -> None:
    decision = "rejected"
    sup, worker = synced_team(agency)
    worker.record(
        "C-1",
        "safety_plan",
        "sp-9",
        {"kind": "alternative", "approval": "pending", "interventions": ["grandmother stays"]},
    )
    run_sync(worker)
    run_sync(sup)
    review.decide(sup, "C-1", "safety_plan", "sp-9", decision, comment="reviewed")
    assert run_sync(sup).rejected == []
    got = run_sync(worker)
    plan = worker.entity("C-1", "safety_plan", "sp-9")
    assert plan is not None and plan.fields["approval"] == decision
    assert (got.approvals_received, got.returns_received) == (0, 1)
