"""Authentication: every request signed by an enrolled, unrevoked device with a fresh
timestamp and a nonce never seen before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldkit.sync.admin import audit
from fieldkit.sync.models import (
    DEVICES,
    REQUEST_NONCES,
    USERS,
)
from fieldkit.sync.protocol import (
    DRAIN_ROUTES,
    REQUEST_WINDOW_MS,
    WIPE_REQUESTED,
    now_ms,
    parse_auth_header,
    request_message,
)
from fieldkit.sync.server.base import ServerBase
from fieldkit.sync.server.common import LAST_SEEN_EVERY_MS, Caller, Refused, T
from sqlalchemy import Connection, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fieldkit.crypto import ed25519_public_from_bytes, unb64
from fieldkit.crypto import verify_signature as _verify


class AuthServer(ServerBase):
    """Who signed a request."""

    def authenticate(self, method: str, path: str, header: str | None, body: bytes) -> Caller:
        """The device that signed this request, or a refusal (unknown, revoked, replayed)."""
        signed = self._signed(header)
        with self.engine.begin() as conn:
            who = self._authenticate(conn, method, path, body, signed)
        if isinstance(who, Refused):
            raise who
        return who

    def authenticated(
        self,
        method: str,
        path: str,
        header: str | None,
        body: bytes,
        work: Callable[[Connection, Caller], T],
    ) -> T:
        """`work` for the device that signed this request, in the transaction that checked
        it and recorded its nonce (one commit, not two); refused as `authenticate` is, and
        then `work` is not done. A `work` that fails rolls the nonce back with it."""
        signed = self._signed(header)
        with self.engine.begin() as conn:
            who = self._authenticate(conn, method, path, body, signed)
            if not isinstance(who, Refused):
                return work(conn, who)
        raise who

    @staticmethod
    def _signed(header: str | None) -> tuple[str, str, int, bytes]:
        """Device, nonce, time and signature of a request's header, checked for form and
        freshness before any database work."""
        if not header:
            raise Refused(401, "this request is not signed by an enrolled device")
        try:
            parts = parse_auth_header(header)
            ts = int(parts["ts"])
            sig = unb64(parts["sig"])
        except (ValueError, KeyError):
            raise Refused(401, "the request signature is malformed") from None
        now = now_ms()
        if abs(now - ts) > REQUEST_WINDOW_MS:
            raise Refused(
                401, "the request is too old or too new (replayed, or the clock is far off)"
            )
        device_id, nonce = parts["device"], parts["nonce"]
        if not 16 <= len(nonce) <= 64:
            raise Refused(401, "the request nonce is malformed")
        return device_id, nonce, ts, sig

    def _authenticate(
        self,
        conn: Connection,
        method: str,
        path: str,
        body: bytes,
        signed: tuple[str, str, int, bytes],
    ) -> Caller | Refused:
        """The caller, checked and its nonce recorded in `conn`'s transaction; raises the
        refusals that roll it back, returns the one to give once it has committed (a
        revoked device's attempt, audited)."""
        device_id, nonce, ts, sig = signed
        now = now_ms()
        refusal: Refused | None = None
        # PostgreSQL: the nonce is recorded in the statement that reads the device (one
        # round trip); a request refused below rolls it back with the transaction.
        row = self._device_and_nonce(conn, device_id, nonce, ts)
        if row is None:
            raise Refused(401, "this device is not enrolled on this server")
        device, role = row, row.role
        message = request_message(method, path, ts, nonce, body)
        genuine = _verify(ed25519_public_from_bytes(device.sign_pub), sig, message)
        draining = device.wipe_ms is not None and device.wiped_ms is None
        if device.revoked_ms is not None and not (
            draining and genuine and path.partition("?")[0] in DRAIN_ROUTES
        ):
            if not genuine:
                raise Refused(403, "this device was revoked by the agency; ask your IT lead")
            # Refused after this transaction commits, so the attempt stays audited.
            audit(conn, device.user, "revoked device refused", f"device {device_id}")
            refusal = Refused(
                403,
                WIPE_REQUESTED
                if draining
                else "this device was revoked by the agency; ask your IT lead",
            )
        elif not genuine:
            raise Refused(401, "the request signature does not verify with the device key")
        # One statement records the nonce and tells a replay apart (no savepoint).
        elif not (row.fresh if self.pg else self._record_nonce(conn, device_id, nonce, ts)):
            raise Refused(401, "this request was already received: replay refused")
        # Housekeeping at most once a minute per device, not on every request: the
        # nonce window check above never depends on it.
        elif device.last_seen_ms is None or now - device.last_seen_ms > LAST_SEEN_EVERY_MS:
            conn.execute(
                delete(REQUEST_NONCES).where(
                    REQUEST_NONCES.c.device_id == device_id,
                    REQUEST_NONCES.c.ts_ms < now - 2 * REQUEST_WINDOW_MS,
                )
            )
            conn.execute(
                update(DEVICES).where(DEVICES.c.device_id == device_id).values(last_seen_ms=now)
            )
        if refusal is not None:
            return refusal
        return Caller(
            device.device_id, device.user, role, device.sign_pub, device.revoked_ms is not None
        )

    def _device_and_nonce(self, conn: Connection, device_id: str, nonce: str, ts: int) -> Any:
        """The device's row and its user's role, or None. On PostgreSQL the same statement
        records the nonce (a data-modifying WITH, run whatever the rest finds) and says in
        `fresh` whether it was new; SQLite records it apart (`_record_nonce`)."""
        query = select(DEVICES, USERS.c.role).join(USERS, USERS.c.name == DEVICES.c.user)
        if self.pg:
            recorded = (
                pg_insert(REQUEST_NONCES)
                .values(device_id=device_id, nonce=nonce, ts_ms=ts)
                .on_conflict_do_nothing()
                .returning(REQUEST_NONCES.c.nonce)
                .cte("recorded")
            )
            query = query.add_columns(exists(select(recorded.c.nonce)).label("fresh"))
        return conn.execute(query.where(DEVICES.c.device_id == device_id)).first()

    def _record_nonce(self, conn: Connection, device_id: str, nonce: str, ts: int) -> bool:
        """Keep a request nonce; False when this device already used it (a replay)."""
        dialect_insert = pg_insert if self.pg else sqlite_insert
        stmt = (
            dialect_insert(REQUEST_NONCES)
            .values(device_id=device_id, nonce=nonce, ts_ms=ts)
            .on_conflict_do_nothing()
            .returning(REQUEST_NONCES.c.nonce)
        )
        return conn.execute(stmt).first() is not None
