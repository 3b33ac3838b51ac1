"""Refused ops on the server: why, whether the cause can go away, and their second chance.

A refused op keeps its place in its device's chain (the ops behind it are not blocked)
and is kept by position, hash and reason, never its body. When the cause can go away
(`protocol.RETRYABLE`: the author was not yet on the case, or not yet its supervisor),
the laptop sends the same op again once it has; the server accepts it at its original
place if it is the very op it refused (same hash, still signed by the device) and its
author may now write it. A tampered or forged op stays refused for good.
Every refusal and every late acceptance is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert

from fieldkit.changelog import Op

from .models import AUDIT_LOG, REJECTED_OPS
from .protocol import RETRYABLE, OpResult, now_ms


@dataclass(frozen=True)
class Refusal:
    """What the server holds of an op it refused."""

    hash: str
    reason: str
    cause: str | None


def refused(op: Op, reason: str, cause: str | None) -> OpResult:
    """The answer refusing an op, saying whether its cause can go away (`RETRYABLE`)."""
    return OpResult(
        op_id=op.op_id,
        status="rejected",
        reason=reason,
        cause=cause,  # type: ignore[arg-type]
        retryable=cause in RETRYABLE,
    )


def retry(
    op: Op,
    before: Refusal,
    content: tuple[str, str] | None,
    placement: tuple[str | None, str | None],
) -> OpResult:
    """The answer to an op sent again after a refusal: accepted only if it is the same op,
    its content still checks, and the cause of its refusal has gone."""

    if before.cause not in RETRYABLE:
        return refused(op, before.reason, before.cause)
    if op.hash != before.hash:
        return refused(
            op, "an op with this id but different content was refused before", "id_reused"
        )
    if content is not None:
        return refused(op, *content)
    reason, cause = placement
    if reason is not None:
        return refused(op, reason, cause)
    return OpResult(op_id=op.op_id, status="accepted")


def record(conn: Connection, user: str, rejected: list[dict[str, Any]], retried: list[str]) -> None:
    """Audit the ops refused in one push, and forget the refusals of ops now accepted."""
    now = now_ms()
    rows = [
        {
            "at_ms": now,
            "actor": user,
            "action": "quarantine",
            "detail": f"op {r['op_id']} (device {r['device_id']}, seq {r['seq']}): {r['reason']}",
        }
        for r in rejected
    ]
    rows += [
        {
            "at_ms": now,
            "actor": user,
            "action": "accepted after refusal",
            "detail": f"op {op_id}",
        }
        for op_id in retried
    ]
    if rows:
        conn.execute(insert(AUDIT_LOG), rows)
    for start in range(0, len(retried), 900):
        chunk = retried[start : start + 900]
        conn.execute(delete(REJECTED_OPS).where(REJECTED_OPS.c.op_id.in_(chunk)))
