"""Use cases of sync on the laptop: enroll, run a sync, assign a case to a team.

The faces call these; `fieldkit.sync.client` speaks the protocol.
"""

from __future__ import annotations

from typing import Any

from fieldkit.i18n import _
from fieldkit.practice import load_profile
from fieldkit.practice.profile import ProfileError
from fieldkit.store import Store
from fieldkit.sync import client
from fieldkit.sync.client import assign_case, enroll
from fieldkit.sync.outcome import SyncSummary

__all__ = ["SyncSummary", "assign_case", "enroll", "run_sync"]


def run_sync(store: Store, progress: Any = None, **options: Any) -> SyncSummary:
    """One end-of-day sync, pulling every attachment when the profile's `[evidence]
    pull_attachments` says "always"."""
    try:
        pull_all = load_profile(store.meta("policy") or None).pull_attachments == "always"
    except ProfileError:
        pull_all = False
    return client.run_sync(store, progress, pull_all_attachments=pull_all, **options)


def verify_record_on_server(store: Store, stamp: Any) -> Any:
    """Ask the agency server about a printed record (`record_verify.Stamp`): a `Verdict`
    built from what the server can say from op hashes and metadata (docs/server.md)."""
    from fieldkit.errors import FieldkitError
    from fieldkit.record_verify import Verdict
    from fieldkit.sync.protocol import VerifyRecordRequest

    if stamp.chain_hash is None:
        raise FieldkitError(
            _(
                "this paper was printed before fieldkit printed a chain hash; the "
                "server cannot check it: run `fieldkit verify-record FILE.pdf` on a "
                "laptop of the case's team"
            )
        )
    reply = client.verify_record_on_server(
        store,
        VerifyRecordRequest(
            case_id=stamp.case_id,
            visit_id=stamp.visit_id,
            content_hash=stamp.content_hash,
            approval_hash=stamp.approval_hash,
            chain_hash=stamp.chain_hash,
        ),
    )
    changes = [
        {
            "id": c.entity_id,
            "kind": c.entity,
            "author": c.author,
            "received_at": _when(c.received_ms),
        }
        for c in reply.changes
    ]
    return Verdict(
        reply.status, reply.message, stamp, addenda=changes, approved_by=reply.approved_by
    )


def _when(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
