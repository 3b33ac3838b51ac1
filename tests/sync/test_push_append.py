"""The push's server side: authentication and the push in one worker-thread call, a big
batch stored by a binary COPY exactly as the device signed it, and the device's lock
before the batch's look-up."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from fieldkit.sync.client import SyncClient
from fieldkit.sync.db import open_database
from fieldkit.sync.protocol import (
    PushResponse,
    auth_header,
    new_nonce,
    now_ms,
    request_message,
)
from fieldkit.sync.server import append as append_module
from fieldkit.sync.server import routing
from fieldkit.sync.server.append import Head, append
from fieldkit.sync.server.common import COPY_FROM, Caller, Refused
from fieldkit.sync.server.service import SyncServer
from sqlalchemy import Engine

from fieldkit.changelog import GENESIS, OP_COLUMNS, Op, signed_op
from fieldkit.crypto import Ed25519PrivateKey
from tests.sync.conftest import Agency, server_op_ids, synced_team
from tests.waiting import until


def _signed_post(worker: Any, url: str, signed_path: str, body: bytes) -> httpx.Response:
    ts, nonce = now_ms(), new_nonce()
    sig = worker.device_sign_key.sign(request_message("POST", signed_path, ts, nonce, body))
    headers = {
        "content-type": "application/json",
        "authorization": auth_header(worker.device_id, ts, nonce, sig),
    }
    return httpx.post(url, content=body, headers=headers)


def test_a_push_authenticates_and_stores_in_one_worker_thread_call(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/v1/push` hands its blocking work (authentication, then the push) to the thread
    pool once per request, and what it answers and stores is unchanged."""
    sup, worker = synced_team(agency)
    for n in range(5):
        worker.record("C-1", "visit", f"v{n}", {"notes": f"note {n}"})
    ops = worker.ops("local")
    calls: list[str] = []
    real = routing.run_in_threadpool

    async def counting(fn: Any, *args: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args)

    monkeypatch.setattr(routing, "run_in_threadpool", counting)
    with SyncClient(worker) as client:
        client.hello()
        calls.clear()
        reply = PushResponse.model_validate(
            client.post("/v1/push", {"ops": [op.to_wire() for op in ops]})
        )
    assert calls == ["_authed_push"]
    assert [r.status for r in reply.results] == ["accepted"] * len(ops)
    assert {op.op_id for op in ops} <= set(server_op_ids(agency.engine))
    assert sup is not None


def test_a_push_signed_for_another_path_or_unsigned_is_refused_and_stores_nothing(
    agency: Agency,
) -> None:
    """The push route reads the signature itself: the path and query it covers, an
    unsigned request and a foreign key are refused before anything is parsed or stored."""
    _sup, worker = synced_team(agency)
    worker.record("C-1", "visit", "v1", {"notes": "one"})
    ops = worker.ops("local")
    body = json.dumps({"ops": [op.to_wire() for op in ops]}).encode()
    before = set(server_op_ids(agency.engine))
    url = agency.url + "/v1/push"
    # Signed for the bare path, sent with a query: the signature covers path and query.
    elsewhere = _signed_post(worker, url + "?again=1", "/v1/push", body)
    assert elsewhere.status_code == 401
    assert "does not verify" in elsewhere.json()["detail"]
    unsigned = httpx.post(url, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    ts, nonce = now_ms(), new_nonce()
    forged = Ed25519PrivateKey.generate().sign(request_message("POST", "/v1/push", ts, nonce, body))
    foreign = httpx.post(
        url,
        content=body,
        headers={"authorization": auth_header(worker.device_id, ts, nonce, forged)},
    )
    assert foreign.status_code == 401
    assert set(server_op_ids(agency.engine)) == before
    # The genuine request, with its query signed too, is stored.
    genuine = _signed_post(worker, url + "?again=1", "/v1/push?again=1", body)
    assert genuine.status_code == 200, genuine.text
    assert {op.op_id for op in ops} <= set(server_op_ids(agency.engine))


def _ops(count: int, sign_key: Ed25519PrivateKey) -> list[Op]:
    """A device's chain whose fields hold what text COPY would have escaped: non-ASCII,
    tabs, backslashes, and bodies with every byte value."""
    device = f"dev-{uuid.uuid4().hex}"
    out: list[Op] = []
    prev = GENESIS
    for n in range(count):
        body = bytes((n + k) % 256 for k in range(300))
        op = signed_op(
            str(uuid.uuid4()),
            device,
            n + 1,
            f"{n:016d}-0000-{device}",
            "jsmith",
            "C-1",
            "visit",
            f"v{n}\tÅsa\\ñ\n",
            "upsert",
            "k1",
            body,
            prev,
            sign_key,
        )
        out.append(op)
        prev = op.hash
    return out


def _stored(engine: Engine, device_id: str) -> list[tuple[Any, ...]]:
    columns = ", ".join((*OP_COLUMNS, "received_ms"))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {columns} FROM ops WHERE device_id = %(d)s ORDER BY cursor", {"d": device_id}
        ).all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


@pytest.mark.postgres
def test_a_big_batch_is_copied_in_binary_exactly_as_signed(pg_url: str) -> None:
    """Two COPY batches on one pooled connection (the column types read with the first,
    reused by the second): every field of every op reads back as the device signed it,
    in cursor order, and each op still hashes to its stored hash."""
    engine = open_database(pg_url)
    try:
        ops = _ops(2 * COPY_FROM + 10, Ed25519PrivateKey.generate())
        half = len(ops) // 2
        now = now_ms()
        with engine.connect() as conn:
            assert append_module._TYPES_KEY not in conn.connection.info
            with conn.begin():
                append(conn, True, ops[:half], now, None)
            types = conn.connection.info[append_module._TYPES_KEY]
            assert len(types) == len(OP_COLUMNS) + 1
            with conn.begin():
                append(conn, True, ops[half:], now + 1, None)
            assert conn.connection.info[append_module._TYPES_KEY] is types
        stored = _stored(engine, ops[0].device_id)
        assert stored == [(*op.row(), now if n < half else now + 1) for n, op in enumerate(ops)]
        assert all(Op(*row[:-1]).compute_hash() == row[12] for row in stored)
    finally:
        engine.dispose()


def _waiting_for_a_row_lock(engine: Engine) -> int:
    with engine.connect() as conn:  # its own transaction: pg_stat_activity as of now
        waiting: int = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE %s",
            ("%FOR UPDATE%",),
        ).scalar_one()
    return waiting


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", [pytest.param("postgres")], indirect=True)
def test_a_push_waiting_for_its_device_lock_sees_the_ops_stored_before_it(
    agency: Agency,
) -> None:
    """A push of a device whose row another push holds: its look-up of the batch runs
    after the lock is granted, with its own snapshot, so the ops the other push stored
    are duplicates, not a fork at seqs the device already used."""
    _sup, worker = synced_team(agency)
    with worker.transaction():
        for n in range(COPY_FROM + 20):
            worker.record("C-1", "visit", f"v{n % 5}", {"notes": f"note {n}"})
    ops = worker.ops("local")
    service = SyncServer(agency.engine)
    caller = Caller(
        worker.device_id,
        worker.user,
        "worker",
        worker.device_sign_key.public_key().public_bytes_raw(),
    )
    answer: list[PushResponse] = []
    with agency.engine.connect() as holder:
        holder.begin()
        head = holder.exec_driver_sql(
            "SELECT last_seq FROM devices WHERE device_id = %s FOR UPDATE", (worker.device_id,)
        ).scalar()
        waiting = threading.Thread(target=lambda: answer.append(service.push(caller, ops)))
        waiting.start()
        until(
            lambda: _waiting_for_a_row_lock(agency.engine),
            "the second push to wait for the device's row",
            within=30,
        )
        # The first push stores the batch and moves the head, then commits.
        append(holder, True, ops, now_ms(), Head(worker.device_id, ops[-1].seq, ops[-1].hash))
        holder.commit()
    waiting.join(timeout=60)
    assert head == 0
    assert [r.status for r in answer[0].results] == ["duplicate"] * len(ops)
    stored = server_op_ids(agency.engine)
    assert all(stored.count(op.op_id) == 1 for op in ops)


def test_a_database_lost_under_a_raw_psycopg_pipeline_is_a_503() -> None:
    """The push pipelines and copies on psycopg's own connection, whose errors are not
    SQLAlchemy's: a lost database there is still "try again later", not a 500."""

    def lost() -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    with pytest.raises(Refused) as refused:
        asyncio.run(routing.in_thread(lost))
    assert refused.value.status_code == 503
