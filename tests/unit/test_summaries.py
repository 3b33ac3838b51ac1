"""Per-case summaries: `due` and `case list` read them, so they must say exactly what the
full rebuild of every case says, after any change, and old profiles must gain them."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from fieldkit import services
from fieldkit.crypto import WrongPassphrase
from fieldkit.demo import demo_document, plan_records
from fieldkit.practice import due_list, load_profile
from fieldkit.services.summaries import summaries
from fieldkit.store import SCHEMA_VERSION, Store
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, signed_visit, transfer_doc

TODAY = date(2026, 11, 26)


def _seeded(store: Store, cases: int = 30) -> None:
    doc = demo_document(cases, 7, TODAY)
    with store.transaction():
        services.import_cases(store, doc)
        for case_id, kind, record_id, fields in plan_records(doc, 7):
            store.record(case_id, kind, record_id, fields)


def _due_json(cases: list[object], profile: str, day: date) -> list[dict[str, object]]:
    return [i.to_json() for i in due_list(cases, load_profile(profile), day)]  # type: ignore[arg-type]


def _full(store: Store) -> list[object]:
    return list(services.load_cases(store))


def test_due_and_case_list_on_summaries_match_the_full_rebuild(store: Store) -> None:
    _seeded(store)
    assert store.case_summaries() == {}  # nothing folded yet
    for profile in ("ontario-std7", "us-ongoing"):
        for day in (date(2026, 3, 1), TODAY, date(2027, 6, 30)):
            assert _due_json(services.rules_cases(store), profile, day) == _due_json(
                _full(store), profile, day
            )
    assert len(store.case_summaries()) == 30  # kept after the first fold
    listing = services.case_listing(store)
    assert listing == sorted(
        (services.case_summary(c) for c in services.load_cases(store)), key=lambda s: s["id"]
    )


def test_a_signed_visit_changes_due_as_the_full_rebuild_does(store: Store) -> None:
    """VI-1: a visit signed after the summaries were kept moves the case's next visit."""
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    before = _due_json(services.rules_cases(store), "ontario-std7", TODAY)
    assert "C-1" in store.case_summaries()
    signed_visit(store, "v-new", day="2026-11-25", case_id="C-1")
    assert "C-1" not in store.case_summaries()  # the change dropped it in its transaction
    after = _due_json(services.rules_cases(store), "ontario-std7", TODAY)
    assert after == _due_json(_full(store), "ontario-std7", TODAY)
    assert after != before
    visit = [i for i in after if i["rule"] == "VI-1"]
    assert visit and "last home visit 2026-11-25" in str(visit[0]["reason"])


def test_an_unchanged_case_keeps_its_summary(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1"), sample_case("C-2")))
    services.rules_cases(store)
    kept = store.case_summaries()
    store.record("C-2", "visit", "v9", {"date": "2026-11-25", "kind": "home"})
    now = store.case_summaries()
    assert "C-1" in now and now["C-1"] == kept["C-1"] and "C-2" not in now


def test_summaries_are_sealed_and_bound_to_their_case(store: Store, profile_path: Path) -> None:
    marker = "ZQXSUMMARYMARK"
    services.import_cases(store, transfer_doc(sample_case("C-1", marker), sample_case("C-2")))
    services.case_listing(store)
    store.checkpoint()
    assert marker.encode() not in profile_path.read_bytes()
    # a summary moved to another case does not open there: it is folded again
    store._conn.execute("DELETE FROM summaries WHERE case_id='C-2'")
    store._conn.execute("UPDATE summaries SET case_id='C-2' WHERE case_id='C-1'")
    assert "C-2" not in store.case_summaries()
    listing = {s["id"]: s for s in services.case_listing(store)}
    assert listing["C-2"] == services.case_summary(services.load_case(store, "C-2"))
    assert marker not in str(listing["C-2"]) and marker in str(listing["C-1"])


def test_a_profile_of_the_old_schema_is_migrated(profile_path: Path) -> None:
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    # as fieldkit 1 left it: no summaries table, schema version 1 (sealed and clear)
    store._conn.execute("DROP TABLE summaries")
    store.set_meta("schema_version", "1")
    store.close()
    with sqlite3.connect(profile_path) as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='summaries'").fetchone()
    reopened = Store.open(profile_path, PASSPHRASE)
    try:
        assert reopened.meta("schema_version") == str(SCHEMA_VERSION) == "6"
        assert reopened.settings_differences() == []
        assert reopened.verify().ok
        assert [s["id"] for s in services.case_listing(reopened)] == ["C-1"]
        assert set(reopened.case_summaries()) == {"C-1"}
        assert len(summaries(reopened)) == 1
    finally:
        reopened.close()


def test_a_wrong_passphrase_does_not_migrate(profile_path: Path) -> None:
    store = Store.create(profile_path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    store._conn.execute("DROP TABLE summaries")
    store.set_meta("schema_version", "1")
    store.close()
    with pytest.raises(WrongPassphrase):
        Store.open(profile_path, "not the passphrase")
    with sqlite3.connect(profile_path) as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='summaries'").fetchone()
