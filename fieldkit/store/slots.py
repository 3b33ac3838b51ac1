"""Key slots: creating a profile, unlocking it with the passphrase or the agency's recovery
key, and rewrapping the master key under a new passphrase."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Self

from fieldkit.changelog import uuid7
from fieldkit.crypto import (
    CryptoError,
    Ed25519PrivateKey,
    KeySlot,
    Sealer,
    WrongPassphrase,
    X25519PrivateKey,
    X25519PublicKey,
    aad_for,
    argon_params,
    hkdf,
    open_passphrase_slot,
    open_recovery_slot,
    passphrase_slot,
    random_key,
    recovery_slot,
    slot_version,
)
from fieldkit.errors import StoreError
from fieldkit.hardening import private_file
from fieldkit.i18n import N_, _
from fieldkit.integrity import RECORD_KEY, SealedSettings
from fieldkit.store.base import RECORD_AAD, StoreBase, _utcnow
from fieldkit.store.schema import SCHEMA_VERSION, connect, open_existing, store_error


class SlotStore(StoreBase):
    """Opening and creating a profile through its key slots."""

    @classmethod
    def create(
        cls,
        path: Path,
        passphrase: str,
        user: str,
        recovery_public: X25519PublicKey | None = None,
        policy: str = "ontario-std7",
        argon: dict[str, int] | None = None,
        *,
        benchmark_plaintext: bool = False,
    ) -> Self:
        """A new profile: random master key, passphrase and recovery slots, device keys.

        `benchmark_plaintext` makes a profile that seals and signs nothing, for the
        benchmark's baseline only; no command offers it and `verify` fails on it.
        """
        if path.exists():
            raise StoreError(
                _("a profile already exists at {path}; open it or choose another").format(path=path)
            )
        if not passphrase:
            raise StoreError(_("the passphrase is empty; choose one of at least 8 characters"))
        private_file(path)  # 0600 in a 0700 directory, before SQLite creates it
        master = random_key()
        conn = connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            slot = passphrase_slot(master, passphrase, argon)
            conn.execute(
                "INSERT INTO key_slots (kind, data) VALUES (?, ?)",
                (slot.kind, json.dumps(slot.to_json())),
            )
            if recovery_public is not None:
                rslot = recovery_slot(master, recovery_public)
                conn.execute(
                    "INSERT INTO key_slots (kind, data) VALUES (?, ?)",
                    (rslot.kind, json.dumps(rslot.to_json())),
                )
            device_id = uuid7()
            sign_key = Ed25519PrivateKey.generate()
            box_key = X25519PrivateKey.generate()
            secrets = Sealer(hkdf(master, "profile-secrets"))
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "profile_id": uuid7(),
                "user": user,
                "device_id": device_id,
                "policy": policy,
                "created": _utcnow(),
                "plaintext": "1" if benchmark_plaintext else "0",
                "device_sign_pub": sign_key.public_key().public_bytes_raw().hex(),
                "device_box_pub": box_key.public_key().public_bytes_raw().hex(),
                "device_sign_key": secrets.seal(
                    sign_key.private_bytes_raw(), aad_for("meta", "value", "device_sign_key")
                ).hex(),
                "device_box_key": secrets.seal(
                    box_key.private_bytes_raw(), aad_for("meta", "value", "device_box_key")
                ).hex(),
            }
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
            conn.execute(
                "INSERT INTO devices (device_id, user, sign_pub, box_pub) VALUES (?,?,?,?)",
                (
                    device_id,
                    user,
                    sign_key.public_key().public_bytes_raw(),
                    box_key.public_key().public_bytes_raw(),
                ),
            )
            record = SealedSettings.from_clear(
                meta,
                [
                    (
                        device_id,
                        user,
                        sign_key.public_key().public_bytes_raw(),
                        box_key.public_key().public_bytes_raw(),
                    )
                ],
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                (RECORD_KEY, secrets.seal(record.to_bytes(), RECORD_AAD).hex()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            path.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            raise
        return cls(path, conn, master)

    @classmethod
    def open(cls, path: Path, passphrase: str) -> Self:
        """Unlock a profile with the worker's passphrase; wrong passphrase writes nothing."""
        conn = open_existing(path)
        for slot in cls._slots(conn, "passphrase"):
            try:
                master = open_passphrase_slot(slot, passphrase)
            except WrongPassphrase:
                continue
            store = cls._opened(path, conn, master, slot_version(slot))
            if slot_version(slot) < 2:  # made before sealed settings: upgrade the slot
                store.change_passphrase(passphrase, argon_params(slot))
            return store
        # the way out offered is one this profile has: a recovery slot, or none at all
        recoverable = bool(cls._slots(conn, "recovery"))
        conn.close()
        if recoverable:
            raise WrongPassphrase(
                N_(
                    "wrong passphrase for this profile; try again (ask your agency's IT lead to "
                    "recover the profile if it is forgotten)"
                )
            )
        raise WrongPassphrase(
            N_(
                "wrong passphrase for this profile; try again (it has no agency recovery key: "
                "a forgotten passphrase cannot be recovered)"
            )
        )

    @classmethod
    def open_with_recovery(cls, path: Path, private: X25519PrivateKey) -> Self:
        """Unlock with the agency's recovery key (to reset a forgotten passphrase)."""
        conn = open_existing(path)
        for slot in cls._slots(conn, "recovery"):
            try:
                master = open_recovery_slot(slot, private)
            except CryptoError:
                continue
            return cls._opened(path, conn, master, slot_version(slot))
        conn.close()
        raise WrongPassphrase(N_("this recovery key does not open the profile"))

    @classmethod
    def _opened(cls, path: Path, conn: sqlite3.Connection, master: bytes, slot_v: int) -> Self:
        try:
            return cls(path, conn, master, slot_v)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise store_error(exc, path) from None
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _slots(conn: sqlite3.Connection, kind: str) -> list[KeySlot]:
        rows = conn.execute("SELECT data FROM key_slots WHERE kind=?", (kind,)).fetchall()
        return [KeySlot.from_json(json.loads(r[0])) for r in rows]

    def change_passphrase(self, new_passphrase: str, argon: dict[str, int] | None = None) -> None:
        """Rewrap the master key under a new passphrase; no data is re-encrypted."""
        if not new_passphrase:
            raise StoreError(_("the new passphrase is empty; nothing changed"))
        slot = passphrase_slot(self._require_master(), new_passphrase, argon)
        with self.transaction():
            self._conn.execute("DELETE FROM key_slots WHERE kind='passphrase'")
            self._conn.execute(
                "INSERT INTO key_slots (kind, data) VALUES (?, ?)",
                (slot.kind, json.dumps(slot.to_json())),
            )
