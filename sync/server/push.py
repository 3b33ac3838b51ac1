"""Push: check a batch of a device's ops and store what the judge accepts, with a signed
receipt for the chain head."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from fieldkit.sync import refusals
from fieldkit.sync.db import among
from fieldkit.sync.models import (
    CASE_TEAM,
    DEVICES,
    OPS,
    REJECTED_OPS,
)
from fieldkit.sync.protocol import (
    OpResult,
    PushResponse,
    Receipt,
    now_ms,
    receipt_message,
)
from fieldkit.sync.server.append import Head, append
from fieldkit.sync.server.common import (
    REVIEW_ENTITIES,
    Caller,
)
from fieldkit.sync.server.judge import Facts, judge
from fieldkit.sync.server.teams import TeamServer
from fieldkit.sync.verify import bad_signatures
from sqlalchemy import Connection, String, insert, literal, null, select, union_all

from fieldkit.changelog import FORGED, TAMPERED, Op, check_chain
from fieldkit.crypto import b64


def _known(
    conn: Connection, user: str, ops: list[Op]
) -> tuple[dict[str, str], dict[str, refusals.Refusal], set[str]]:
    """In one round trip: the ops of the batch already stored (op id → hash), those refused
    before, and the batch's cases the user is on. Each look-up probes a unique index with
    the batch's ids as one bound value (`db.among`)."""
    ids = [op.op_id for op in ops]
    case_ids = sorted({op.case_id for op in ops})
    none = null().cast(String)
    query = union_all(
        select(literal("s"), OPS.c.op_id, OPS.c.hash, none, none).where(
            among(conn, OPS.c.op_id, ids)
        ),
        select(
            literal("r"),
            REJECTED_OPS.c.op_id,
            REJECTED_OPS.c.hash,
            REJECTED_OPS.c.reason,
            REJECTED_OPS.c.cause,
        ).where(among(conn, REJECTED_OPS.c.op_id, ids)),
        select(literal("c"), CASE_TEAM.c.case_id, none, none, none).where(
            CASE_TEAM.c.user == user, among(conn, CASE_TEAM.c.case_id, case_ids)
        ),
    )
    return _sorted_known(conn.execute(query).all() if ids else ())


def _sorted_known(
    rows: Iterable[Any],
) -> tuple[dict[str, str], dict[str, refusals.Refusal], set[str]]:
    """The rows of the "already known?" look-up (kind, key, digest, reason, cause) sorted
    out: ops stored (id → hash), ops refused before (id → refusal), cases the user is on."""
    stored: dict[str, str] = {}
    refused: dict[str, refusals.Refusal] = {}
    on_cases: set[str] = set()
    for kind, key, digest, reason, cause in rows:
        if kind == "s":
            stored[key] = digest
        elif kind == "r":
            refused[key] = refusals.Refusal(digest, reason, cause)
        else:
            on_cases.add(key)
    return stored, refused, on_cases


_ANY_ID = "= ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"
_DEVICE_FOR_UPDATE_SQL = "SELECT last_seq, head_hash FROM devices WHERE device_id = %s FOR UPDATE"
# `_known`'s statement, written once: each part probes its unique index (`db.among`).
_KNOWN_SQL = (
    f"SELECT 's', op_id, hash, NULL, NULL FROM ops WHERE op_id {_ANY_ID}"
    " UNION ALL SELECT 'r', op_id, hash, reason, cause FROM rejected_ops"
    f" WHERE op_id {_ANY_ID}"
    " UNION ALL SELECT 'c', case_id, NULL, NULL, NULL FROM case_team"
    f' WHERE "user" = %s AND case_id {_ANY_ID}'
)


def _lock_and_known_pg(
    conn: Connection, device_id: str, user: str, ops: list[Op]
) -> tuple[tuple[int, str], dict[str, str], dict[str, refusals.Refusal], set[str]]:
    """PostgreSQL: the device's row locked FOR UPDATE (its chain position), then `_known`,
    in one round trip (a pipeline).

    Two statements, not one: the look-up starts only once the lock is granted and reads
    with its own snapshot, so it sees the ops of a push of the same device that held the
    lock before (in one statement it would read the snapshot taken before the wait, and
    call those ops a fork)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    ids = json.dumps([op.op_id for op in ops])
    case_ids = json.dumps(sorted({op.case_id for op in ops}))
    with raw.cursor() as device_cur, raw.cursor() as known_cur:
        with raw.pipeline():
            device_cur.execute(_DEVICE_FOR_UPDATE_SQL, (device_id,))
            known_cur.execute(_KNOWN_SQL, (ids, ids, user, case_ids))
        device = device_cur.fetchone()
        rows = known_cur.fetchall()
    if device is None:
        raise RuntimeError(f"device {device_id} is not enrolled")
    return ((device[0], device[1]), *_sorted_known(rows))


class Stored(NamedTuple):
    """A batch as its transaction left it: each op's result, the device's chain head, and
    the time the accepted ops were stored with (the receipt's)."""

    results: dict[str, OpResult]
    last_seq: int
    head: str
    now: int


class PushServer(TeamServer):
    """Receiving ops."""

    def push(self, caller: Caller, wire_ops: list[Op]) -> PushResponse:
        """Check and store a batch; a per-op result, and a signed receipt for the chain head."""
        with self.engine.begin() as conn:
            stored = self.store_batch(conn, caller, wire_ops)
        return self.answer(caller, wire_ops, stored)

    def store_batch(self, conn: Connection, caller: Caller, wire_ops: list[Op]) -> Stored:
        """`push`'s checks and writes in `conn`'s transaction: the one that authenticated
        the request (`AuthServer.authenticated`), so its nonce and the batch commit
        together. The answer is signed once that transaction has committed (`answer`)."""
        ops = sorted(wire_ops, key=lambda o: (o.seq, o.op_id))
        # The CPU-heavy checks happen before the write lock is taken: every hash and link
        # of the batch, and the signature of the newest op of each linked run, whose
        # hash covers every earlier op of the run (`changelog.check_chain`). The link of
        # the batch's first op to the head the server holds is the judge's.
        content_problem: dict[str, str] = {}
        content_cause: dict[str, str] = {}
        own = [op for op in ops if op.device_id == caller.device_id]
        for problem in check_chain(
            own,
            caller.sign_pub,
            head=None,
            next_seq=None,
            gaps=True,
            check_signatures=bad_signatures,
        ):
            if problem.cause in (TAMPERED, FORGED):
                content_problem[problem.op.op_id] = problem.message
                content_cause[problem.op.op_id] = problem.cause
        now = now_ms()
        if self.pg:
            position, stored, refused, on_cases = _lock_and_known_pg(
                conn, caller.device_id, caller.user, ops
            )
        else:
            device = conn.execute(
                select(DEVICES.c.last_seq, DEVICES.c.head_hash)
                .where(DEVICES.c.device_id == caller.device_id)
                .with_for_update()
            ).one()
            position = (device.last_seq, device.head_hash)
            stored, refused, on_cases = _known(conn, caller.user, ops)
        reviewers = self._reviewers(
            conn, caller, {op.case_id for op in ops if op.entity in REVIEW_ENTITIES}
        )
        verdict = judge(
            ops,
            caller,
            Facts(
                last_seq=position[0],
                head=position[1],
                stored=stored,
                refused={op_id: r.reason for op_id, r in refused.items()},
                refused_before=refused,
                content_problem=content_problem,
                content_cause=content_cause,
                on_cases=on_cases,
                reviewers=reviewers,
            ),
        )
        last_seq, head = verdict.last_seq, verdict.head
        rejected = [
            {
                "op_id": op.op_id,
                "device_id": op.device_id,
                "seq": op.seq,
                "hash": op.hash,
                "reason": reason,
                "cause": verdict.causes.get(op.op_id),
                "received_ms": now,
            }
            for op, reason in verdict.rejected
        ]
        if rejected:
            conn.execute(insert(REJECTED_OPS), rejected)
        refusals.record(conn, caller.user, rejected, verdict.retried)
        moved = (last_seq, head) != position
        append(
            conn,
            self.pg,
            verdict.accepted,
            now,
            Head(caller.device_id, last_seq, head) if moved else None,
        )
        return Stored(verdict.results, last_seq, head, now)

    def answer(self, caller: Caller, wire_ops: list[Op], stored: Stored) -> PushResponse:
        """The answer to a committed batch: a result per op, and the signed receipt."""
        results, last_seq, head, issued = stored
        # The receipt carries the very stamp the accepted ops were stored with, so the
        # pushing laptop and every laptop that pulls them keep the same receipt time.
        receipt = Receipt(
            device_id=caller.device_id,
            seq=last_seq,
            head=head,
            issued_ms=issued,
            sig=b64(self._sign_key.sign(receipt_message(caller.device_id, last_seq, head, issued))),
        )
        return PushResponse(
            results=[results[op.op_id] for op in wire_ops],
            receipt=receipt,
            expected_seq=last_seq + 1,
        )
