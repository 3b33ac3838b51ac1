"""The dashboard's sealed rows: one BLOB, read again only for the cases that changed."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldkit import services
from fieldkit.crypto import CryptoError
from fieldkit.demo import demo_document
from fieldkit.services import caseload
from fieldkit.store import Store
from fieldkit.store.schema import LATEST_HLC
from tests.conftest import FAST_ARGON, PASSPHRASE

TODAY = date(2026, 11, 26)


@pytest.fixture
def seeded(tmp_path: Path) -> Store:
    store = Store.create(tmp_path / "c.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, demo_document(30, 7, TODAY))
    store._conn.execute("DELETE FROM sealed_cache")  # the rows the import sealed
    return store


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every slice of cases the caseload decrypts, in order."""
    seen: list[list[str]] = []
    real = caseload.cases_of

    def counting(store: Store, case_ids: Any) -> Any:
        seen.append(list(case_ids))
        return real(store, case_ids)

    monkeypatch.setattr(caseload, "cases_of", counting)
    return seen


def _whole(store: Store, as_of: date = TODAY) -> list[caseload.DashboardRow]:
    """The rows as the dashboard computed them before: every case in memory at once."""
    return caseload.dashboard_rows(services.load_cases(store), caseload.policy_of(store), as_of)


def test_rows_read_in_slices_equal_the_whole_caseload_read_at_once(
    seeded: Store, reads: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caseload, "CHUNK", 7)
    loaded = caseload.load_caseload(seeded, caseload.policy_of(seeded), TODAY)
    assert loaded.rows == _whole(seeded)
    assert len(reads) == 5 and max(len(r) for r in reads) == 7  # never more than a slice
    assert sorted(c for r in reads for c in r) == seeded.case_ids()


def test_the_next_start_reads_only_the_cases_changed_since(
    seeded: Store, reads: list[list[str]]
) -> None:
    policy = caseload.policy_of(seeded)
    caseload.load_caseload(seeded, policy, TODAY)
    reads.clear()
    assert caseload.load_caseload(seeded, policy, TODAY).rows == _whole(seeded)
    assert reads == []  # nothing changed: not one case decrypted
    changed = seeded.case_ids()[3]
    seeded.record(changed, "visit", "v-today", {"date": TODAY.isoformat(), "kind": "home"})
    fresher = caseload.load_caseload(seeded, policy, TODAY)
    assert reads == [[changed]]
    assert fresher.rows == _whole(seeded)
    assert fresher.mark == seeded.change_mark()


def test_another_day_or_another_policy_reads_every_case(
    seeded: Store, reads: list[list[str]]
) -> None:
    policy = caseload.policy_of(seeded)
    first = caseload.load_caseload(seeded, policy, TODAY)
    reads.clear()
    tomorrow = TODAY + timedelta(days=40)
    later = caseload.refresh_caseload(seeded, policy, first, tomorrow)
    assert later is not None and later.rows == _whole(seeded, tomorrow)
    assert sorted(c for r in reads for c in r) == seeded.case_ids()
    reads.clear()
    other = replace(policy, due_soon_days=policy.due_soon_days + 7)
    assert caseload.policy_key(other) != caseload.policy_key(policy)
    assert caseload.refresh_caseload(seeded, other, later, tomorrow) is not None
    assert sorted(c for r in reads for c in r) == seeded.case_ids()


def test_the_cache_is_one_sealed_blob_bound_to_its_key(seeded: Store) -> None:
    seeded.set_secret(caseload.CACHE_KEY, b"an older hex cache")  # how it was kept before
    loaded = caseload.load_caseload(seeded, caseload.policy_of(seeded), TODAY)
    assert seeded.meta(caseload.CACHE_KEY) is None  # the older form is gone
    assert caseload.read_cache(seeded) == loaded
    conn = sqlite3.connect(seeded.path)
    blob = conn.execute("SELECT value FROM sealed_cache").fetchone()[0]
    family = loaded.rows[0].family.encode()
    assert isinstance(blob, bytes) and family not in blob
    assert loaded.rows[0].case_id.encode() not in blob
    # Moved under another key, it does not open.
    conn.execute("UPDATE sealed_cache SET key='other'")
    conn.commit()
    conn.close()
    with pytest.raises(CryptoError):
        seeded.sealed_blob("other")
    assert caseload.read_cache(seeded) is None


def test_a_profile_from_before_gains_the_cache_table_and_the_clock_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.fieldkit"
    Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON).close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE sealed_cache;")
    conn.close()
    store = Store.open(path, PASSPHRASE)
    names = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master")}
    assert {"sealed_cache", "ops_sync_hlc"} <= names
    plan = store._conn.execute(f"EXPLAIN QUERY PLAN {LATEST_HLC}").fetchall()
    assert "SCAN ops" not in str(plan) and "ops_sync_hlc" in str(plan)
    store.close()


def test_an_import_seals_the_rows_so_the_first_start_reads_no_case(
    tmp_path: Path, reads: list[list[str]]
) -> None:
    store = Store.create(tmp_path / "i.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, demo_document(12, 7, TODAY))
    policy = caseload.policy_of(store)
    today = policy.today()
    assert sorted(c for r in reads for c in r) == store.case_ids()
    reads.clear()
    first_start = caseload.load_caseload(store, policy, today)
    assert reads == []
    assert first_start.rows == _whole(store, today)
    store.close()
