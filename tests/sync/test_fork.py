"""A laptop restored from a backup forks its chain: its new work is refused as a fork,
kept, and carried over by `enroll --new-device` under a new device id with a signed
carry-over record; the server accepts it and the team can prove who wrote it first."""

from __future__ import annotations

from pathlib import Path

from fieldkit.sync import admin
from fieldkit.sync.carryover import CARRYOVER, check_carryover, reenroll
from fieldkit.sync.client import run_sync
from fieldkit.sync.outcome import EXIT_OK, EXIT_REFUSED, outbox_items

from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE
from tests.sync.conftest import Agency, server_op_ids, synced_team


def _server_ops(agency: Agency, device_id: str) -> list[tuple[str, str, str]]:
    with agency.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT op_id, author, entity FROM ops WHERE device_id = %s ORDER BY seq"
            if agency.engine.dialect.name == "postgresql"
            else "SELECT op_id, author, entity FROM ops WHERE device_id = ? ORDER BY seq",
            (device_id,),
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_fork_then_reenroll_carries_the_work_over_accepted_and_attributed(
    agency: Agency, tmp_path: Path
) -> None:
    sup, worker = synced_team(agency)
    worker.record("C-1", "visit", "v1", {"notes": "before the backup"})
    run_sync(worker)
    worker.checkpoint()
    backup = tmp_path / "backup.fieldkit"
    backup.write_bytes(Path(worker.path).read_bytes())
    worker.record("C-1", "visit", "v2", {"notes": "after the backup"})
    worker.record("C-1", "visit", "v3", {"notes": "after the backup too"})
    run_sync(worker)
    old_device = worker.device_id
    worker.close()

    # The laptop is lost; the backup is restored and the worker carries on.
    restored = Store.open(backup, PASSPHRASE)
    r1 = restored.record("C-1", "visit", "r1", {"notes": "typed on the restored laptop"})
    r2 = restored.record("C-1", "contact", "c1", {"with": "school", "notes": "phoned"})
    forked = run_sync(restored)
    assert forked.exit_code == EXIT_REFUSED
    assert {r["op_id"] for r in forked.rejected} == {r1.op_id, r2.op_id}
    assert all(r["reason"].startswith("fork") for r in forked.rejected)
    assert {i.op_id for i in outbox_items(restored) if i.state == "refused"} == {
        r1.op_id,
        r2.op_id,
    }

    # Re-enroll under a new device id with a fresh code; the work is carried over.
    code = admin.enroll_code(agency.engine, "jsmith")
    old, carried = reenroll(restored, agency.url, code.code, PASSPHRASE, argon=FAST_ARGON)
    assert old == old_device and restored.device_id != old_device
    assert [c.old_op_id for c in carried] == [r1.op_id, r2.op_id]
    assert restored.quarantined() == [] and restored.outbox_count() == 3  # 2 + the record
    sent = run_sync(restored)
    assert sent.exit_code == EXIT_OK and sent.pushed == 3 and sent.rejected == []

    # Accepted, by the new device, as jsmith's; the forked originals never reached it.
    new_ops = _server_ops(agency, restored.device_id)
    assert [op_id for op_id, _, _ in new_ops[:2]] == [c.new_op_id for c in carried]
    assert {author for _, author, _ in new_ops} == {"jsmith"}
    assert new_ops[2][2] == CARRYOVER
    stored = set(server_op_ids(agency.engine))
    assert r1.op_id not in stored and r2.op_id not in stored

    # The supervisor receives the work and can prove the old laptop wrote it first.
    run_sync(sup)
    proof = check_carryover(sup, "C-1")
    assert sorted((o, n) for o, n, _ in proof) == sorted(
        (c.old_op_id, c.new_op_id) for c in carried
    )
    assert all(problem is None for _, _, problem in proof)
    visit = sup.entity("C-1", "visit", "r1")
    assert visit is not None and visit.fields["notes"] == "typed on the restored laptop"
    for entity, entity_id in (("visit", "r1"), ("contact", "c1")):
        mine, theirs = (
            restored.entity("C-1", entity, entity_id),
            sup.entity("C-1", entity, entity_id),
        )
        assert mine is not None and theirs is not None and mine.fields == theirs.fields
    # What the lost laptop synced after the backup is not lost either: the team has it.
    kept = sup.entity("C-1", "visit", "v2")
    assert kept is not None and kept.fields["notes"] == "after the backup"
    assert restored.verify().ok, restored.verify().problems
    restored.close()


def test_a_carried_op_that_says_something_else_is_caught(agency: Agency, tmp_path: Path) -> None:
    """The proof is checked, not assumed: a carry-over naming a different change fails."""
    from fieldkit.sync.carryover import carry_over

    sup, worker = synced_team(agency)
    worker.record("C-1", "visit", "v1", {"notes": "original"})
    old = worker.new_device()
    carried = carry_over(worker, old)
    assert len(carried) == 1
    # A later op by the new device changes the record; the carry-over still names the
    # op that carried the original, which says the same as the original: no problem.
    assert [p for _, _, p in check_carryover(worker, "C-1")] == [None]
    # Point the record at an op that says something else: caught.
    other = worker.record("C-1", "visit", "v1", {"notes": "something else"})
    record = next(e for e in worker.entities("C-1") if e.entity == CARRYOVER)
    pairs = record.fields["ops"]
    pairs[0]["new"] = other.op_id
    worker.record("C-1", CARRYOVER, record.entity_id, {"ops": pairs})
    assert [p for _, _, p in check_carryover(worker, "C-1")] == [
        "the op that carries it says something else"
    ]


def test_a_restored_laptop_with_unsent_ops_in_its_backup_learns_of_the_fork(
    agency: Agency, tmp_path: Path
) -> None:
    # The backup holds v1 unsent; the server then gets v1 and v2 from the laptop. The
    # restored laptop sends v1 again (a duplicate) and r1 (a fork): the signed receipt names
    # the server's head, seq of v2, which the restored laptop does not hold.
    sup, worker = synced_team(agency)
    v1 = worker.record("C-1", "visit", "v1", {"notes": "before the backup, unsent"})
    worker.checkpoint()
    backup = tmp_path / "backup.fieldkit"
    backup.write_bytes(Path(worker.path).read_bytes())
    run_sync(worker)
    worker.record("C-1", "visit", "v2", {"notes": "after the backup"})
    run_sync(worker)
    worker.close()

    restored = Store.open(backup, PASSPHRASE)
    r1 = restored.record("C-1", "visit", "r1", {"notes": "typed on the restored laptop"})
    forked = run_sync(restored)
    assert forked.exit_code == EXIT_REFUSED and forked.duplicates == 1
    assert [r["op_id"] for r in forked.rejected] == [r1.op_id]
    assert forked.rejected[0]["reason"].startswith("fork")
    assert restored.outbox_count() == 0  # v1 acknowledged as held, r1 refused and kept
    assert {i.op_id for i in outbox_items(restored) if i.state == "refused"} == {r1.op_id}
    assert v1.op_id in set(server_op_ids(agency.engine))
