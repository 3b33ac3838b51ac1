"""Use cases of sync on the laptop: enroll, run a sync, assign a case to a team.

The faces call these; `fieldkit.sync.client` speaks the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import load_profile
from fieldkit.practice.profile import ProfileError
from fieldkit.record_verify import Verdict
from fieldkit.store import Store
from fieldkit.sync import client
from fieldkit.sync.admin_view import health_flags
from fieldkit.sync.case_teams import assign_case
from fieldkit.sync.client import TEAM_HEALTH, enroll
from fieldkit.sync.outcome import SyncSummary
from fieldkit.sync.protocol import TeamHealthResponse, VerifyRecordRequest

__all__ = ["LaptopHealthRow", "SyncSummary", "assign_case", "enroll", "run_sync", "team_health"]

DAY_MS = 86_400_000


@dataclass(frozen=True)
class LaptopHealthRow:
    """One laptop of the supervisor's team on the team screen."""

    device: str
    user: str
    last_sync: datetime | None
    days_quiet: int | None
    """Whole days since its last sync (or, never synced, its last contact); None: never."""
    waiting: int | None
    refused: int
    revoked: bool
    stale: bool
    """Not synced for more than the profile's `[sync] stale_after_days` (never: revoked)."""


def run_sync(store: Store, progress: Any = None, **options: Any) -> SyncSummary:
    """One end-of-day sync, pulling every attachment when the profile's `[evidence]
    pull_attachments` says "always". The enrollment is read fresh from the profile:
    `fieldkit enroll` may have run in another terminal while this one was open."""
    store.reload_settings()
    try:
        pull_all = load_profile(store.meta("policy") or None).pull_attachments == "always"
    except ProfileError:
        pull_all = False
    return client.run_sync(store, progress, pull_all_attachments=pull_all, **options)


def verify_record_on_server(store: Store, stamp: Any) -> Any:
    """Ask the agency server about a printed record (`record_verify.Stamp`): a `Verdict`
    built from what the server can say from op hashes and metadata (docs/server.md)."""

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
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def team_health(
    store: Store, now: datetime, stale_after_days: int
) -> tuple[datetime | None, list[LaptopHealthRow]]:
    """(when the server gave it, each laptop of the team) from what the supervisor's laptop
    kept at its last sync; (None, []) before any. A laptop is flagged as the server's
    `admin sync-health` would flag it, by the practice profile's threshold."""
    raw = store.secret(TEAM_HEALTH)
    if raw is None:
        return None, []
    kept = TeamHealthResponse.model_validate_json(raw)
    now_ms = int(now.timestamp() * 1000)
    rows = health_flags([lap.model_dump() for lap in kept.laptops], now_ms, stale_after_days)
    found = []
    for row in rows:
        seen = row["last_sync_ms"] or row["last_seen_ms"]
        found.append(
            LaptopHealthRow(
                device=str(row["device"]),
                user=str(row["user"]),
                last_sync=_moment(row["last_sync_ms"]),
                days_quiet=None if seen is None else max(0, (now_ms - int(seen)) // DAY_MS),
                waiting=row["waiting"],
                refused=int(row["refused"]),
                revoked=bool(row["revoked"]),
                stale=bool(row["stale"]),
            )
        )
    return _moment(kept.as_of_ms), found


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
