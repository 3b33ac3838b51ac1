"""The whole round on SQLite and PostgreSQL: enroll, assign, push, pull, merge, keys."""

from __future__ import annotations

import pytest
from fieldkit.sync.client import SyncClient, SyncRefused, assign_case, run_sync

from fieldkit import services
from fieldkit.errors import FieldkitError
from fieldkit.store import SYNC_QUARANTINED
from tests.sync.conftest import (
    Agency,
    assigned_case,
    canonical,
    own_ids,
    server_op_ids,
    synced_team,
)


def test_supervisor_assigns_a_case_and_the_worker_receives_it(agency: Agency) -> None:
    sup, worker = assigned_case(agency)
    first = run_sync(sup)
    assert first.teams_sent == ["C-1"]
    assert first.pushed == len(own_ids(sup)) and first.waiting == 0
    assert sup.meta("last_sync")
    got = run_sync(worker)
    assert got.keys_received == 1
    assert got.pulled == first.pushed
    assert services.export_case(worker, "C-1") == services.export_case(sup, "C-1")
    # The worker records a visit; the supervisor receives it; nothing is duplicated.
    worker.record("C-1", "visit", "v9", {"date": "2026-11-03", "notes": "seen alone"})
    assert run_sync(worker).pushed == 1
    back = run_sync(sup)
    assert back.pulled == 1
    assert canonical(sup, "C-1") == canonical(worker, "C-1")
    ids = server_op_ids(agency.engine)
    assert len(ids) == len(set(ids)) == len(own_ids(sup) | own_ids(worker))
    assert worker.verify().ok and sup.verify().ok
    # A second sync moves nothing.
    again = run_sync(worker)
    assert (again.pushed, again.pulled, again.duplicates) == (0, 0, 0)


def test_case_key_is_wrapped_to_the_team_and_the_recovery_key_only(agency: Agency) -> None:
    from fieldkit.sync.protocol import envelope_context

    from fieldkit.crypto import unwrap_with_private

    sup, _worker = assigned_case(agency)
    run_sync(sup)
    with agency.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT recipient, key_id, wrapped FROM case_keys WHERE case_id='C-1'"
        ).all()
    assert {r[0] for r in rows} == {"jsmith", "akhan", "@recovery"}
    key_id, key = sup.case_key("C-1")
    recovery = [r for r in rows if r[0] == "@recovery"][0]
    opened = unwrap_with_private(
        bytes(recovery[2]), agency.recovery, envelope_context("C-1", key_id)
    )
    assert opened == key


def test_reassigning_rewraps_the_key_for_the_new_worker(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    other = agency.laptop("bwong")
    assert run_sync(other).pulled == 0
    assign_case(sup, "C-1", "bwong")
    assert run_sync(sup).keys_rotated == ["C-1"]  # jsmith left: the case gets a new key
    got = run_sync(other)
    assert got.keys_received == 2  # the key so far (earlier work) and the new one
    assert got.pulled == len(own_ids(sup))  # backfilled from the case's start
    assert services.load_case(other, "C-1").worker == "bwong"
    # The old worker is off the case: new ops no longer reach them, and theirs are refused.
    sup.record("C-1", "visit", "v2", {"date": "2026-11-04"})
    run_sync(sup)
    assert run_sync(worker).pulled == 0
    late = worker.record("C-1", "visit", "v3", {"date": "2026-11-05"})
    result = run_sync(worker)
    assert result.rejected == [
        {
            "op_id": late.op_id,
            "case_id": "C-1",
            "reason": "jsmith is not on case C-1",
            "cause": "not_on_case",
            "retryable": "yes",
        }
    ]
    assert (late.op_id, "jsmith is not on case C-1") in worker.quarantined()
    assert worker.outbox_count() == 0


def test_a_new_laptop_of_the_same_user_opens_the_case_keys(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    second = agency.laptop("jsmith")
    got = run_sync(second)
    assert got.keys_received == 1
    assert services.export_case(second, "C-1") == services.export_case(sup, "C-1")


def test_a_worker_may_not_pull_a_case_they_are_not_on(agency: Agency) -> None:
    sup, _worker = assigned_case(agency)
    run_sync(sup)
    outsider = agency.laptop("bwong")
    with SyncClient(outsider) as client, pytest.raises(SyncRefused, match="not on case C-1"):
        client.post("/v1/pull", {"cursor": 0, "case_id": "C-1"})
    assert run_sync(outsider).pulled == 0
    assert outsider.case_ids() == []
    # A worker cannot assign cases either.
    with SyncClient(outsider) as client, pytest.raises(SyncRefused, match="only a supervisor"):
        client.post("/v1/cases/C-1/team", {"worker": "bwong", "envelopes": []}, method="PUT")
    # And an op for that case, written on their own laptop, is refused and kept.
    own = outsider.record("C-1", "visit", "v1", {"date": "2026-11-01"})
    result = run_sync(outsider)
    assert [r["op_id"] for r in result.rejected] == [own.op_id]
    assert outsider.quarantined() == [(own.op_id, "bwong is not on case C-1")]
    assert [o.op_id for o in outsider.ops(SYNC_QUARANTINED)] == [own.op_id]


def test_enrollment_codes_are_one_time_and_expire(agency: Agency, tmp_path) -> None:  # noqa: ANN001
    from fieldkit.sync import admin
    from fieldkit.sync.client import enroll

    from fieldkit.store import Store
    from tests.conftest import FAST_ARGON, PASSPHRASE

    code = admin.enroll_code(agency.engine, "jsmith")
    first = Store.create(tmp_path / "a.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    enroll(first, agency.url, code.code, PASSPHRASE, argon=FAST_ARGON)
    # The same laptop repeating its enrollment (a lost answer) is fine; another is refused.
    enroll(first, agency.url, code.code, PASSPHRASE, argon=FAST_ARGON)
    second = Store.create(tmp_path / "b.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    with pytest.raises(FieldkitError, match="already used"):
        enroll(second, agency.url, code.code, PASSPHRASE, argon=FAST_ARGON)
    expired = admin.enroll_code(agency.engine, "jsmith", hours=1e-9)
    with pytest.raises(FieldkitError, match="expired"):
        enroll(second, agency.url, expired.code, PASSPHRASE, argon=FAST_ARGON)
    with pytest.raises(FieldkitError, match="not valid"):
        enroll(second, agency.url, "AAAA-BBBB-CCCC", PASSPHRASE, argon=FAST_ARGON)
    wrong_user = admin.enroll_code(agency.engine, "bwong")
    with pytest.raises(FieldkitError, match="this code is for bwong"):
        enroll(second, agency.url, wrong_user.code, PASSPHRASE, argon=FAST_ARGON)
    # A second laptop of the user enrolls, but holds no user key until a laptop of the
    # user grants it (the server keeps nothing a passphrase opens).
    third = Store.create(tmp_path / "c.fieldkit", "another passphrase", "jsmith", argon=FAST_ARGON)
    fresh = admin.enroll_code(agency.engine, "jsmith")
    assert not enroll(third, agency.url, fresh.code, "another passphrase").holds_user_key
    assert third.secret("sync_user_box_key") is None
    for s in (first, second, third):
        s.close()
