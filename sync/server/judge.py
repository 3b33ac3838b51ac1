"""The judge of a push: for each op of a batch, accepted, duplicate, deferred or rejected.

Pure: it reads no database and no clock. `push` gathers what it needs (the device's chain
position, the ops already stored or refused, the cases the caller is on and those it may
review, the ops whose hash or signature failed) and writes what it decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldkit.sync.protocol import OpResult
from fieldkit.sync.refusals import Refusal, refused, retry
from fieldkit.sync.server.common import REVIEW_ENTITIES, REVIEW_REFUSAL, REVIEW_ROLES, Caller

from fieldkit.changelog import BROKEN_LINK, LINK_PROBLEM, Op


@dataclass(frozen=True)
class Facts:
    """What the server knows about a batch before it decides."""

    last_seq: int
    head: str
    stored: dict[str, str] = field(default_factory=dict)  # op_id → hash already stored
    refused: dict[str, str] = field(default_factory=dict)  # op_id → reason refused before
    content_problem: dict[str, str] = field(default_factory=dict)  # hash or signature
    on_cases: set[str] = field(default_factory=set)
    reviewers: set[str] = field(default_factory=set)  # cases whose records caller may review
    # Refused before, with hash and `protocol.Cause`: such an op sent again is accepted
    # at its original place once a cause that can go away has (sync/refusals.py).
    refused_before: dict[str, Refusal] = field(default_factory=dict)
    content_cause: dict[str, str] = field(default_factory=dict)  # "tampered" or "forged"


@dataclass
class Verdict:
    """The per-op results, the ops to store, the refusals to remember, the new chain head."""

    results: dict[str, OpResult]
    accepted: list[Op]
    rejected: list[tuple[Op, str]]
    last_seq: int
    head: str
    causes: dict[str, str | None] = field(default_factory=dict)  # of `rejected`, by op id
    retried: list[str] = field(default_factory=list)  # refused before, accepted now


def placement_problem(
    op: Op, head: str, caller: Caller, on_cases: set[str], reviewers: set[str]
) -> str | None:
    """Why an op at the next chain position may not be stored, or None."""
    return placement(op, head, caller, on_cases, reviewers)[0]


def placement(
    op: Op, head: str, caller: Caller, on_cases: set[str], reviewers: set[str]
) -> tuple[str | None, str | None]:
    """Why an op may not stand here and the `protocol.Cause`; (None, None) if it may."""
    if op.prev_hash != head:
        return LINK_PROBLEM, BROKEN_LINK
    if op.author != caller.user:
        return f"its author {op.author} is not this device's user {caller.user}", "wrong_author"
    if op.case_id not in on_cases:
        return f"{caller.user} is not on case {op.case_id}", "not_on_case"
    if op.entity in REVIEW_ENTITIES and op.case_id not in reviewers:
        who = (
            f"{caller.user} is a {caller.role}"
            if caller.role not in REVIEW_ROLES
            else f"{caller.user} does not supervise case {op.case_id}"
        )
        # A worker's review stays refused; a supervisor's passes once they supervise it.
        cause = "not_reviewer" if caller.role in REVIEW_ROLES else "wrong_role"
        return f"{REVIEW_REFUSAL} ({op.entity}): {who}", cause
    return None, None


def judge(ops: list[Op], caller: Caller, facts: Facts) -> Verdict:
    """Decide every op of a batch, in (seq, op_id) order."""
    results: dict[str, OpResult] = {}
    accepted: list[Op] = []
    rejected: list[tuple[Op, str]] = []
    causes: dict[str, str | None] = {}
    retried: list[str] = []
    last_seq, head = facts.last_seq, facts.head
    for op in sorted(ops, key=lambda o: (o.seq, o.op_id)):
        if op.op_id in results:
            continue
        if op.op_id in facts.stored:
            same = facts.stored[op.op_id] == op.hash
            results[op.op_id] = (
                OpResult(op_id=op.op_id, status="duplicate")
                if same
                else refused(
                    op, "an op with this id but different content is already stored", "id_reused"
                )
            )
            continue
        if op.device_id != caller.device_id:
            results[op.op_id] = refused(op, "a device may only push its own ops", "foreign_device")
            continue
        if op.op_id in facts.refused_before:
            content = facts.content_problem.get(op.op_id)
            outcome = retry(
                op,
                facts.refused_before[op.op_id],
                (content, facts.content_cause.get(op.op_id, "tampered")) if content else None,
                placement(op, op.prev_hash, caller, facts.on_cases, facts.reviewers),
            )
            results[op.op_id] = outcome
            if outcome.status == "accepted":
                accepted.append(op)
                retried.append(op.op_id)
            continue
        if op.op_id in facts.refused:
            results[op.op_id] = OpResult(
                op_id=op.op_id, status="rejected", reason=facts.refused[op.op_id]
            )
            continue
        reason: str | None
        cause: str | None = None
        if op.seq <= last_seq:
            reason = (
                f"fork: this device already sent a different op at seq {op.seq} "
                "(was the laptop restored from a backup?); re-enroll it; the op is kept"
            )
            cause = "fork"
        elif op.seq > last_seq + 1:
            results[op.op_id] = OpResult(
                op_id=op.op_id,
                status="deferred",
                reason=f"waiting for seq {last_seq + 1} of this device",
            )
            continue
        elif op.op_id in facts.content_problem:
            reason = facts.content_problem[op.op_id]
            cause = facts.content_cause.get(op.op_id, "tampered")
            last_seq, head = op.seq, op.hash
        else:
            reason, cause = placement(op, head, caller, facts.on_cases, facts.reviewers)
            # The chain position is taken whatever the outcome, so a refused op never
            # blocks the ops behind it.
            last_seq, head = op.seq, op.hash
        if reason:
            results[op.op_id] = refused(op, reason, cause)
            if op.seq == last_seq and head == op.hash:
                rejected.append((op, reason))
                causes[op.op_id] = cause
            continue
        results[op.op_id] = OpResult(op_id=op.op_id, status="accepted")
        accepted.append(op)
    return Verdict(results, accepted, rejected, last_seq, head, causes, retried)
