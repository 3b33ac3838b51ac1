"""The IT lead's view of the server: which database an admin command uses (never one it
creates by surprise), typeable device ids, the audit trail and per-device sync health."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from .db import ServerDbError, open_database, server_url
from .models import DEVICES, REJECTED_OPS, SYNC_REPORTS

MIN_PREFIX = 8


def shown_url(url: str) -> str:
    """A database URL as it may be printed: never its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def admin_database(db: str | None, create: bool) -> tuple[Engine, str]:
    """The server database an admin command acts on, and how to name it.

    An admin command never creates a database unless asked (`--create`): a mistyped
    `--db` or another `FIELDKIT_HOME` would otherwise show an empty agency ("0 people")
    as if it were the real one.
    """
    url = server_url(db)
    if not create and not _exists(url):
        raise ServerDbError(
            f"no fieldkit server database at {shown_url(url)}; check --db / "
            "FIELDKIT_SERVER_DB / FIELDKIT_HOME, or add --create to start a new one"
        )
    return open_database(url, pool_size=2), shown_url(url)


def _exists(url: str) -> bool:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ServerDbError(f"{url!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database
        return bool(name) and name != ":memory:" and Path(name or "").expanduser().is_file()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).has_table("alembic_version")
    except OperationalError as exc:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        raise ServerDbError(
            f"cannot open the server database {shown_url(url)}: {first[0] if first else exc}"
        ) from None
    finally:
        engine.dispose()


def short_ids(ids: list[str], minimum: int = MIN_PREFIX) -> dict[str, str]:
    """Each id → its shortest prefix (at least `minimum` characters) no other id shares.

    Device ids are UUIDv7: laptops enrolled in the same minute share their first dozen
    characters, so a fixed cut could not tell them apart. In sorted order the ids that
    share most of an id's prefix are its neighbours, so a sort finds every prefix: a
    supervisor's sync lists the agency's devices (3,000 took 9 s comparing each id with
    every other).
    """
    ordered = sorted(set(ids))
    shown: dict[str, str] = {}
    for i, one in enumerate(ordered):
        shared = max(
            (_common_prefix(one, ordered[j]) for j in (i - 1, i + 1) if 0 <= j < len(ordered)),
            default=0,
        )
        shown[one] = one[: min(len(one), max(minimum, shared + 1))]
    return shown


def _common_prefix(one: str, other: str) -> int:
    """How many leading characters two strings share."""
    return len(os.path.commonprefix([one, other]))


def health_flags(rows: list[dict[str, Any]], now_ms: int, stale_days: int) -> list[dict[str, Any]]:
    """Mark each device row `stale` when not seen for `stale_days` days (revoked: never)."""
    limit = stale_days * 86_400_000
    for row in rows:
        seen = row.get("last_sync_ms") or row.get("last_seen_ms")
        row["stale"] = not row.get("revoked") and (seen is None or now_ms - seen > limit)
    return rows


def sync_health(
    engine: Engine, now_ms: int, stale_days: int, users: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Per device: its last sync (from the laptop's own report), what waited and was
    refused then, how many syncs it reported, and whether it has gone quiet. With `users`,
    only their devices: a supervisor's sync asks for their team's, and the reports of the
    whole agency grow with every sync of every laptop."""
    with engine.connect() as conn:
        every_id = [r[0] for r in conn.execute(select(DEVICES.c.device_id)).all()]
        listed = select(DEVICES).order_by(DEVICES.c.user, DEVICES.c.enrolled_ms)
        reported = select(SYNC_REPORTS.c.device_id, func.max(SYNC_REPORTS.c.id).label("id"))
        counted = select(SYNC_REPORTS.c.device_id, func.count())
        refused = select(REJECTED_OPS.c.device_id, func.count())
        if users is not None:
            listed = listed.where(DEVICES.c.user.in_(sorted(users)))
            theirs = select(DEVICES.c.device_id).where(DEVICES.c.user.in_(sorted(users)))
            reported = reported.where(SYNC_REPORTS.c.device_id.in_(theirs))
            counted = counted.where(SYNC_REPORTS.c.device_id.in_(theirs))
            refused = refused.where(REJECTED_OPS.c.device_id.in_(theirs))
        devices = conn.execute(listed).all()
        latest = reported.group_by(SYNC_REPORTS.c.device_id).subquery()
        reports = {
            r.device_id: r
            for r in conn.execute(
                select(SYNC_REPORTS).join(latest, SYNC_REPORTS.c.id == latest.c.id)
            ).all()
        }
        counts: dict[str, int] = dict(
            conn.execute(counted.group_by(SYNC_REPORTS.c.device_id)).all()
        )
        held: dict[str, int] = dict(conn.execute(refused.group_by(REJECTED_OPS.c.device_id)).all())
    # Prefixes unique among every device of the agency, as `admin revoke` reads them.
    ids = short_ids(every_id)
    rows: list[dict[str, Any]] = []
    for d in devices:
        report = reports.get(d.device_id)
        rows.append(
            {
                "device_id": d.device_id,
                "device": ids[d.device_id],
                "user": d.user,
                "revoked": d.revoked_ms is not None,
                "last_seen_ms": d.last_seen_ms,
                "last_sync_ms": report.at_ms if report else None,
                "outcome": report.outcome if report else None,
                "waiting": report.waiting if report else None,
                "refused": report.refused if report else int(held.get(d.device_id, 0)),
                "waiting_keys": report.waiting_keys if report else None,
                "duration_ms": report.duration_ms if report else None,
                "app_version": report.app_version if report else None,
                "syncs": int(counts.get(d.device_id, 0)),
                "refused_on_server": int(held.get(d.device_id, 0)),
            }
        )
    return health_flags(rows, now_ms, stale_days)
