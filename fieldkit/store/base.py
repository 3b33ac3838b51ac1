"""The unlocked profile's core: its connection, lock, transactions, clear settings and
sealed secrets, and the device's own keys. The other store modules build on this."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from fieldkit.changelog import GENESIS, HybridClock, WholePut
from fieldkit.crypto import (
    CryptoError,
    Ed25519PrivateKey,
    Sealer,
    X25519PrivateKey,
    aad_for,
    hkdf,
)
from fieldkit.errors import StoreError, StoreLocked
from fieldkit.i18n import _
from fieldkit.integrity import AUTHENTICATED_META, RECORD_KEY, SealedSettings
from fieldkit.store.schema import LATEST_HLC, MIGRATIONS, SCHEMA_VERSION, hex_of, store_error

RECORD_AAD = aad_for("meta", "value", RECORD_KEY)


class _ClearSealer:
    """No encryption: only for the benchmark's plaintext baseline (`bench/store.py`)."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        return plaintext

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        return sealed


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


LOCKED = "the profile is locked; unlock it first"


class _LockedSealer(Sealer):
    """Stands in for the sealers once the profile is locked: every use says so."""

    def __init__(self) -> None:
        pass

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        raise StoreLocked(LOCKED)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        raise StoreLocked(LOCKED)


_LOCKED_SEALER = _LockedSealer()


class _LockedConnection:
    """Stands in for the closed SQLite connection: a worker still reading meets StoreLocked
    (an expected state the screens ignore), never sqlite3's "closed database" error."""

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        raise StoreLocked(LOCKED)


class StoreBase:
    """An unlocked profile: master key in memory, one SQLite connection, one device chain."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection, master: bytes, slot_v: int = 2
    ) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self._master: bytes | None = master
        self._secrets = Sealer(hkdf(master, "profile-secrets"))
        self._case_wrap = Sealer(hkdf(master, "case-keys"))
        self._case_sealers: dict[str, tuple[str, Any]] = {}
        self._key_sealers: dict[tuple[str, str], Any] = {}
        self._seq: int = 0
        self._head: str = GENESIS
        self._outbox_touched = False
        self._kept_states: dict[tuple[str, str, str], dict[str, Any] | WholePut] = {}
        """The fold states of the entities saved last, newest last (`EntityStore._take_state`)."""
        self._kept_cases: set[str] = set()
        """The cases whose summary those saves dropped."""
        self._kept_mark: tuple[int, int] | None = None
        """The connection's change count and the file's data version after the last save."""
        self._data_version = 0
        """The file's data version read by the save under way."""
        self.outbox_listeners: list[Callable[[], None]] = []
        """Called (on the writing thread, after the commit) whenever the outbox changed:
        an own op written, acknowledged, refused or sent again. A face's status line
        listens here so it never shows a count older than the last write."""
        self._settings = self._load_settings(slot_v)
        # Benchmark-only (bench/store.py): nothing sealed, nothing signed; verify says so.
        self.plaintext = self.meta("plaintext") == "1"
        self.user = self.meta("user") or "worker"
        self.device_id = self.meta("device_id") or ""
        self.profile_id = self.meta("profile_id") or ""
        self._sign_key: Ed25519PrivateKey | None = None
        raw_sign = self._secret("device_sign_key")
        if raw_sign:
            self._sign_key = Ed25519PrivateKey.from_private_bytes(raw_sign)
        row = conn.execute(
            "SELECT seq, hash FROM ops WHERE device_id=? ORDER BY seq DESC LIMIT 1",
            (self.device_id,),
        ).fetchone()
        self._seq = row[0] if row else 0
        self._head = hex_of(row[1]) if row else GENESIS
        self._migrate()
        # after the migration, which gives an older profile the index this reads
        self.clock = HybridClock(conn.execute(LATEST_HLC).fetchone()[0])

    def _migrate(self) -> None:
        """Bring a profile made by an older fieldkit to this schema, once, after the unlock
        (a wrong passphrase writes nothing); the version is kept in the sealed settings."""
        try:
            version = int(self.meta("schema_version") or 1)
        except ValueError:
            version = 1
        if version >= SCHEMA_VERSION:
            return
        with self.transaction():
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(step, ()):
                    self._conn.execute(statement)
                self._migrate_rows(step)
            self.set_meta("schema_version", str(SCHEMA_VERSION))

    def _migrate_rows(self, step: int) -> None:
        """What a migration step does to sealed rows (the store's parts add theirs)."""

    def lock(self) -> None:
        """Drop every key from memory and close the file (idle timeout, lock key)."""
        with self._lock:
            self._master = None
            self._sign_key = None
            self._kept_states.clear()
            self._kept_cases.clear()
            self._kept_mark = None
            self._case_sealers.clear()
            self._key_sealers.clear()
            self._secrets = _LOCKED_SEALER
            self._case_wrap = _LOCKED_SEALER
            self._conn.close()
            self._conn = cast(sqlite3.Connection, _LockedConnection())

    @property
    def locked(self) -> bool:
        """The profile was locked: every key dropped, the file closed."""
        return self._master is None

    close = lock

    def checkpoint(self) -> None:
        """Fold the WAL into the main file."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _require_master(self) -> bytes:
        if self._master is None:
            raise StoreLocked(LOCKED)
        return self._master

    def _load_settings(self, slot_v: int) -> SealedSettings:
        """The sealed settings record; built once from clear rows for a pre-record profile."""
        raw = self._clear_meta().get(RECORD_KEY)
        if raw is None:
            if slot_v >= 2:
                raise StoreError(
                    _(
                        "{name}: the sealed settings record is missing, so the profile was "
                        "altered outside fieldkit; restore it from a backup"
                    ).format(name=self.path.name)
                )
            settings = SealedSettings.from_clear(self._clear_meta(), self._clear_devices())
            self._write_settings(settings)
            return settings
        try:
            return SealedSettings.from_bytes(self._secrets.open(bytes.fromhex(raw), RECORD_AAD))
        except (CryptoError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                _(
                    "{name}: the sealed settings record does not open, so the profile "
                    "was altered outside fieldkit; restore it from a backup"
                ).format(name=self.path.name)
            ) from exc

    def _write_settings(self, settings: SealedSettings) -> None:
        sealed = self._secrets.seal(settings.to_bytes(), RECORD_AAD).hex()
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (RECORD_KEY, sealed),
            )

    def _clear_meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def _clear_devices(self) -> list[tuple[str, str, bytes, bytes | None]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT device_id, user, sign_pub, box_pub FROM devices ORDER BY device_id"
            ).fetchall()
        return [(r[0], r[1], bytes(r[2]), bytes(r[3]) if r[3] is not None else None) for r in rows]

    def settings_differences(self) -> list[str]:
        """Clear settings and device rows that no longer match the sealed record."""
        return self._settings.differences(self._clear_meta(), self._clear_devices())

    def reload_settings(self) -> None:
        """Read the sealed settings again from the file: another fieldkit (`fieldkit
        enroll` in a second terminal) may have changed them while this one was open."""
        with self._lock:
            self._settings = self._load_settings(2)

    def meta(self, key: str) -> str | None:
        """A profile setting (those that decide trust from the sealed record, see integrity)."""
        if key in AUTHENTICATED_META:
            return self._settings.meta.get(key)
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a profile setting (and its sealed copy, for those that decide trust)."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )
            if key in AUTHENTICATED_META:
                self.reload_settings()  # another fieldkit may have written it since
                settings = SealedSettings(
                    {**self._settings.meta, key: value}, self._settings.devices
                )
                self._write_settings(settings)
                self._settings = settings

    def _secret(self, key: str) -> bytes | None:
        raw = self.meta(key)
        if raw is None:
            return None
        return self._secrets.open(bytes.fromhex(raw), aad_for("meta", "value", key))

    def set_secret(self, key: str, value: bytes) -> None:
        """Store a sealed profile secret (a sync token, a user key)."""
        sealed = self._secrets.seal(value, aad_for("meta", "value", key))
        self.set_meta(key, sealed.hex())

    def secret(self, key: str) -> bytes | None:
        """Open a sealed profile secret."""
        return self._secret(key)

    def set_sealed_blob(self, key: str, value: bytes) -> None:
        """Keep derived data (the dashboard's rows) sealed as one BLOB, bound to its key."""
        sealed = self._secrets.seal(value, aad_for("sealed_cache", "value", key))
        with self.transaction():
            self._conn.execute(
                "INSERT INTO sealed_cache (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, sealed),
            )
            self._conn.execute("DELETE FROM meta WHERE key=?", (key,))  # its older hex form

    def sealed_blob(self, key: str) -> bytes | None:
        """Open derived data kept by `set_sealed_blob` (None if there is none)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM sealed_cache WHERE key=?", (key,)
            ).fetchone()
        if row is None:
            return None
        return self._secrets.open(bytes(row[0]), aad_for("sealed_cache", "value", key))

    @property
    def device_box_key(self) -> X25519PrivateKey:
        """This device's X25519 key (case keys are wrapped to it)."""
        raw = self._secret("device_box_key")
        if raw is None:
            raise StoreError(_("this profile has no device key"))
        return X25519PrivateKey.from_private_bytes(raw)

    @property
    def device_sign_key(self) -> Ed25519PrivateKey:
        """This device's signing key."""
        if self._sign_key is None:
            raise StoreLocked(LOCKED)
        return self._sign_key

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One durable SQLite transaction; nested calls join the outer one."""
        return _Transaction(self)

    def _undo(self) -> None:
        """After a failed transaction: the chain head as before, no kept states (they may
        hold what the rollback undoes), and the rollback."""
        self._kept_states.clear()
        self._kept_cases.clear()
        self._kept_mark = None
        with suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")


class _Transaction:
    """`StoreBase.transaction`: a class rather than a generator context, as every save
    enters one. The store's lock is held from the BEGIN to the COMMIT or ROLLBACK; the
    outbox listeners are called after the commit, outside it."""

    __slots__ = ("_outer", "_saved", "_store")

    def __init__(self, store: StoreBase) -> None:
        self._store = store
        self._outer = False
        self._saved: tuple[int, str] = (0, "")

    def __enter__(self) -> sqlite3.Connection:
        store = self._store
        store._lock.acquire()
        if store._depth:
            store._depth += 1
            return store._conn
        self._outer = True
        self._saved = (store._seq, store._head)
        store._outbox_touched = False
        try:
            store._conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            store._lock.release()
            if isinstance(exc, sqlite3.DatabaseError):
                raise store_error(exc, store.path) from None
            raise
        store._depth = 1
        return store._conn

    def _failed(self, exc: BaseException) -> None:
        """Undo the transaction; a SQLite failure is raised as the profile's one-line error."""
        store = self._store
        store._seq, store._head = self._saved
        store._undo()
        if isinstance(exc, sqlite3.DatabaseError):
            raise store_error(exc, store.path) from None

    def __exit__(self, kind: Any, exc: BaseException | None, trace: Any) -> None:
        store = self._store
        if not self._outer:
            store._depth -= 1
            store._lock.release()
            return
        try:
            if exc is None:
                try:
                    store._conn.execute("COMMIT")
                except BaseException as failure:
                    self._failed(failure)
                    raise
            else:
                self._failed(exc)
                return  # the body's own exception goes on
            touched, store._outbox_touched = store._outbox_touched, False
        finally:
            store._depth = 0
            store._lock.release()
        if touched:  # committed; outside the lock, so a listener may read at once
            for listener in list(store.outbox_listeners):
                listener()
