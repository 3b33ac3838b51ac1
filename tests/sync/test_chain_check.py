"""A push is checked at the speed of its links: every hash and link, and the signature of the
newest op of each linked run (`changelog.check_chain`). A forged op anywhere in a batch is
still refused, on SQLite and PostgreSQL, in a small batch and in a big one (a binary COPY
on PostgreSQL); and what the links prove is tested too.

Each test sends a batch of the worker's own chain straight to `/v1/push` (a client that
skips the laptop's own check) with one op changed, and reads the per-op results.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fieldkit.sync.client import SyncClient, run_sync
from fieldkit.sync.protocol import PushResponse
from fieldkit.sync.server.common import COPY_FROM

from fieldkit.changelog import Op
from fieldkit.crypto import Ed25519PrivateKey
from fieldkit.store import Store
from tests.sync.conftest import Agency, server_op_ids, synced_team

BATCH = 8
FORGER = Ed25519PrivateKey.generate()


def _batch(agency: Agency) -> tuple[Store, Store, list[Op]]:
    sup, worker = synced_team(agency)
    for n in range(BATCH):
        worker.record("C-1", "visit", f"v{n % 3}", {"notes": f"note {n}", "n": n})
    return sup, worker, worker.ops("local")


def _push(worker: Store, ops: list[Op]) -> dict[str, tuple[str, str | None]]:
    with SyncClient(worker) as client:
        client.hello()
        reply = PushResponse.model_validate(
            client.post("/v1/push", {"ops": [op.to_wire() for op in ops]})
        )
    return {r.op_id: (r.status, r.cause) for r in reply.results}


def _altered(op: Op) -> Op:
    body = bytearray(op.body)
    body[12] ^= 1
    return replace(op, body=bytes(body))


def _forged(op: Op, prev_hash: str | None = None) -> Op:
    """The op with other content, hashed afresh and signed by a key not the device's."""
    fresh = replace(_altered(op), prev_hash=prev_hash or op.prev_hash).with_hash()
    return replace(fresh, sig=FORGER.sign(fresh.hash.encode()))


def _relinked(ops: list[Op], start: int) -> list[Op]:
    """From `start` on, every op re-pointed at the one before and hashed afresh: the links
    are right again, but no op from `start` on is what the device signed."""
    out = list(ops[:start])
    for op in ops[start:]:
        out.append(replace(op, prev_hash=out[-1].hash).with_hash() if out else op)
    return out


@pytest.mark.parametrize("where", [0, BATCH // 2, BATCH - 1], ids=["first", "middle", "last"])
def test_a_forged_op_with_the_chain_relinked_after_it_is_refused_with_every_op_behind_it(
    agency: Agency, where: int
) -> None:
    """A forger who re-links the chain behind a forged op changes the newest op's hash, so
    the newest signature no longer verifies; each op is then checked on its own."""
    _, worker, ops = _batch(agency)
    sent = list(ops)
    sent[where] = _forged(ops[where])
    sent = _relinked(sent, where + 1)
    results = _push(worker, sent)
    for n, op in enumerate(sent):
        if n < where:
            assert results[op.op_id] == ("accepted", None), n
        else:
            assert results[op.op_id] == ("rejected", "forged"), n
    stored = set(server_op_ids(agency.engine))
    assert {op.op_id for op in ops[:where]} <= stored
    assert not {op.op_id for op in ops[where:]} & stored


@pytest.mark.parametrize("where", [0, BATCH // 2, BATCH - 1], ids=["first", "middle", "last"])
def test_a_forged_op_left_unlinked_is_refused_and_breaks_only_the_next_link(
    agency: Agency, where: int
) -> None:
    _, worker, ops = _batch(agency)
    sent = list(ops)
    sent[where] = _forged(ops[where])
    results = _push(worker, sent)
    assert results[ops[where].op_id] == ("rejected", "forged")
    if where + 1 < BATCH:
        # It links to the op the device wrote, not to the forgery.
        assert results[ops[where + 1].op_id] == ("rejected", "broken_link")
    rest = [op for n, op in enumerate(ops) if n not in (where, where + 1)]
    assert all(results[op.op_id] == ("accepted", None) for op in rest)


@pytest.mark.parametrize("where", [0, BATCH // 2, BATCH - 1], ids=["first", "middle", "last"])
def test_an_altered_body_is_refused_as_tampered(agency: Agency, where: int) -> None:
    _, worker, ops = _batch(agency)
    sent = list(ops)
    sent[where] = _altered(ops[where])
    results = _push(worker, sent)
    assert results[ops[where].op_id] == ("rejected", "tampered")
    others = [op for n, op in enumerate(ops) if n != where]
    assert all(results[op.op_id] == ("accepted", None) for op in others)
    assert ops[where].op_id not in set(server_op_ids(agency.engine))


def test_the_newest_op_signed_by_another_key_is_refused_and_the_rest_stand_alone(
    agency: Agency,
) -> None:
    """The newest signature fails: every op of the run is checked on its own, so only the
    op that is not the device's is refused."""
    _, worker, ops = _batch(agency)
    sent = list(ops)
    sent[-1] = replace(ops[-1], sig=FORGER.sign(ops[-1].hash.encode()))
    results = _push(worker, sent)
    assert results[ops[-1].op_id] == ("rejected", "forged")
    assert all(results[op.op_id] == ("accepted", None) for op in ops[:-1])


def test_what_the_links_prove_a_middle_op_with_a_wrong_signature_keeps_its_content(
    agency: Agency,
) -> None:
    """A middle op whose signature bytes alone are replaced, its links intact: its hash is
    covered by the next op's hash, and so on up to the newest op, whose signature the
    device made. Its content is exactly what the device signed, so it is not a forgery and
    is stored; only the device could have sent it (the request is signed). A forger
    cannot use this to change anything: any change of content breaks a link or the newest
    signature (the tests above)."""
    sup, worker, ops = _batch(agency)
    middle = BATCH // 2
    sent = list(ops)
    sent[middle] = replace(ops[middle], sig=FORGER.sign(ops[middle].hash.encode()))
    results = _push(worker, sent)
    assert all(results[op.op_id] == ("accepted", None) for op in ops)
    # The supervisor receives the whole run: its links and newest signature prove it.
    got = run_sync(sup)
    assert got.refused_from_server == []
    assert {op.op_id for op in ops} <= {op.op_id for op in sup.ops()}


@pytest.mark.parametrize("size", [BATCH, 120], ids=["pipelined", "copy"])
def test_an_op_reusing_a_stored_op_id_is_refused_and_the_rest_of_the_batch_is_stored(
    agency: Agency, size: int
) -> None:
    """The push's one look-up statement finds an op id already stored for another device
    (a batch of 120 ops is appended with COPY, a small one with the pipelined insert):
    the op is refused as `id_reused`, not a failed request, and the ops before it kept."""
    sup, worker = synced_team(agency)
    for n in range(size):
        worker.record("C-1", "visit", f"v{n % 3}", {"notes": f"note {n}", "n": n})
    ops = worker.ops("local")
    taken = next(op.op_id for op in sup.ops() if op.device_id == sup.device_id)
    reused = replace(ops[-1], op_id=taken).with_hash()
    reused = replace(reused, sig=worker.device_sign_key.sign(reused.hash.encode()))
    results = _push(worker, [*ops[:-1], reused])
    assert results[taken] == ("rejected", "id_reused")
    assert all(results[op.op_id] == ("accepted", None) for op in ops[:-1])
    stored = server_op_ids(agency.engine)
    assert len(stored) == len(set(stored))
    assert {op.op_id for op in ops[:-1]} <= set(stored)


# --- a big batch: appended by a binary COPY on PostgreSQL --------------------------------


BIG = COPY_FROM + 50


def _big_batch(agency: Agency) -> tuple[Store, list[Op]]:
    _, worker = synced_team(agency)
    with worker.transaction():
        for n in range(BIG):
            worker.record("C-1", "visit", f"v{n % 7}", {"notes": f"note {n}", "n": n})
    return worker, worker.ops("local")


@pytest.mark.parametrize("where", [0, BIG // 2, BIG - 1], ids=["first", "middle", "last"])
def test_a_forged_op_anywhere_in_a_big_batch_is_refused_and_only_the_rest_is_stored(
    agency: Agency, where: int
) -> None:
    """A batch big enough for the COPY append: the forged op and the link it breaks are
    refused and never stored; every other op is stored once, in chain order."""
    worker, ops = _big_batch(agency)
    sent = list(ops)
    sent[where] = _forged(ops[where])
    results = _push(worker, sent)
    refused = {where, where + 1} & set(range(BIG))
    assert results[ops[where].op_id] == ("rejected", "forged")
    if where + 1 < BIG:
        assert results[ops[where + 1].op_id] == ("rejected", "broken_link")
    kept = [op for n, op in enumerate(ops) if n not in refused]
    assert all(results[op.op_id] == ("accepted", None) for op in kept)
    with agency.engine.connect() as conn:
        stored = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT op_id FROM ops WHERE device_id = ? ORDER BY cursor"
                if agency.engine.dialect.name == "sqlite"
                else "SELECT op_id FROM ops WHERE device_id = %s ORDER BY cursor",
                (worker.device_id,),
            )
        ]
    assert stored == [op.op_id for op in kept]


def test_a_big_batch_whose_newest_op_another_key_signed_stores_all_but_that_op(
    agency: Agency,
) -> None:
    worker, ops = _big_batch(agency)
    sent = list(ops)
    sent[-1] = replace(ops[-1], sig=FORGER.sign(ops[-1].hash.encode()))
    results = _push(worker, sent)
    assert results[ops[-1].op_id] == ("rejected", "forged")
    assert all(results[op.op_id] == ("accepted", None) for op in ops[:-1])
    stored = set(server_op_ids(agency.engine))
    assert {op.op_id for op in ops[:-1]} <= stored
    assert ops[-1].op_id not in stored


def test_a_big_batch_pushed_twice_is_duplicates_the_second_time(agency: Agency) -> None:
    worker, ops = _big_batch(agency)
    assert set(_push(worker, ops).values()) == {("accepted", None)}
    assert set(_push(worker, ops).values()) == {("duplicate", None)}
    assert sorted(server_op_ids(agency.engine)).count(ops[0].op_id) == 1
