"""The typed visit record, its checks and its signature (VI-1..VI-4, SA-2, SA-3, PL-4)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fieldkit import services
from fieldkit.domain import Case
from fieldkit.practice import load_profile
from fieldkit.practice.visit_checks import requirement_checks, visit_checks
from fieldkit.services import visits
from fieldkit.store import Store
from fieldkit.visit_record import (
    NOT_SEEN_REASONS,
    ChildObservation,
    PrivateInterview,
    VisitFormatError,
    VisitOverride,
    VisitRecord,
    new_record,
    record_from_stored,
    strict_date,
)
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc

TODAY = date(2026, 11, 26)
CASE = "C-UNIT"
PROFILES = ("ontario-std7", "us-ongoing")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The sample family: p1 non-verbal infant, p2 verbal child victim, p3 mother."""
    made = Store.create(tmp_path / "unit.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(made, transfer_doc(sample_case(CASE)))
    yield made
    with contextlib.suppress(Exception):
        made.close()


def complete(case: Case) -> VisitRecord:
    """A visit meeting every rule of the shipped profiles."""
    record = new_record(case.id, "v-test", [c.id for c in case.children], "jsmith", TODAY)
    record.kind, record.outcome, record.announced = "home", "completed", False
    record.present = ["p1", "p2", "p3"]
    infant, child = record.contact("p1"), record.contact("p2")
    infant.seen = child.seen = True
    infant.observation = ChildObservation("living room", "reaches for mother", "clean")
    child.private_interview = PrivateInterview(True, False, "bedroom", "mum is better")
    record.safety.changed = False
    record.notes, record.next_visit = "home tidy", "2026-12-10"
    return record


def ids(case: Case, record: VisitRecord, profile: str = "ontario-std7") -> set[str]:
    return {c.id for c in visit_checks(case, record, load_profile(profile), TODAY) if c.blocking}


def test_new_record_asserts_nothing(store: Store) -> None:
    """Every child starts "not recorded"; kind, outcome and announced are unanswered."""
    case = services.load_case(store, CASE)
    record = visits.record_of(visits.new_draft(case, "jsmith", TODAY))
    assert [(c.person, c.seen, c.private_interview, c.observation) for c in record.children] == [
        ("p1", None, None, None),
        ("p2", None, None, None),
    ]
    assert (record.kind, record.outcome, record.announced) == (None, None, None)
    assert record.present == [] and record.seen_ids() == set()
    fields = visits.stored_fields(case, record, load_profile("ontario-std7"))
    assert fields["seen"] == fields["private_interview"] == fields["observed"] == []


def test_json_round_trip_and_format_errors() -> None:
    """fieldkit.visit/1: what is written reads back the same; a wrong shape is one line."""
    record = VisitRecord(case="C-1", visit_id="v-1", date="2026-11-26", kind="home")
    record.contact("p2").private_interview = PrivateInterview(True, False, "room", "hi")
    record.overrides.append(VisitOverride("VI-4/-/announced", "court order"))
    assert VisitRecord.from_doc(record.to_doc()) == record
    for doc, words in (
        ({"format": "fieldkit.visit/2", "case": "C-1"}, '"format" must be'),
        ({"format": "fieldkit.visit/1"}, '"case" is missing'),
        ({"format": "fieldkit.visit/1", "case": "C-1", "announced": "yes"}, "announced"),
        ({"format": "fieldkit.visit/1", "case": "C-1", "children": []}, "children"),
    ):
        with pytest.raises(VisitFormatError, match=words):
            VisitRecord.from_doc(doc)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-03", date(2026, 11, 3)),
        ("2026-11-3", None),
        ("2026-02-30", None),
        ("26-11-2026", None),
        ("", None),
    ],
)
def test_strict_dates(text: str, day: date | None) -> None:
    """Rule VI-1: only YYYY-MM-DD is a date (2026-11-3 once loaded as today)."""
    assert strict_date(text) == day


@pytest.mark.parametrize("profile", PROFILES)
def test_complete_visit_has_no_checks(store: Store, profile: str) -> None:
    case = services.load_case(store, CASE)
    assert ids(case, complete(case), profile) == set()


@pytest.mark.parametrize("profile", PROFILES)
def test_vi4_blocks_in_both_shipped_profiles(store: Store, profile: str) -> None:
    """Rule VI-4: the case requires unannounced visits; an announced one blocks."""
    case = services.load_case(store, CASE)
    record = complete(case)
    record.announced = True
    assert ids(case, record, profile) == {"VI-4/-/announced"}


def test_dates_before_opening_or_in_future_block(store: Store) -> None:
    """Rule VI-1: the case opened 2026-09-01; today is 2026-11-26."""
    case = services.load_case(store, CASE)
    record = complete(case)
    record.date = "2026-08-31"
    assert ids(case, record) == {"VI-1/-/date-before-opened"}
    record.date = "2026-11-27"
    assert ids(case, record) == {"VI-1/-/date-future"}


def test_override_answers_only_its_check_and_never_content(store: Store) -> None:
    case = services.load_case(store, CASE)
    profile = load_profile("ontario-std7")
    record = complete(case)
    record.notes = ""
    record.contact("p2").private_interview = PrivateInterview(False, True, "kitchen", "")
    record.overrides = [
        VisitOverride("VI-2/p2/no-interview", "wrong check"),
        VisitOverride("VI-1/-/notes", "content"),
    ]
    blocking = {c.id for c in visit_checks(case, record, profile, TODAY) if c.blocking}
    assert "VI-2/p2/not-private" in blocking, "another check's override does not answer it"
    assert "override/-/stale-VI-2/p2/no-interview" in blocking
    assert "VI-1/-/notes" in blocking and "VI-1/-/not-overridable-notes" in blocking
    with pytest.raises(Exception, match="cannot be overridden"):
        notes = next(c for c in visit_checks(case, record, profile, TODAY) if c.code == "notes")
        visits.add_override(record, notes, "why", "jsmith", visits.datetime.now(visits.UTC))


def test_attempt_meets_no_rule_and_sees_no_child(store: Store) -> None:
    """Rule VI-1: an attempt records when and what was done; the VI-1 clock does not move."""
    case = services.load_case(store, CASE)
    profile = load_profile("ontario-std7")
    record = new_record(case.id, "v-attempt", ["p1", "p2"], "jsmith", TODAY)
    record.kind, record.outcome = "home", "no one home"
    assert ids(case, record) == {"VI-1/-/attempt-time", "VI-1/-/attempt-action"}
    record.attempt_time, record.attempt_action = "10:15", "card left at the door"
    assert ids(case, record) == set()
    visits.sign_visit(store, case, record, profile, TODAY)
    stored = store.entity(CASE, "visit", "v-attempt")
    assert stored is not None and stored.fields["seen"] == []
    reread = services.load_case(store, CASE)
    assert all(v.outcome == "completed" for v in reread.visits if v.id != "v-attempt")
    assert next(v for v in reread.visits if v.id == "v-attempt").outcome == "no one home"


def test_stored_visit_reads_back_as_the_signed_record(store: Store) -> None:
    case = services.load_case(store, CASE)
    profile = load_profile("ontario-std7")
    record = complete(case)
    visits.sign_visit(store, case, record, profile, TODAY)
    stored = store.entity(CASE, "visit", "v-test")
    assert stored is not None and stored.signed
    assert record_from_stored(CASE, "v-test", stored.fields) == record
    assert stored.fields["private_interview"] == ["p2"] and stored.fields["observed"] == ["p1"]
    assert store.drafts() == []


# --- property: the signed record never says more than was answered --------------------

yes_no = st.sampled_from([None, True, False])
texts = st.sampled_from(["", "kitchen", "warm"])


def mostly(good: object, *others: object) -> st.SearchStrategy[object]:
    """The answer a careful worker gives, most of the time; else any other."""
    return st.sampled_from([good] * (4 * len(others) + 4) + list(others))


@st.composite
def answers(draw: st.DrawFn) -> VisitRecord:
    """Any combination of the wizard's answers (completed visits and attempts)."""
    record = VisitRecord(case=CASE, date="2026-11-25", author="jsmith")
    record.kind = draw(mostly("home", None, "placement", "school", "phone", "video"))
    record.outcome = draw(mostly("completed", None, "no one home", "refused entry"))
    record.attempt_time, record.attempt_action = draw(st.sampled_from([("", ""), ("9:00", "x")]))
    record.announced = draw(mostly(False, None, True))
    record.present = [p for p in ("p1", "p2", "p3") if draw(mostly(True, False))]
    for pid in ("p1", "p2"):
        contact = record.contact(pid)
        contact.seen = draw(mostly(True, None, False))
        contact.not_seen_reason = draw(st.sampled_from(["", *NOT_SEEN_REASONS]))
        contact.not_seen_detail = draw(texts)
        if draw(mostly(pid == "p2", pid != "p2")):
            contact.private_interview = PrivateInterview(
                draw(mostly(True, None, False)),
                draw(mostly(False, None, True)),
                draw(mostly("room", "")),
                draw(texts),
            )
        if draw(mostly(pid == "p1", pid != "p1")):
            contact.observation = ChildObservation(
                draw(texts), draw(mostly("warm", "")), draw(mostly("well", ""))
            )
    record.safety.changed = draw(mostly(False, None, True))
    record.notes = draw(mostly("notes", ""))
    record.next_visit = draw(mostly("2026-12-10", ""))
    return record


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(record=answers(), data=st.data())
def test_signed_record_never_says_more_than_answered(
    store: Store, record: VisitRecord, data: st.DataObject
) -> None:
    """Rules VI-2, VI-3: seen / interviewed / observed ⊆ what the worker answered; every
    unmet gate of a signed visit has exactly one override naming it."""
    case = services.load_case(store, CASE)
    profile = load_profile("ontario-std7")
    record.visit_id = f"v-{visits.changelog.uuid7()}"
    unmet = requirement_checks(case, record, profile, TODAY)
    candidates = sorted({c.id for c in unmet} | {"VI-2/p2/bogus"})
    chosen = [c.id for c in unmet if c.gate and data.draw(mostly(True, False))]
    chosen += data.draw(st.lists(st.sampled_from(candidates), max_size=2))
    for check_id in chosen:
        record.overrides.append(VisitOverride(check_id, str(data.draw(mostly("r", "")))))
    checks = visit_checks(case, record, profile, TODAY)
    if any(c.blocking for c in checks):
        event("refused")
        with pytest.raises(visits.VisitNotReady):
            visits.sign_visit(store, case, record, profile, TODAY)
        assert store.entity(CASE, "visit", record.visit_id) is None
        return
    visits.sign_visit(store, case, record, profile, TODAY)
    stored = store.entity(CASE, "visit", record.visit_id)
    assert stored is not None
    event(f"signed with {len(record.overrides)} override(s)")
    f = stored.fields
    said_seen = {c.person for c in record.children if c.seen is True}
    said_private = {
        c.person
        for c in record.children
        if c.private_interview is not None
        and c.private_interview.alone is True
        and c.private_interview.could_be_overheard is False
    }
    said_observed = {c.person for c in record.children if c.observation is not None}
    assert set(f["seen"]) <= said_seen & set(record.present)
    assert set(f["private_interview"]) <= said_private & set(f["seen"])
    assert set(f["observed"]) <= said_observed & set(f["seen"])
    named = [o["check"] for o in f["overrides"]]
    gates = [c.id for c in unmet if c.gate]
    for gate in gates:
        assert named.count(gate) == 1, (gate, named)
    assert sorted(named) == sorted(gates), "no override names anything but an unmet gate"
