"""What an agency admin does on the server host: people, enrollment codes, revocation.

These act on the server database directly (`--db` / FIELDKIT_SERVER_DB), so they work
with the server stopped and need no network account of their own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from fieldkit.crypto import b64, load_x25519_public
from fieldkit.errors import FieldkitError

from .keygen import ask_rotation
from .models import (
    AUDIT_LOG,
    CASE_KEYS,
    DEVICES,
    ENROLL_CODES,
    OPS,
    SETTINGS,
    USERS,
)
from .protocol import ROLES, normalize_code, now_ms

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
DEFAULT_CODE_HOURS = 24


class AdminError(FieldkitError):
    """An admin command was refused; nothing changed."""


def code_hash(code: str) -> str:
    """Only this is stored: a stolen database does not reveal live codes."""
    return hashlib.sha256(f"fieldkit-enroll|{normalize_code(code)}".encode()).hexdigest()


def audit(conn: Connection, actor: str, action: str, detail: str) -> None:
    """Append one line to the server's audit log."""
    conn.execute(
        insert(AUDIT_LOG).values(at_ms=now_ms(), actor=actor, action=action, detail=detail)
    )


def audit_later(engine: Engine, actor: str, action: str, detail: str) -> None:
    """Audit a refusal in its own transaction (the refused request's own rolls back)."""
    with engine.begin() as conn:
        audit(conn, actor, action, detail)


def audit_events(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    """The audit log, oldest first (the last `limit` events if given)."""
    query = select(AUDIT_LOG).order_by(AUDIT_LOG.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {"at_ms": r.at_ms, "actor": r.actor, "action": r.action, "detail": r.detail}
        for r in reversed(rows)
    ]


def add_user(engine: Engine, name: str, role: str, supervisor: str | None = None) -> None:
    """A worker, supervisor, admin or auditor; a worker names their supervisor."""
    if role not in ROLES:
        raise AdminError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name or "/" in name or name.startswith("@") or name != name.strip():
        raise AdminError(f"{name!r} is not a usable user name")
    with engine.begin() as conn:
        if conn.execute(select(USERS.c.name).where(USERS.c.name == name)).first():
            raise AdminError(f"user {name} already exists; nothing changed")
        if supervisor is not None:
            row = conn.execute(select(USERS.c.role).where(USERS.c.name == supervisor)).first()
            if row is None:
                raise AdminError(f"no user {supervisor}; add the supervisor first")
            if row[0] not in ("supervisor", "admin"):
                raise AdminError(f"{supervisor} is a {row[0]}, not a supervisor")
        conn.execute(
            insert(USERS).values(name=name, role=role, supervisor=supervisor, created_ms=now_ms())
        )
        audit(conn, "admin", "user add", f"{name} as {role}, supervisor {supervisor or '-'}")


def users(engine: Engine) -> list[dict[str, Any]]:
    """Every user, with whether their key exists yet."""
    with engine.connect() as conn:
        rows = conn.execute(select(USERS).order_by(USERS.c.name)).all()
    return [
        {
            "name": r.name,
            "role": r.role,
            "supervisor": r.supervisor,
            "has_key": r.box_pub is not None,
        }
        for r in rows
    ]


@dataclass(frozen=True)
class IssuedCode:
    """A one-time enrollment code, shown once."""

    user: str
    code: str
    expires_ms: int


def enroll_code(engine: Engine, name: str, hours: float = DEFAULT_CODE_HOURS) -> IssuedCode:
    """A one-time code that lets one laptop of `name` enroll before it expires."""
    if hours <= 0:
        raise AdminError("the code must live for a positive number of hours")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    now = now_ms()
    expires = now + int(hours * 3600 * 1000)
    with engine.begin() as conn:
        if not conn.execute(select(USERS.c.name).where(USERS.c.name == name)).first():
            raise AdminError(f"no user {name}; add them with `fieldkit admin user add`")
        conn.execute(
            insert(ENROLL_CODES).values(
                code_hash=code_hash(code), user=name, created_ms=now, expires_ms=expires
            )
        )
        audit(conn, "admin", "enroll-code", f"for {name}, expires {expires}")
    return IssuedCode(name, code, expires)


def find_device(conn: Connection, device: str) -> Any:
    """A device by id or unambiguous id prefix."""
    rows = conn.execute(select(DEVICES).where(DEVICES.c.device_id.startswith(device))).all()
    if not rows:
        raise AdminError(f"no device {device}; `fieldkit admin devices` lists them")
    if len(rows) > 1:
        raise AdminError(f"{device} matches {len(rows)} devices; give more of the id")
    return rows[0]


def revoke(engine: Engine, device: str, wipe: bool = False) -> str:
    """Refuse every later request of a lost or retired laptop; its accepted ops stay.

    With `wipe`, the laptop's next contact may still push its pending ops; then it is
    told to erase its keys and profile (sync/wipe.py), and is refused from then on.
    """
    with engine.begin() as conn:
        row = find_device(conn, device)
        if row.revoked_ms is not None and (not wipe or row.wipe_ms is not None):
            return str(row.device_id)
        now = now_ms()
        values: dict[str, Any] = {"revoked_ms": row.revoked_ms or now}
        if wipe:
            values["wipe_ms"] = now
        conn.execute(update(DEVICES).where(DEVICES.c.device_id == row.device_id).values(**values))
        action = "revoke with wipe" if wipe else "revoke"
        audit(conn, "admin", action, f"device {row.device_id} of {row.user}")
        if row.revoked_ms is None:
            # The laptop may hold every key its user holds: the cases whose keys reached
            # its user get a new key, made by the next laptop of their team that syncs.
            held = [
                r[0]
                for r in conn.execute(
                    select(CASE_KEYS.c.case_id).where(CASE_KEYS.c.recipient == row.user).distinct()
                ).all()
            ]
            ask_rotation(conn, held, f"device {row.device_id} of {row.user} revoked", now)
    return str(row.device_id)


def mark_wiped(engine: Engine, device_id: str, user: str, detail: str) -> None:
    """The laptop sent its work and is erasing itself: refused for good from now on."""
    with engine.begin() as conn:
        done = conn.execute(
            update(DEVICES)
            .where(DEVICES.c.device_id == device_id, DEVICES.c.wipe_ms.is_not(None))
            .values(wiped_ms=now_ms())
        )
        if done.rowcount:
            audit(conn, user, "wiped", f"device {device_id}: {detail}")


def devices(engine: Engine) -> list[dict[str, Any]]:
    """Every enrolled device: whose, when seen, how far its chain is, revoked or not."""
    with engine.connect() as conn:
        rows = conn.execute(select(DEVICES).order_by(DEVICES.c.user, DEVICES.c.enrolled_ms)).all()
        counts: dict[str, int] = dict(
            conn.execute(select(OPS.c.device_id, func.count()).group_by(OPS.c.device_id)).all()
        )
    return [
        {
            "device_id": r.device_id,
            "user": r.user,
            "enrolled_ms": r.enrolled_ms,
            "last_seen_ms": r.last_seen_ms,
            "last_seq": r.last_seq,
            "ops": int(counts.get(r.device_id, 0)),
            "revoked": r.revoked_ms is not None,
            "revoked_ms": r.revoked_ms,
        }
        for r in rows
    ]


def set_recovery_key(engine: Engine, text: str) -> str:
    """The agency recovery public key every case key is also wrapped to."""
    label, _, rest = text.strip().partition(" ")
    if label == "fieldkit-recovery-private-v1" or "PRIVATE KEY" in text:
        raise AdminError("this is the PRIVATE recovery key: give the server the .pub file")
    if label == "fieldkit-recovery-public-v1":
        text = rest
    try:
        public = load_x25519_public(text)
    except (ValueError, FieldkitError) as exc:
        raise AdminError(f"not an X25519 public key: {exc}") from None
    value = b64(public.public_bytes_raw())
    with engine.begin() as conn:
        put_setting(conn, "recovery_pub", value)
        audit(conn, "admin", "recovery-key", value)
    return value


def put_setting(conn: Connection, key: str, value: str) -> None:
    """Insert or replace one server setting."""
    table = SETTINGS
    if conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == key)).first():
        conn.execute(update(table).where(SETTINGS.c.key == key).values(value=value))
    else:
        conn.execute(insert(table).values(key=key, value=value))
