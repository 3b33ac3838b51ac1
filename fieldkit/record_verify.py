"""A printed record anyone can verify: the stamp a visit PDF carries, and checking it.

The PDF of a visit prints its content hash (SHA-256 of the visit and its addenda, what a
supervisor's approval binds to) and the hash of the approval op that approved it, as text,
as a QR code and in the PDF's metadata:

    fieldkit-record/1 case=C-1 visit=v1 content=<sha256> approval=<op hash or none>
        chain=<sha256>

`chain` binds the content hash to the hashes of the ops of the visit and its linked
addenda as printed (`fieldkit.sync.protocol.chain_hash`): the agency server holds those
op hashes (never the content), so an auditor with an account can ask it too
(`fieldkit verify-record FILE.pdf --server`, POST /v1/verify-record).

`verify_record` reads that stamp back from the file and checks it against this profile's
signed log: **unchanged** (the record still hashes to what was printed), **amended** (it
did when printed; addenda came since, listed), or **unknown** (no signed record here ever
had that content, or the approval named was never made): a forged or foreign paper.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import chain_hash, in_visit_chain
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.services import review
from fieldkit.store import Store

STAMP_PREFIX = "fieldkit-record/1"
_STAMP = re.compile(
    rb"fieldkit-record/1 case=([^\s()\\]+) visit=([^\s()\\]+) content=([0-9a-f]{64})"
    rb" approval=([0-9a-f]{64}|none)(?: chain=([0-9a-f]{64}))?"
)


@dataclass(frozen=True)
class Stamp:
    """What a printed record claims."""

    case_id: str
    visit_id: str
    content_hash: str
    approval_hash: str | None
    chain_hash: str | None = None

    @property
    def text(self) -> str:
        """The one line printed, put in the QR code and in the metadata."""
        chain = f" chain={self.chain_hash}" if self.chain_hash else ""
        return (
            f"{STAMP_PREFIX} case={self.case_id} visit={self.visit_id} "
            f"content={self.content_hash} approval={self.approval_hash or 'none'}{chain}"
        )


@dataclass
class Verdict:
    """What the signed log says about a printed record."""

    status: str  # "unchanged", "amended" or "unknown"
    message: str
    stamp: Stamp | None = None
    addenda: list[dict[str, Any]] = field(default_factory=list)
    approved_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """For `fieldkit verify-record --json`."""
        return {
            "status": self.status,
            "message": self.message,
            "case": self.stamp.case_id if self.stamp else None,
            "visit": self.stamp.visit_id if self.stamp else None,
            "content_hash": self.stamp.content_hash if self.stamp else None,
            "approval_hash": self.stamp.approval_hash if self.stamp else None,
            "approved_by": self.approved_by,
            "addenda": self.addenda,
        }


def _content(visit_fields: dict[str, Any], addenda: list[dict[str, Any]]) -> str:
    return changelog.content_hash({"visit": visit_fields, "addenda": addenda})


def stamp_for(store: Store, case_id: str, visit_id: str) -> Stamp:
    """The stamp of a visit as it stands, with the op of the approval that still holds."""
    content = review.visit_content(store, case_id, visit_id)
    digest = changelog.content_hash(content)
    approval_hash = None
    for ent in store.entities(case_id, "approval"):
        f = ent.fields
        if (
            f.get("target") == "visit"
            and f.get("target_id") == visit_id
            and f.get("decision") == "approved"
            and f.get("content_hash") == digest
        ):
            approval_hash = _op_hash(store, ent.state)
    return Stamp(case_id, visit_id, digest, approval_hash, _chain(store, case_id, visit_id, digest))


def _chain(store: Store, case_id: str, visit_id: str, content_hash: str) -> str:
    """The chain hash: the content hash bound to the visit's op hashes as they stand."""
    hashes = [
        op.hash
        for op in store.ops()
        if op.case_id == case_id and in_visit_chain(op.entity, op.entity_id, visit_id)
    ]
    return chain_hash(content_hash, hashes)


def _op_hash(store: Store, state: dict[str, Any]) -> str | None:
    """The hash of the op that wrote an entity's decision (its signed, chained form)."""
    heads = state.get("heads", {}).get("decision") or []
    if not heads:
        return None
    op_id = heads[-1]["op"]
    for op in store.ops():
        if op.op_id == op_id:
            return op.hash
    return None


def read_stamp(path: Path) -> Stamp:
    """The stamp printed in a PDF (from its metadata, where reportlab keeps it as text)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FieldkitError(_("no such file: {path}").format(path=path)) from None
    except OSError as exc:
        raise FieldkitError(
            _("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None
    if not data.startswith(b"%PDF"):
        raise FieldkitError(_("{name} is not a PDF").format(name=path.name))
    found = _STAMP.search(data)
    if found is None:
        raise FieldkitError(
            _("{name} carries no fieldkit record stamp; it was not printed by fieldkit").format(
                name=path.name
            )
        )
    case_id, visit_id, content, approval, chain = (
        g.decode() if g is not None else None for g in found.groups()
    )
    assert case_id and visit_id and content and approval
    return Stamp(case_id, visit_id, content, None if approval == "none" else approval, chain)


def verify_stamp(store: Store, stamp: Stamp) -> Verdict:
    """Check a stamp against the signed log of this profile."""
    visit = store.entity(stamp.case_id, "visit", stamp.visit_id)
    if visit is None or visit.signed is None:
        return Verdict(
            "unknown",
            _(
                "no signed visit {visit_id} of case {case_id} in this log: the paper "
                "is not from this agency's record, or was forged"
            ).format(visit_id=stamp.visit_id, case_id=stamp.case_id),
            stamp,
        )
    content = review.visit_content(store, stamp.case_id, stamp.visit_id)
    addenda = list(content["addenda"])
    approved_by = None
    if stamp.approval_hash is not None:
        approval = _approval_with_hash(store, stamp)
        if approval is None:
            return Verdict(
                "unknown",
                _(
                    "the approval printed on the paper was never recorded in the signed "
                    "log, or approved other content: forged"
                ),
                stamp,
            )
        approved_by = str(approval.get("by") or "")
    for kept in range(len(addenda), -1, -1):
        if _content(content["visit"], addenda[:kept]) == stamp.content_hash:
            since = addenda[kept:]
            if not since:
                return Verdict(
                    "unchanged",
                    _("the record is unchanged since it was printed; approved by {who}").format(
                        who=approved_by
                    )
                    if approved_by
                    else _("the record is unchanged since it was printed"),
                    stamp,
                    approved_by=approved_by,
                )
            return Verdict(
                "amended",
                _("the record was amended after it was printed: {n} addendum(s)").format(
                    n=len(since)
                ),
                stamp,
                addenda=since,
                approved_by=approved_by,
            )
    return Verdict(
        "unknown",
        _(
            "the printed hash matches no version of this visit in the signed "
            "log: the paper was altered or forged"
        ),
        stamp,
    )


def _approval_with_hash(store: Store, stamp: Stamp) -> dict[str, Any] | None:
    for op in store.ops():
        if op.hash != stamp.approval_hash or op.entity != "approval":
            continue
        if op.case_id != stamp.case_id or op.compute_hash() != op.hash:
            return None
        body = store.open_body(op)
        values: dict[str, Any] = body.get("set") or {}
        if (
            values.get("target_id") == stamp.visit_id
            and values.get("decision") == "approved"
            and values.get("content_hash") == stamp.content_hash
        ):
            return values
        return None
    return None


def verify_record(store: Store, path: Path) -> Verdict:
    """Read a printed visit record and check it against the signed log."""
    return verify_stamp(store, read_stamp(path))


def qr_png(text: str) -> bytes:
    """The stamp as a QR code (PNG bytes) for the printed page."""
    # local: segno adds ~30 ms to every command's start (-X importtime); only a PDF needs it
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=3, border=2)
    return out.getvalue()
