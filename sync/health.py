"""Sync health: each laptop reports how its sync went (counts, timing, app version — never
content), so the agency sees a laptop whose work waits, is refused, or that went quiet."""

from __future__ import annotations

from sqlalchemy import Engine, insert

from .models import SYNC_REPORTS
from .protocol import SyncReportRequest, now_ms


def record_report(engine: Engine, device_id: str, req: SyncReportRequest) -> None:
    """Keep one sync's outcome for the device that signed the request."""
    with engine.begin() as conn:
        conn.execute(
            insert(SYNC_REPORTS).values(
                device_id=device_id,
                at_ms=now_ms(),
                outcome=req.outcome,
                pushed=req.pushed,
                pulled=req.pulled,
                refused=req.refused,
                waiting=req.waiting,
                waiting_keys=req.waiting_keys,
                duration_ms=req.duration_ms,
                app_version=req.app_version,
            )
        )
