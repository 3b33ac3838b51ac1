"""The server's keys and settings over one engine: the receipt-signing key, the recovery
key, hello and health. The other server parts build on this."""

from __future__ import annotations

import os
from typing import Any

from fieldkit.sync import limits
from fieldkit.sync.models import (
    SETTINGS,
)
from fieldkit.sync.protocol import (
    Hello,
    now_ms,
)
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from fieldkit.crypto import Ed25519PrivateKey, b64, unb64


class ServerBase:
    """One engine, the receipt key, and the reads every route needs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self._sign_key = self._load_sign_key()

    def _load_sign_key(self) -> Ed25519PrivateKey:
        """The receipt-signing key: from FIELDKIT_SERVER_RECEIPT_KEY_FILE when set (kept out
        of the database), else created once and shared by every process via the DB."""
        key_file = os.environ.get("FIELDKIT_SERVER_RECEIPT_KEY_FILE")
        if key_file:
            key: Ed25519PrivateKey = limits.receipt_key_from_file(key_file)
            return key
        with self.engine.begin() as conn:
            row = conn.execute(
                select(SETTINGS.c.value).where(SETTINGS.c.key == "receipt_key")
            ).first()
            if row is None:
                candidate = Ed25519PrivateKey.generate()
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(SETTINGS).values(
                                key="receipt_key", value=b64(candidate.private_bytes_raw())
                            )
                        )
                except IntegrityError:
                    pass
                row = conn.execute(
                    select(SETTINGS.c.value).where(SETTINGS.c.key == "receipt_key")
                ).first()
        assert row is not None
        return Ed25519PrivateKey.from_private_bytes(unb64(row[0]))

    @property
    def sign_pub(self) -> str:
        """The public key clients check receipts with."""
        return b64(self._sign_key.public_key().public_bytes_raw())

    def recovery_pub(self, conn: Connection) -> str | None:
        """The agency recovery public key, if the admin set one."""
        row = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == "recovery_pub")).first()
        return str(row[0]) if row else None

    def hello(self) -> Hello:
        """Server clock and keys."""
        with self._read() as conn:
            recovery = self.recovery_pub(conn)
        return Hello(server_time_ms=now_ms(), server_sign_pub=self.sign_pub, recovery_pub=recovery)

    def _read(self) -> Any:
        return self.engine.connect().execution_options(fieldkit_read=True)

    def healthy(self) -> bool:
        """The database answers."""
        with self._read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
