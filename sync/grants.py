"""User-key grants: how a user's second laptop gets the user's X25519 key.

The server never holds the user key in any form a passphrase guess opens. The laptop that
created it holds it (an empty grant row marks that); another laptop of the same user gets
it wrapped to its own device key by a laptop that holds it, after the worker checks the
new laptop's fingerprint (`fieldkit grant`). A stolen database holds only such wraps.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from .models import DEVICES, USER_KEY_GRANTS


def record_origin(conn: Connection, device_id: str, user: str, now: int) -> None:
    """This device created the user's key: it holds it without a wrap."""
    conn.execute(
        insert(USER_KEY_GRANTS).values(
            device_id=device_id, user=user, wrapped=b"", by_device=device_id, created_ms=now
        )
    )


def grant_of(conn: Connection, device_id: str) -> bytes | None:
    """The wrap for this device: empty when it created the key, None when not granted yet."""
    row = conn.execute(
        select(USER_KEY_GRANTS.c.wrapped).where(USER_KEY_GRANTS.c.device_id == device_id)
    ).first()
    return bytes(row[0]) if row is not None else None


def waiting(conn: Connection, user: str) -> list[str]:
    """The user's live devices that do not hold the user key yet."""
    granted = select(USER_KEY_GRANTS.c.device_id)
    rows = conn.execute(
        select(DEVICES.c.device_id)
        .where(
            DEVICES.c.user == user,
            DEVICES.c.revoked_ms.is_(None),
            DEVICES.c.device_id.not_in(granted),
        )
        .order_by(DEVICES.c.enrolled_ms)
    ).all()
    return [r[0] for r in rows]


def put(
    conn: Connection, by_device: str, user: str, device_id: str, wrapped: bytes, now: int
) -> str | None:
    """Keep a grant; the refusal in words when it is not allowed, else None."""
    target = conn.execute(select(DEVICES).where(DEVICES.c.device_id == device_id)).first()
    if target is None:
        return "no such device"
    if target.user != user:
        return f"device {device_id} is not one of {user}'s laptops"
    if target.revoked_ms is not None:
        return f"device {device_id} was revoked"
    if by_device != device_id and grant_of(conn, by_device) is None:
        return "this laptop does not hold the user key itself"
    conn.execute(delete(USER_KEY_GRANTS).where(USER_KEY_GRANTS.c.device_id == device_id))
    conn.execute(
        insert(USER_KEY_GRANTS).values(
            device_id=device_id, user=user, wrapped=wrapped, by_device=by_device, created_ms=now
        )
    )
    return None
