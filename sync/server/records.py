"""A printed visit record checked by the server, from op hashes and metadata alone.

The server never reads a visit: its ops' bodies are case-key ciphertext. What it holds in
the clear is each op's hash, case, entity, entity id, author and receipt time. A printed
record carries its content hash, the hash of the approval op and the chain hash
(`protocol.chain_hash`: the content hash bound to the sorted hashes of the visit's ops
and its linked addenda when it was printed). From those the server can truthfully say:

- **unchanged**: the printed chain hash is the visit's chain as the server holds it now;
- **amended**: it was the chain at an earlier point; the ops received since (addenda,
  later changes) are listed with their ids, authors and receipt times;
- **unknown**: no state of the visit's chain on this server hashes to it (altered or
  forged paper, another server, or printed from ops never synced), the visit is not on
  the server, or the approval printed is not an approval op of that case.

It cannot say whether the printed text matches the content hash (that needs the case
key: `fieldkit verify-record` on a laptop of the team checks it), nor which visit an
approval approved (the target is in its sealed body). docs/server.md lists the limits.
"""

from __future__ import annotations

from fieldkit.sync.models import OPS
from fieldkit.sync.protocol import (
    VERIFY_ROLES,
    RecordChange,
    VerifyRecordRequest,
    VerifyRecordResponse,
    chain_hash,
    in_visit_chain,
)
from fieldkit.sync.server.common import Caller, Refused
from fieldkit.sync.server.teams import TeamServer
from sqlalchemy import select


class RecordServer(TeamServer):
    """`POST /v1/verify-record`."""

    def verify_record(self, caller: Caller, req: VerifyRecordRequest) -> VerifyRecordResponse:
        """Whether a printed record still stands, as far as the op log on this server shows."""
        if caller.role not in VERIFY_ROLES:
            raise Refused(
                403,
                f"{caller.user} is a {caller.role}: only an auditor, a supervisor or an "
                "admin verifies printed records on the server",
            )
        with self._read() as conn, conn.begin():
            if caller.role == "supervisor" and not self._on_case(conn, caller.user, req.case_id):
                raise Refused(403, f"{caller.user} does not supervise case {req.case_id}")
            rows = conn.execute(
                select(
                    OPS.c.cursor,
                    OPS.c.hlc,
                    OPS.c.hash,
                    OPS.c.entity,
                    OPS.c.entity_id,
                    OPS.c.author,
                    OPS.c.received_ms,
                )
                .where(OPS.c.case_id == req.case_id, OPS.c.entity.in_(("visit", "addendum")))
                .order_by(OPS.c.cursor)
            ).all()
            approval = None
            if req.approval_hash is not None:
                approval = conn.execute(
                    select(OPS.c.entity, OPS.c.case_id, OPS.c.author, OPS.c.received_ms).where(
                        OPS.c.hash == req.approval_hash
                    )
                ).first()
        chain = [r for r in rows if in_visit_chain(r.entity, r.entity_id, req.visit_id)]
        if not any(r.entity == "visit" for r in chain):
            return VerifyRecordResponse(
                status="unknown",
                message=f"no visit {req.visit_id} of case {req.case_id} on this server: "
                "the paper is not from this agency's record, or was forged",
            )
        approved_by, approved_ms = None, None
        if req.approval_hash is not None:
            if (
                approval is None
                or approval.entity != "approval"
                or (approval.case_id != req.case_id)
            ):
                return VerifyRecordResponse(
                    status="unknown",
                    message="the approval printed on the paper is not an approval of this "
                    "case on this server: forged, or printed before the supervisor's laptop "
                    "synced it",
                )
            approved_by, approved_ms = approval.author, approval.received_ms
        # The printed state is a prefix of the chain, in receipt order or in the order the
        # laptops wrote the ops (HLC): a laptop may print before another's op reaches it.
        for ordered in (chain, sorted(chain, key=lambda r: (r.hlc, r.cursor))):
            for kept in range(len(ordered), 0, -1):
                digest = chain_hash(req.content_hash, [r.hash for r in ordered[:kept]])
                if digest != req.chain_hash:
                    continue
                since = [
                    RecordChange(
                        entity=r.entity,
                        entity_id=r.entity_id,
                        author=r.author,
                        received_ms=r.received_ms,
                    )
                    for r in ordered[kept:]
                ]
                by = f"; approval recorded by {approved_by}" if approved_by else ""
                if not since:
                    return VerifyRecordResponse(
                        status="unchanged",
                        message="the visit's signed log on the server is as it was when the "
                        f"record was printed{by}",
                        approved_by=approved_by,
                        approval_received_ms=approved_ms,
                    )
                return VerifyRecordResponse(
                    status="amended",
                    message=f"the record was amended after it was printed: {len(since)} "
                    f"change(s) received since{by}",
                    approved_by=approved_by,
                    approval_received_ms=approved_ms,
                    changes=since,
                )
        return VerifyRecordResponse(
            status="unknown",
            message="the printed hashes match no state of this visit's signed log on the "
            "server: the paper was altered or forged, or printed from changes never synced",
        )
