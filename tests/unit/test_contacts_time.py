"""Collateral contacts and time evidence: recorded, signed, listed, exported, flagged."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fieldkit import contacts, evidence, services
from fieldkit.errors import FieldkitError
from fieldkit.practice import load_profile
from fieldkit.services import review
from fieldkit.store import Store
from tests.conftest import (
    cli_profile,
    run_cli,
    sample_case,
    signed_visit,
    transfer_doc,
)

ONTARIO = load_profile("ontario-std7")


@pytest.fixture
def case_store(store: Store) -> Store:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    return store


def _contact(store: Store, **overrides: object) -> str:
    values: dict[str, object] = dict(
        day=date(2026, 11, 18),
        kind="call",
        who="Ms Patel, Elm School",
        role="teacher",
        notes="Leo attends daily; no marks seen.",
        children=["p2"],
        today=date(2026, 11, 26),
    )
    values.update(overrides)
    return contacts.add_contact(store, "C-1", **values)  # type: ignore[arg-type]


def test_a_contact_is_a_signed_record_in_history_and_export(case_store: Store) -> None:
    contact_id = _contact(case_store)
    ent = case_store.entity("C-1", "contact", contact_id)
    assert ent is not None and ent.signed is not None and not ent.altered_after_signing
    (found,) = contacts.contacts_of(case_store, "C-1")
    assert (found.kind, found.role, found.children) == ("call", "teacher", ("p2",))
    assert found.who == "Ms Patel, Elm School" and found.author == "jsmith"
    exported = services.export_case(case_store, "C-1")["cases"][0]
    (record,) = exported["records"]["contact"]
    assert record["notes"] == "Leo attends daily; no marks seen." and record["date"] == "2026-11-18"
    detail = services.case_detail(case_store, "C-1")
    assert detail["records"]["contact"][0]["signed"] is True
    assert case_store.verify().ok


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"children": ["p9"]}, "'p9' is not a child of case C-1"),
        ({"children": ["p3"]}, "'p3' is not a child"),
        ({"notes": "  "}, "no notes"),
        ({"who": ""}, "say who"),
        ({"kind": "telepathy"}, "contact kind 'telepathy'"),
        ({"day": date(2026, 12, 1)}, "in the future"),
    ],
)
def test_a_bad_contact_is_refused_whole(
    case_store: Store, overrides: dict[str, object], message: str
) -> None:
    before = case_store.log_mark()
    with pytest.raises(FieldkitError, match=message):
        _contact(case_store, **overrides)
    assert case_store.log_mark() == before


def test_contact_add_cli_reads_notes_from_stdin_never_argv(tmp_path: Path) -> None:
    env = cli_profile(tmp_path)
    args = ("contact", "add", "C-1", "--kind", "meeting", "--role", "doctor", "--child", "p1")
    args += ("--date", "2026-11-19", "--notes", "-")
    result = run_cli(*args, env=env, input="Who: Dr Osei, Northside Clinic\nMaya's weight is up.\n")
    assert result.returncode == 0, result.stderr
    assert "Recorded contact" in result.stdout
    exported = json.loads(run_cli("case", "export", "C-1", env=env).stdout)
    (record,) = exported["cases"][0]["records"]["contact"]
    assert (
        record["who"] == "Dr Osei, Northside Clinic" and record["notes"] == "Maya's weight is up."
    )
    assert record["children"] == ["p1"] and record["kind"] == "meeting"
    listed = run_cli("contact", "list", "C-1", env=env)
    assert "Dr Osei" in listed.stdout
    # Without a name and without a terminal: one line, non-zero, nothing written.
    bad = run_cli("contact", "add", "C-1", "--notes", "-", env=env, input="no name given\n")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "who" in bad.stderr.lower()
    again = json.loads(run_cli("case", "export", "C-1", env=env).stdout)
    assert len(again["cases"][0]["records"]["contact"]) == 1


def _flags(store: Store) -> list[str]:
    (item,) = review.review_queue(store, ONTARIO, date(2026, 12, 30))
    return item.flags


def _timed_visit(store: Store, started: str, ended: str, signed: str) -> None:
    signed_visit(store, day=signed[:10], signed_at=signed)
    ent = store.entity("C-1", "visit", "v1")
    assert ent is not None
    # A visit as another device signed it, carrying its times.
    fields = dict(ent.fields, started_at=started, ended_at=ended)
    store.record("C-1", "visit", "v2", fields)
    store.sign("C-1", "visit", "v2", fields)
    store.record("C-1", "visit", "v1", action="delete")


def test_review_flags_a_visit_signed_before_it_ended(case_store: Store) -> None:
    _timed_visit(
        case_store,
        started="2026-11-20T15:00:00+00:00",
        ended="2026-11-20T16:30:00+00:00",
        signed="2026-11-20T16:00:00+00:00",
    )
    flags = _flags(case_store)
    assert any("before the visit ended at 2026-11-20 16:30 UTC" in f for f in flags), flags


def test_review_flags_a_visit_synced_later_than_the_profile_allows(case_store: Store) -> None:
    _timed_visit(
        case_store,
        started="2026-11-20T15:00:00+00:00",
        ended="2026-11-20T16:00:00+00:00",
        signed="2026-11-20T16:10:00+00:00",
    )
    assert not [f for f in _flags(case_store) if "synced" in f or "before" in f]
    sign_op = evidence.sign_op_of(case_store, "C-1", "visit", "v2")
    # 2026-11-20 16:10 + 15 days = 2026-12-05 16:10: more than ontario's 14 days.
    received = datetime(2026, 12, 5, 16, 10, tzinfo=UTC)
    case_store.record_receipts([(str(sign_op), int(received.timestamp() * 1000))])
    assert evidence.visit_received_at(case_store, "C-1", "v2") == received
    flags = _flags(case_store)
    assert any(f.startswith("synced 15 days after it was signed") for f in flags), flags
    # A resend does not move the server's first receipt time.
    case_store.record_receipts([(str(sign_op), 1)])
    assert evidence.visit_received_at(case_store, "C-1", "v2") == received


def test_receipt_within_the_threshold_is_not_flagged() -> None:
    fields = {
        "started_at": "2026-11-20T15:00:00+00:00",
        "ended_at": "2026-11-20T16:00:00+00:00",
        "signed_at": "2026-11-20T16:05:00+00:00",
    }
    on_time = datetime(2026, 12, 4, 16, 5, tzinfo=UTC)  # exactly 14 days: not late
    assert evidence.time_flags(fields, on_time, 14) == []
    assert evidence.time_flags(fields, datetime(2026, 12, 4, 16, 6, tzinfo=UTC), 14)
    assert evidence.time_flags(fields, datetime(2027, 1, 4, tzinfo=UTC), 0) == []
    lines = dict(evidence.timeline(fields, on_time))
    assert lines["Started (laptop clock)"] == "2026-11-20 15:00 UTC"
    assert lines["Received by the server"] == "2026-12-04 16:05 UTC"
    assert dict(evidence.timeline({}, None))["Received by the server"] == "not yet synced"


def test_visit_pdf_shows_times_and_contacts(case_store: Store, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from fieldkit.pdf import visit_pdf

    signed_visit(case_store, day="2026-11-20")
    _contact(case_store, day=date(2026, 11, 18))
    out = tmp_path / "visit.pdf"
    visit_pdf(case_store, "v1", out)
    text = " ".join((page.extract_text() or "") for page in PdfReader(str(out)).pages)
    assert "Signed (laptop clock): 2026-11-20 21:00 UTC" in text
    assert "Received by the server: not yet synced" in text
    assert "Ms Patel, Elm School" in text
