"""Supervisor review: approvals bound to content, returns, SA-2 plans, RV-1, conflicts, PDF."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from fieldkit import changelog, services
from fieldkit.changelog import Op
from fieldkit.crypto import aad_for
from fieldkit.practice import due_items, load_profile
from fieldkit.services import review
from fieldkit.store import Store
from tests.conftest import sample_case, signed_visit, transfer_doc

ONTARIO = load_profile("ontario-std7")


@pytest.fixture
def supervisor(store: Store) -> Store:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    store.set_meta("role", "supervisor")
    return store


def test_a_worker_cannot_approve(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    signed_visit(store)
    with pytest.raises(review.RoleError, match="only a supervisor"):
        review.approve(store, "C-1", "visit", "v1")
    assert store.entities("C-1", "approval") == []


def test_approval_goes_stale_when_an_addendum_changes_the_content(supervisor: Store) -> None:
    signed_visit(supervisor)
    queue = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    assert [(i.target, i.target_id) for i in queue] == [("visit", "v1")]
    review.approve(supervisor, "C-1", "visit", "v1")
    assert review.review_queue(supervisor, ONTARIO, date(2026, 11, 26)) == []
    decided = review.latest_decision(supervisor, "C-1", "visit", "v1")
    assert decided is not None and decided.decision == "approved" and not decided.stale
    supervisor.record(
        "C-1",
        "addendum",
        "a1",
        {"visit": "v1", "text": "Leo also said…", "date": "2026-11-22", "author": "jsmith"},
    )
    stale = review.latest_decision(supervisor, "C-1", "visit", "v1")
    assert stale is not None and stale.stale
    (item,) = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    assert item.stale and item.last == "approved"


def test_return_then_addendum_then_approve(supervisor: Store) -> None:
    signed_visit(supervisor)
    with pytest.raises(Exception, match="needs a comment"):
        review.return_for_changes(supervisor, "C-1", "v1", "  ")
    review.return_for_changes(supervisor, "C-1", "v1", "Where was Leo interviewed?")
    (item,) = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    assert item.last == "returned"
    supervisor.record(
        "C-1",
        "addendum",
        "a1",
        {
            "visit": "v1",
            "text": "In his bedroom, door shut",
            "date": "2026-11-23",
            "author": "jsmith",
        },
    )
    review.approve(supervisor, "C-1", "visit", "v1")
    assert review.review_queue(supervisor, ONTARIO, date(2026, 11, 26)) == []


def test_only_the_latest_decision_counts_and_an_addendum_answers_a_return(
    supervisor: Store,
) -> None:
    """Returned → the worker's addendum → approved: the return stops asking for an addendum
    as soon as one is written after it, and is gone once the visit is approved."""
    from fieldkit.services import visits

    signed_visit(supervisor)
    review.return_for_changes(supervisor, "C-1", "v1", "Where was Leo interviewed?")
    state = review.visit_review(supervisor, "C-1", "v1")
    assert state.awaiting_addendum
    assert state.words() == "returned by jsmith, awaiting the worker's addendum"
    (item,) = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    assert item.state_words == "returned by jsmith, awaiting the worker's addendum"
    assert review.visit_reviews(supervisor, "C-1")["v1"].awaiting_addendum

    visits.add_addendum(supervisor, "C-1", "v1", "In his bedroom", "jsmith", date(2026, 11, 23))
    state = review.visit_review(supervisor, "C-1", "v1")
    assert not state.awaiting_addendum and state.addenda_since == 1
    (item,) = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    assert item.state_words == "returned by jsmith, addendum received: awaiting review"
    assert "stale" not in item.state_words

    review.approve(supervisor, "C-1", "visit", "v1")
    assert review.visit_review(supervisor, "C-1", "v1").words() == "approved by jsmith"
    assert not review.visit_reviews(supervisor, "C-1")["v1"].awaiting_addendum


def test_an_addendum_is_refused_on_a_visit_that_was_never_signed(supervisor: Store) -> None:
    from fieldkit.errors import FieldkitError
    from fieldkit.services import visits

    supervisor.record("C-1", "visit", "v0", {"date": "2026-10-01", "kind": "home"})
    with pytest.raises(FieldkitError, match="corrects a signed visit"):
        visits.add_addendum(supervisor, "C-1", "v0", "a correction", "jsmith", date(2026, 11, 2))
    assert supervisor.entities("C-1", "addendum") == []


def test_pending_alternative_plan_tops_the_queue_with_its_sa2_deadline(supervisor: Store) -> None:
    signed_visit(supervisor)
    supervisor.record(
        "C-1",
        "safety_plan",
        "alt-1",
        {
            "kind": "alternative",
            "approval": "phone-approved",
            "created": "2026-11-27",
            "phone_approval_by": "akhan",
            "phone_approval_at": "2026-11-27 16:05",
            "interventions": [{"threat": "t1", "text": "Aunt stays nights"}],
        },
    )
    queue = review.review_queue(supervisor, ONTARIO, date(2026, 11, 27))
    assert [i.target for i in queue] == ["safety_plan", "visit"]
    # Friday 2026-11-27: documented by the next working day, Monday 2026-11-30.
    assert queue[0].deadline == date(2026, 11, 30)
    assert "phone approval by akhan" in queue[0].title
    review.decide(supervisor, "C-1", "safety_plan", "alt-1", "confirmed")
    plan = supervisor.entity("C-1", "safety_plan", "alt-1")
    assert plan is not None and plan.fields["approval"] == "approved"
    assert [i.target for i in review.review_queue(supervisor, ONTARIO, date(2026, 11, 27))] == [
        "visit"
    ]


def test_queue_flags_what_the_rules_engine_finds(supervisor: Store) -> None:
    fields = {
        "date": "2026-11-10",
        "announced": True,
        "kind": "home",
        "seen": ["p2"],
        "private_interview": [],
        "observed": [],
        "signed_at": "2026-11-17T10:00:00+00:00",
        "notes": "short visit",
    }
    supervisor.record("C-1", "visit", "v2", fields)
    supervisor.record("C-1", "visit", "v2", action="sign", extra={"content_hash": "x"})
    (item,) = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    text = " | ".join(item.flags)
    assert "Maya Ortiz NAME1 not seen" in text
    assert "VI-2" in text  # Leo, a verbal child victim, not interviewed privately
    assert "VI-4" in text  # unannounced visits are required on this case
    # Tuesday 2026-11-10 + 2 working days = Thursday 2026-11-12; signed 2026-11-17.
    assert "documented late: signed 2026-11-17, due by 2026-11-12" in text


def test_supervision_moves_the_rv1_due_date(supervisor: Store) -> None:
    review.record_supervision(supervisor, "C-1", date(2026, 11, 20), "Keep weekly visits", True)
    case = services.load_case(supervisor, "C-1")
    (rv1,) = [i for i in due_items(case, ONTARIO, date(2026, 11, 26)) if i.rule == "RV-1"]
    # 2026-11-20 + 6 weeks = 2027-01-01.
    assert rv1.due == date(2027, 1, 1)


def _foreign_op(store: Store, base_op: str, value: object) -> Op:
    """A concurrent edit from another device (as sync would deliver it)."""
    key_id, sealer = store.case_sealer("C-1")
    op_id = changelog.uuid7()
    body = json.dumps({"set": {"placement": value}, "base": {"placement": [base_op]}}).encode()
    return Op(
        op_id,
        "device-2",
        1,
        "9999999999999.000000",
        "mlee",
        "C-1",
        "person",
        "p2",
        "put",
        key_id,
        sealer.seal(body, aad_for("ops", "body", op_id)),
        changelog.GENESIS,
    ).with_hash()


def test_a_safety_critical_conflict_waits_for_a_person(supervisor: Store) -> None:
    person = supervisor.entity("C-1", "person", "p2")
    assert person is not None
    base = changelog.head_ops(person.state, "placement")[0]
    supervisor.record("C-1", "person", "p2", {"placement": {"setting": "foster"}})
    assert supervisor.ingest(_foreign_op(supervisor, base, {"setting": "home"}))
    (conflict,) = review.open_conflicts(supervisor)
    assert conflict.critical and conflict.field == "placement"
    assert services.load_case(supervisor, "C-1").needs_resolution == 1
    review.resolve_conflict(
        supervisor, "C-1", "person", "p2", "placement", {"setting": "foster", "since": "2026-11-25"}
    )
    assert review.open_conflicts(supervisor) == []
    with pytest.raises(Exception, match="no open conflict"):
        review.resolve_conflict(supervisor, "C-1", "person", "p2", "placement", None)


def test_pdf_export_reads_back_the_visit(supervisor: Store, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from fieldkit.pdf import visit_pdf

    signed_visit(supervisor)
    review.approve(supervisor, "C-1", "visit", "v1", "Good interview notes")
    out = tmp_path / "visit.pdf"
    visit_pdf(supervisor, "v1", out)
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    for expected in (
        "C-1",
        "2026-11-20",
        "Leo said grandma stays",
        "approved by jsmith",
        "Good interview notes",
        "Unannounced",
    ):
        assert expected in text


def test_supervisor_commands_from_the_shell(tmp_path: Path) -> None:
    from tests.conftest import PASSPHRASE, run_cli, write_json

    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    assert run_cli("init", "--user", "akhan", "--role", "supervisor", env=env).returncode == 0
    src = write_json(tmp_path / "c.json", transfer_doc(sample_case("C-1")))
    assert run_cli("case", "import", str(src), env=env).returncode == 0
    s = Store.open(tmp_path / "home" / "default.fieldkit", PASSPHRASE)
    signed_visit(s)
    s.close()
    queue = json.loads(run_cli("review", "--as-of", "2026-11-26", "--json", env=env).stdout)
    assert [(q["case"], q["id"]) for q in queue] == [("C-1", "v1")]
    refused = run_cli("return", "C-1", "v1", env=env)
    assert refused.returncode == 1 and "needs a comment" in refused.stderr
    assert (
        run_cli(
            "return", "C-1", "v1", "--comment", "-", env=env, input="Who else was home?"
        ).returncode
        == 0
    )
    addendum = "--text", "-"
    assert run_cli("addendum", "C-1", "v1", *addendum, env=env, input="Nan").returncode == 0
    table = run_cli("review", "--as-of", "2026-11-26", env={**env, "COLUMNS": "200"})
    words = " ".join(table.stdout.split())
    assert "(returned by akhan, addendum received: awaiting review)" in words, table.stdout
    assert "stale" not in table.stdout
    assert run_cli("approve", "C-1", "visit", "v1", env=env).returncode == 0
    assert json.loads(run_cli("review", "--json", env=env).stdout) == []
    pdf = tmp_path / "v1.pdf"
    result = run_cli("export", "visit", "v1", "--pdf", str(pdf), env=env)
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    assert json.loads(run_cli("conflicts", "--json", env=env).stdout) == []
    missing = run_cli("export", "visit", "nope", "--pdf", str(pdf), env=env)
    assert missing.returncode == 1 and "no visit nope" in missing.stderr


def test_an_edit_that_reaches_a_signed_visit_is_shown(supervisor: Store) -> None:
    signed_visit(supervisor)
    visit = supervisor.entity("C-1", "visit", "v1")
    assert visit is not None and visit.signed and not visit.altered_after_signing
    base = changelog.head_ops(visit.state, "notes")
    key_id, sealer = supervisor.case_sealer("C-1")
    op_id = changelog.uuid7()
    body = json.dumps({"set": {"notes": "edited elsewhere"}, "base": {"notes": base}}).encode()
    foreign = Op(
        op_id,
        "device-2",
        1,
        "9999999999999.000000",
        "mlee",
        "C-1",
        "visit",
        "v1",
        "put",
        key_id,
        sealer.seal(body, aad_for("ops", "body", op_id)),
        changelog.GENESIS,
    ).with_hash()
    assert supervisor.ingest(foreign)
    visit = supervisor.entity("C-1", "visit", "v1")
    assert visit is not None and visit.altered_after_signing
    (item,) = review.review_queue(supervisor, ONTARIO, date(2026, 11, 26))
    assert item.flags[0].startswith("changed on another device after it was signed")
    detail = services.case_detail(supervisor, "C-1")
    record = next(r for r in detail["records"]["visit"] if r["id"] == "v1")
    assert record["altered_after_signing"] is True


def test_a_returned_plan_waits_on_the_worker_until_a_new_plan_is_signed(
    supervisor: Store,
) -> None:
    """PL-2..6: the case view lists a returned plan until a plan signed after the return."""
    from fieldkit.services import casework
    from tests.unit.test_casework_transfer import PLAN_FORM

    today = date(2026, 11, 5)
    casework.record_assessment(supervisor, "C-1", today, "close family", "support", True)
    form = casework.PlanForm.from_form(today, PLAN_FORM)
    first = casework.record_service_plan(supervisor, "C-1", form, ONTARIO)
    assert review.returned_records(supervisor, "C-1") == []
    review.decide(supervisor, "C-1", "service_plan", first, "returned", "Add a housing goal")
    [(target, target_id, decision)] = review.returned_records(supervisor, "C-1")
    assert (target, target_id, decision.comment) == ("service_plan", first, "Add a housing goal")
    casework.record_service_plan(supervisor, "C-1", form, ONTARIO)
    assert review.returned_records(supervisor, "C-1") == []
