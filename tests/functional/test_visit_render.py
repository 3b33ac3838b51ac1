"""Every field of a visit record reaches every reader: the review step (before signing),
the signed-record screen, the supervisor's review, the PDF and `fieldkit case export`."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldkit.screens.app import make_app
from fieldkit.screens.supervisor.record_review import RecordReviewScreen
from fieldkit.screens.visit.record import VisitRecordScreen
from fieldkit.screens.visit.review import ReviewStep
from pypdf import PdfReader

from fieldkit.pdf import visit_pdf
from fieldkit.services import caseload, review, visits
from fieldkit.store import Store
from fieldkit.visit_record import (
    ChildContact,
    ChildObservation,
    PrivateInterview,
    SafetyCheck,
    VisitOverride,
    VisitRecord,
)
from tests.functional.conftest import TODAY, settle, start_visit
from tests.functional.test_visit_honest import CASE, family_store  # noqa: F401
from tests.functional.test_visit_honest import fk_case_export as export_visits

# What each field shows as, in every reader (ids appear in the rendered names, "Maya (p1)").
EXPECTED = {
    "VisitRecord.case": CASE,
    "VisitRecord.visit_id": "v-render-a",
    "VisitRecord.date": "2026-11-25",
    "VisitRecord.kind": "placement",
    "VisitRecord.outcome": "completed",
    "VisitRecord.attempt_time": "07:45",
    "VisitRecord.attempt_action": "MKKNOCKED",
    "VisitRecord.announced": "nnounced",
    "VisitRecord.present": "p3",
    "VisitRecord.others_present": "MKOTHERS",
    "VisitRecord.location": "MKLOCATION",
    "VisitRecord.children": "p2",
    "VisitRecord.safety": "MKTHREAT",
    "VisitRecord.progress": "MKGOAL",
    "VisitRecord.notes": "MKNOTES",
    "VisitRecord.next_steps": "MKNEXTSTEPS",
    "VisitRecord.next_visit": "2026-12-09",
    "VisitRecord.overrides": "MKREASON",
    "VisitRecord.author": "jsmith",
    "VisitRecord.signed_at": "",  # empty before signing; checked on the signed readers
    "ChildContact.person": "p1",
    "ChildContact.seen": "seen",
    "ChildContact.not_seen_reason": "other",
    "ChildContact.not_seen_detail": "MKNOTSEEN",
    "ChildContact.private_interview": "MKWORDS",
    "ChildContact.observation": "MKINTERACT",
    "PrivateInterview.alone": "alone",
    "PrivateInterview.could_be_overheard": "overheard",
    "PrivateInterview.where": "MKINTWHERE",
    "PrivateInterview.words": "MKWORDS",
    "ChildObservation.where": "MKOBSWHERE",
    "ChildObservation.interaction": "MKINTERACT",
    "ChildObservation.condition": "MKCONDITION",
    "ChildObservation.environment": "MKENVIRON",
    "SafetyCheck.changed": "nged",
    "SafetyCheck.circumstances": "a move",
    "SafetyCheck.new_threats": "MKTHREAT",
    "SafetyCheck.interventions": "MKPLAN",
    "SafetyCheck.phone_approval_by": "MKSUPER",
    "SafetyCheck.phone_approval_at": "10:00",
    "VisitOverride.check": "VI-4/-/announced",
    "VisitOverride.reason": "MKREASON",
    "VisitOverride.author": "jsmith",
    "VisitOverride.at": "2026-11-25T",
    "VisitOverride.message": "requires unannounced",
}


def test_every_field_has_an_expected_rendering() -> None:
    """A field added to the record without a place in the readers fails here first."""
    fields = {
        f"{cls.__name__}.{f.name}"
        for cls in (
            VisitRecord,
            ChildContact,
            PrivateInterview,
            ChildObservation,
            SafetyCheck,
            VisitOverride,
        )
        for f in dataclasses.fields(cls)
    }
    assert fields == set(EXPECTED)


def records() -> tuple[VisitRecord, VisitRecord, VisitRecord]:
    """A: everyone seen, every text field marked. B: Leo not seen (other, in words).
    C: an attempt (no one home), its time and what was done marked."""
    a = VisitRecord(
        case=CASE,
        visit_id="v-render-a",
        date="2026-11-25",
        kind="placement",
        outcome="completed",
        announced=True,
        present=["p1", "p2", "p3"],
        others_present="MKOTHERS",
        location="MKLOCATION",
        children=[
            ChildContact(
                "p1",
                True,
                observation=ChildObservation(
                    "MKOBSWHERE", "MKINTERACT", "MKCONDITION", "MKENVIRON"
                ),
            ),
            ChildContact(
                "p2", True, private_interview=PrivateInterview(True, False, "MKINTWHERE", "MKWORDS")
            ),
        ],
        safety=SafetyCheck(True, ["a move"], ["MKTHREAT"], "MKPLAN", "MKSUPER", "2026-11-25 10:00"),
        progress={"g1": "MKGOAL", "a1": "MKACTIVITY"},
        notes="MKNOTES",
        next_steps="MKNEXTSTEPS",
        next_visit="2026-12-09",
        author="jsmith",
    )
    gate = next(
        c
        for c in visits.check_record(services_case(), a, policy(), TODAY)
        if c.id == "VI-4/-/announced"
    )
    visits.add_override(a, gate, "MKREASON", "jsmith", datetime(2026, 11, 25, 11, tzinfo=UTC))
    b = dataclasses.replace(
        a,
        visit_id="v-render-b",
        announced=False,
        overrides=[],
        safety=SafetyCheck(False),
        children=[
            a.children[0],
            ChildContact("p2", False, "other", "MKNOTSEEN"),
        ],
    )
    gate = next(
        c
        for c in visits.check_record(services_case(), b, policy(), TODAY)
        if c.id == "VI-2/p2/not-seen"
    )
    visits.add_override(b, gate, "MKREASON2", "jsmith", datetime(2026, 11, 25, 11, tzinfo=UTC))
    c = dataclasses.replace(
        a,
        visit_id="v-render-c",
        outcome="no one home",
        attempt_time="07:45",
        attempt_action="MKKNOCKED",
        present=[],
        children=[],
        safety=SafetyCheck(False),
        overrides=[],
    )
    return a, b, c


_STORE: list[Store] = []


def services_case() -> Any:
    return visits.load_case_with_plan(_STORE[0], CASE)


def policy() -> Any:
    return caseload.policy_of(_STORE[0])


def assert_all_shown(reader: str, text: str) -> None:
    missing = [
        key
        for key, shown in EXPECTED.items()
        if shown and shown not in text and not key.startswith("ChildContact.not_seen")
    ]
    assert missing == [], f"{reader} does not show {missing}"


async def test_review_record_supervisor_pdf_and_export_show_every_field(
    family_store: Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    _STORE[:] = [family_store]
    a, b, c = records()
    # the review step, before signing: a draft holding record A, resumed at the review
    draft = {"visit_id": a.visit_id, "case_id": CASE, "step": "review", "record": a.to_doc()}
    visits.save_draft(family_store, draft)
    texts: dict[str, list[str]] = {}
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(120, 60)) as pilot:
        await start_visit(pilot, CASE)
        assert isinstance(app.screen, ReviewStep)
        texts["review step"] = [str(app.screen.query_one("#summary").render())]
        assert [c.id for c in app.screen.checks if c.blocking] == []
        await pilot.press("ctrl+s", "y")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
        texts["record screen"] = [str(app.screen.query_one("#record").render())]
    visits.sign_visit(family_store, services_case(), b, policy(), TODAY)
    # the attempt, reviewed and signed as a worker does (a draft resumed at the review)
    draft = {"visit_id": c.visit_id, "case_id": CASE, "step": "review", "record": c.to_doc()}
    visits.save_draft(family_store, draft)
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(120, 60)) as pilot:
        await start_visit(pilot, CASE)
        assert isinstance(app.screen, ReviewStep)
        texts["review step"].append(str(app.screen.query_one("#summary").render()))
        assert [check.id for check in app.screen.checks if check.blocking] == []
        await pilot.press("ctrl+s", "y")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
        texts["record screen"].append(str(app.screen.query_one("#record").render()))
        app.push_screen(VisitRecordScreen(services_case(), b.visit_id))
        await settle(pilot)
        texts["record screen"].append(str(app.screen.query_one("#record").render()))
        for record in (a, b, c):
            item = review.QueueItem(CASE, "visit", record.visit_id, "", "jsmith", TODAY, "visit")
            app.push_screen(RecordReviewScreen(item))
            await settle(pilot)
            texts.setdefault("supervisor review", []).append(
                str(app.screen.query_one("#record").render())
            )
            app.pop_screen()
            await settle(pilot)
    for record in (a, b, c):
        out = tmp_path / f"{record.visit_id}.pdf"
        visit_pdf(family_store, record.visit_id, out)
        page_text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
        texts.setdefault("PDF", []).append(page_text)
    texts["export"] = [json.dumps(v) for v in export_visits(family_store)]
    stored = family_store.entity(CASE, "visit", a.visit_id)
    assert stored is not None and stored.signed
    signed_at = stored.fields["signed_at"]
    for reader, shown in texts.items():
        joined = "\n".join(shown)
        assert_all_shown(reader, joined)
        if reader != "review step":
            assert "MKNOTSEEN" in joined and "MKREASON2" in joined, reader
            assert signed_at in joined, reader
        else:
            assert "NOT SIGNED" in joined
