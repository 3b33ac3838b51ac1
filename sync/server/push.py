"""Push: check a batch of a device's ops and store what the judge accepts, with a signed
receipt for the chain head."""

from __future__ import annotations

from fieldkit.sync import refusals
from fieldkit.sync.models import (
    CASE_TEAM,
    DEVICES,
    OPS,
    REJECTED_OPS,
)
from fieldkit.sync.protocol import (
    PushResponse,
    Receipt,
    now_ms,
    receipt_message,
)
from fieldkit.sync.server.append import _row, append
from fieldkit.sync.server.common import (
    REVIEW_ENTITIES,
    Caller,
    _lookup,
)
from fieldkit.sync.server.judge import Facts, judge
from fieldkit.sync.server.teams import TeamServer
from fieldkit.sync.verify import bad_signatures
from sqlalchemy import insert, select, update

from fieldkit.changelog import Op
from fieldkit.crypto import b64


class PushServer(TeamServer):
    """Receiving ops."""

    def push(self, caller: Caller, wire_ops: list[Op]) -> PushResponse:
        """Check and store a batch; a per-op result, and a signed receipt for the chain head."""
        ops = sorted(wire_ops, key=lambda o: (o.seq, o.op_id))
        # The CPU-heavy checks happen before the write lock is taken.
        content_problem: dict[str, str] = {}
        content_cause: dict[str, str] = {}
        hashed: list[Op] = []
        for op in ops:
            if op.compute_hash() != op.hash:
                content_problem[op.op_id] = (
                    "its content does not match its hash: altered after it was signed"
                )
                content_cause[op.op_id] = "tampered"
            else:
                hashed.append(op)
        for n in bad_signatures(caller.sign_pub, [(op.hash, op.sig) for op in hashed]):
            content_problem[hashed[n].op_id] = (
                "its signature does not verify with its device's key: forged"
            )
            content_cause[hashed[n].op_id] = "forged"
        now = now_ms()
        with self.engine.begin() as conn:
            device = conn.execute(
                select(DEVICES).where(DEVICES.c.device_id == caller.device_id).with_for_update()
            ).one()
            ids = [op.op_id for op in ops]
            stored = _lookup(conn, OPS.c.op_id, OPS.c.hash, ids)
            refused = refusals.lookup(conn, ids)
            case_ids = sorted({op.case_id for op in ops})
            on_cases = {
                r[0]
                for r in conn.execute(
                    select(CASE_TEAM.c.case_id).where(
                        CASE_TEAM.c.user == caller.user,
                        CASE_TEAM.c.case_id.in_(case_ids),
                    )
                ).all()
            }
            reviewers = self._reviewers(
                conn, caller, {op.case_id for op in ops if op.entity in REVIEW_ENTITIES}
            )
            verdict = judge(
                ops,
                caller,
                Facts(
                    last_seq=device.last_seq,
                    head=device.head_hash,
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
            accepted = [_row(op, now) for op in verdict.accepted]
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
            if (last_seq, head) != (device.last_seq, device.head_hash):
                conn.execute(
                    update(DEVICES)
                    .where(DEVICES.c.device_id == caller.device_id)
                    .values(last_seq=last_seq, head_hash=head)
                )
            if accepted:
                append(conn, self.pg, accepted)
        # The receipt carries the very stamp the accepted ops were stored with, so the
        # pushing laptop and every laptop that pulls them keep the same receipt time.
        issued = now
        receipt = Receipt(
            device_id=caller.device_id,
            seq=last_seq,
            head=head,
            issued_ms=issued,
            sig=b64(self._sign_key.sign(receipt_message(caller.device_id, last_seq, head, issued))),
        )
        return PushResponse(
            results=[verdict.results[op.op_id] for op in wire_ops],
            receipt=receipt,
            expected_seq=last_seq + 1,
        )
