"""Sync health: each laptop reports how its sync went (counts, timing, app version — never
content), so the agency sees a laptop whose work waits, is refused, or that went quiet."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, or_, select

from .admin_view import sync_health
from .models import SYNC_REPORTS, USERS
from .protocol import LaptopHealth, SyncReportRequest, TeamHealthResponse, now_ms


def record_report(conn: Connection, device_id: str, req: SyncReportRequest) -> None:
    """Keep one sync's outcome for the device that signed the request (in the transaction
    that authenticated it: `AuthServer.authenticated`)."""
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


def team_health(engine: Engine, supervisor: str, role: str) -> TeamHealthResponse:
    """The sync health of the supervisor's own laptops and those of their workers (an
    admin: every laptop). Counts and times only; whether a laptop has gone quiet is
    decided on the supervisor's laptop, by its practice profile's `[sync] stale_after_days`."""
    now = now_ms()
    with engine.connect() as conn:
        team = {
            r[0]
            for r in conn.execute(
                select(USERS.c.name).where(
                    or_(USERS.c.name == supervisor, USERS.c.supervisor == supervisor)
                )
            ).all()
        }
    rows = sync_health(engine, now, stale_days=1, users=None if role == "admin" else team)
    return TeamHealthResponse(
        as_of_ms=now,
        laptops=[
            LaptopHealth(
                device=r["device"],
                user=r["user"],
                revoked=r["revoked"],
                last_sync_ms=r["last_sync_ms"],
                last_seen_ms=r["last_seen_ms"],
                outcome=r["outcome"],
                waiting=r["waiting"],
                refused=r["refused"],
                waiting_keys=r["waiting_keys"],
            )
            for r in rows
            if role == "admin" or r["user"] in team
        ],
    )
