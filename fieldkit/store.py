"""The encrypted local store: one SQLite file per profile, state folded from signed ops.

Everything sensitive is sealed before it reaches SQLite: entity documents and op bodies
with the case key, drafts with the case key, device secrets with a subkey of the master
key. In the clear, on purpose: ids, entity kinds, statuses and dates (THREAT_MODEL.md).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import GENESIS, HybridClock, Op, OpMeta, uuid7
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
    ed25519_public_from_bytes,
    hkdf,
    open_passphrase_slot,
    open_recovery_slot,
    passphrase_slot,
    random_key,
    recovery_slot,
    slot_version,
    verify_signature,
)
from fieldkit.errors import ProfileMissing, StoreError
from fieldkit.hardening import private_file
from fieldkit.integrity import AUTHENTICATED_META, RECORD_KEY, SealedSettings, device_entry

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_slots (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS case_keys (
    case_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, wrapped BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, user TEXT NOT NULL, sign_pub BLOB NOT NULL,
    box_pub BLOB, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ops (
    op_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL,
    hlc TEXT NOT NULL, author TEXT NOT NULL, case_id TEXT NOT NULL, entity TEXT NOT NULL,
    entity_id TEXT NOT NULL, action TEXT NOT NULL, key_id TEXT NOT NULL, body BLOB NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL, sig BLOB NOT NULL,
    sync_state TEXT NOT NULL DEFAULT 'local', note TEXT,
    UNIQUE (device_id, seq));
CREATE INDEX IF NOT EXISTS ops_sync ON ops (sync_state);
CREATE INDEX IF NOT EXISTS ops_case ON ops (case_id);
CREATE TABLE IF NOT EXISTS entities (
    case_id TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
    status TEXT, date TEXT, deleted INTEGER NOT NULL DEFAULT 0, doc BLOB NOT NULL,
    view BLOB,
    PRIMARY KEY (case_id, entity, entity_id));
CREATE TABLE IF NOT EXISTS drafts (
    draft_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, updated TEXT NOT NULL, doc BLOB NOT NULL);
"""

SYNC_LOCAL = "local"  # in the outbox, waiting for the server
SYNC_ACKED = "acked"  # the server acknowledged this exact op
SYNC_REMOTE = "remote"  # pulled from the server
SYNC_QUARANTINED = "quarantined"  # refused by the server, kept with its reason


class _ClearSealer:
    """No encryption: only for the benchmark's plaintext baseline (`bench/store.py`)."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        return plaintext

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        return sealed


@dataclass
class EntityState:
    """One folded entity: its values, and the raw fold state for conflicts and signatures."""

    case_id: str
    entity: str
    entity_id: str
    state: dict[str, Any]
    status: str | None = None
    date: str | None = None

    @property
    def fields(self) -> dict[str, Any]:
        """Current value of each field."""
        return changelog.values(self.state)

    @property
    def deleted(self) -> bool:
        """Tombstoned by a delete op."""
        return self.state.get("deleted") is not None

    @property
    def signed(self) -> dict[str, Any] | None:
        """The sign mark, if signed: who, when, and the content hash signed."""
        mark: dict[str, Any] | None = self.state.get("signed")
        return mark

    @property
    def altered_after_signing(self) -> bool:
        """A concurrent edit from another device reached a signed record: show it, never hide."""
        mark = self.signed
        signed_hash = mark.get("v") if mark else None
        return bool(signed_hash) and changelog.content_hash(self.fields) != signed_hash

    def conflicts(self) -> list[changelog.FieldConflict]:
        """Concurrent versions of its fields."""
        return changelog.conflicts(self.entity, self.entity_id, self.state)


@dataclass
class EntityView:
    """What screens and rules read of an entity: its values and marks, without the fold state.

    Kept sealed beside the fold state so opening a caseload decodes a fraction of the bytes.
    """

    case_id: str
    entity: str
    entity_id: str
    fields: dict[str, Any]
    signed: bool
    altered_after_signing: bool
    critical_conflicts: int
    status: str | None = None
    date: str | None = None

    @classmethod
    def of(cls, ent: EntityState) -> EntityView:
        """The view of a folded entity."""
        return cls(
            ent.case_id,
            ent.entity,
            ent.entity_id,
            ent.fields,
            ent.signed is not None,
            ent.altered_after_signing,
            sum(1 for c in ent.conflicts() if c.critical),
            ent.status,
            ent.date,
        )


@dataclass
class VerifyProblem:
    """The first thing wrong with one device's chain, named so a person can find it."""

    op_id: str
    device_id: str
    seq: int
    message: str


@dataclass
class VerifyReport:
    """What `fieldkit verify` found."""

    ops: int = 0
    devices: int = 0
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


# The only words the clear status column may hold: any other value (a transfer file's own
# `status` key, free text) stays sealed in the entity and the column stays empty.
CLEAR_STATUSES = frozenset(
    {
        "pending",
        "phone-approved",
        "approved",
        "rejected",
        "returned",
        "confirmed",
        "open",
        "closed",
        "active",
        "draft",
        "signed",
        "done",
    }
)
_CLEAR_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def clear_columns(entity: str, fields: dict[str, Any]) -> tuple[str | None, str | None]:
    """The status and date kept in the clear so the app can schedule without decrypting."""
    status = fields.get("status") or fields.get("approval") or fields.get("decision")
    day = (
        fields.get("date")
        or fields.get("opened")
        or fields.get("completed")
        or fields.get("created")
    )
    clear_status = status if isinstance(status, str) and status in CLEAR_STATUSES else None
    clear_day = str(day)[:10] if day else None
    return clear_status, clear_day if clear_day and _CLEAR_DAY.fullmatch(clear_day) else None


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
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
        self._seq: int = 0
        self._head: str = GENESIS
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
        self._head = row[1] if row else GENESIS
        last = conn.execute("SELECT max(hlc) FROM ops").fetchone()[0]
        self.clock = HybridClock(last)

    # --- opening and creating ----------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                str(path), timeout=3.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(SCHEMA)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(entities)")}
            if "view" not in columns:
                conn.execute("ALTER TABLE entities ADD COLUMN view BLOB")
        except sqlite3.DatabaseError as exc:
            raise _store_error(exc, path) from None
        return conn

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
    ) -> Store:
        """A new profile: random master key, passphrase and recovery slots, device keys.

        `benchmark_plaintext` makes a profile that seals and signs nothing, for the
        benchmark's baseline only; no command offers it and `verify` fails on it.
        """
        if path.exists():
            raise StoreError(f"a profile already exists at {path}; open it or choose another")
        if not passphrase:
            raise StoreError("the passphrase is empty; choose one of at least 8 characters")
        private_file(path)  # 0600 in a 0700 directory, before SQLite creates it
        master = random_key()
        conn = cls._connect(path)
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
                (RECORD_KEY, secrets.seal(record.to_bytes(), _RECORD_AAD).hex()),
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
    def open(cls, path: Path, passphrase: str) -> Store:
        """Unlock a profile with the worker's passphrase; wrong passphrase writes nothing."""
        conn = cls._open_existing(path)
        for slot in cls._slots(conn, "passphrase"):
            try:
                master = open_passphrase_slot(slot, passphrase)
            except WrongPassphrase:
                continue
            store = cls._opened(path, conn, master, slot_version(slot))
            if slot_version(slot) < 2:  # made before sealed settings: upgrade the slot
                store.change_passphrase(passphrase, argon_params(slot))
            return store
        conn.close()
        raise WrongPassphrase(
            "wrong passphrase for this profile; try again (ask your agency's IT lead to "
            "recover the profile if it is forgotten)"
        )

    @classmethod
    def open_with_recovery(cls, path: Path, private: X25519PrivateKey) -> Store:
        """Unlock with the agency's recovery key (to reset a forgotten passphrase)."""
        conn = cls._open_existing(path)
        for slot in cls._slots(conn, "recovery"):
            try:
                master = open_recovery_slot(slot, private)
            except CryptoError:
                continue
            return cls._opened(path, conn, master, slot_version(slot))
        conn.close()
        raise WrongPassphrase("this recovery key does not open the profile")

    @classmethod
    def _opened(cls, path: Path, conn: sqlite3.Connection, master: bytes, slot_v: int) -> Store:
        try:
            return cls(path, conn, master, slot_v)
        except BaseException:
            conn.close()
            raise

    def _load_settings(self, slot_v: int) -> SealedSettings:
        """The sealed settings record; built once from clear rows for a pre-record profile."""
        raw = self._clear_meta().get(RECORD_KEY)
        if raw is None:
            if slot_v >= 2:
                raise StoreError(
                    f"{self.path.name}: the sealed settings record is missing, so the "
                    "profile was altered outside fieldkit; restore it from a backup"
                )
            settings = SealedSettings.from_clear(self._clear_meta(), self._clear_devices())
            self._write_settings(settings)
            return settings
        try:
            return SealedSettings.from_bytes(self._secrets.open(bytes.fromhex(raw), _RECORD_AAD))
        except (CryptoError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{self.path.name}: the sealed settings record does not open, so the "
                "profile was altered outside fieldkit; restore it from a backup"
            ) from exc

    def _write_settings(self, settings: SealedSettings) -> None:
        sealed = self._secrets.seal(settings.to_bytes(), _RECORD_AAD).hex()
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

    @classmethod
    def _open_existing(cls, path: Path) -> sqlite3.Connection:
        if not path.exists():
            raise ProfileMissing(f"no fieldkit profile at {path}; create one with `fieldkit init`")
        try:
            conn = sqlite3.connect(
                f"file:{path}?mode=rw",
                uri=True,
                timeout=3.0,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA temp_store=MEMORY")
            if (
                conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name='key_slots'"
                ).fetchone()[0]
                != 1
            ):
                conn.close()
                raise StoreError(f"{path} is not a fieldkit profile")
            columns = {r[1] for r in conn.execute("PRAGMA table_info(entities)")}
            if "view" not in columns:  # a profile made before entity views were kept
                conn.execute("ALTER TABLE entities ADD COLUMN view BLOB")
        except sqlite3.DatabaseError as exc:
            raise _store_error(exc, path) from None
        return conn

    @staticmethod
    def _slots(conn: sqlite3.Connection, kind: str) -> list[KeySlot]:
        rows = conn.execute("SELECT data FROM key_slots WHERE kind=?", (kind,)).fetchall()
        return [KeySlot.from_json(json.loads(r[0])) for r in rows]

    def change_passphrase(self, new_passphrase: str, argon: dict[str, int] | None = None) -> None:
        """Rewrap the master key under a new passphrase; no data is re-encrypted."""
        if not new_passphrase:
            raise StoreError("the new passphrase is empty; nothing changed")
        slot = passphrase_slot(self._require_master(), new_passphrase, argon)
        with self.transaction():
            self._conn.execute("DELETE FROM key_slots WHERE kind='passphrase'")
            self._conn.execute(
                "INSERT INTO key_slots (kind, data) VALUES (?, ?)",
                (slot.kind, json.dumps(slot.to_json())),
            )

    def lock(self) -> None:
        """Drop every key from memory and close the file (idle timeout, lock key)."""
        with self._lock:
            self._master = None
            self._sign_key = None
            self._case_sealers.clear()
            self._secrets = _ClearSealer()  # type: ignore[assignment]
            self._case_wrap = _ClearSealer()  # type: ignore[assignment]
            self._conn.close()

    close = lock

    def checkpoint(self) -> None:
        """Fold the WAL into the main file."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _require_master(self) -> bytes:
        if self._master is None:
            raise StoreError("the profile is locked; unlock it first")
        return self._master

    # --- meta and secrets --------------------------------------------------------------

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

    @property
    def device_box_key(self) -> X25519PrivateKey:
        """This device's X25519 key (case keys are wrapped to it)."""
        raw = self._secret("device_box_key")
        if raw is None:
            raise StoreError("this profile has no device key")
        return X25519PrivateKey.from_private_bytes(raw)

    @property
    def device_sign_key(self) -> Ed25519PrivateKey:
        """This device's signing key."""
        if self._sign_key is None:
            raise StoreError("the profile is locked; unlock it first")
        return self._sign_key

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable SQLite transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            saved = (self._seq, self._head)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _store_error(exc, self.path) from None
            self._depth = 1
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._seq, self._head = saved
                with suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise _store_error(exc, self.path) from None
                raise
            finally:
                self._depth = 0

    # --- case keys ---------------------------------------------------------------------

    def case_sealer(self, case_id: str, create: bool = False) -> tuple[str, Any]:
        """(key_id, sealer) of the case key; a new random key when `create`."""
        cached = self._case_sealers.get(case_id)
        if cached:
            return cached
        with self._lock:
            row = self._conn.execute(
                "SELECT key_id, wrapped FROM case_keys WHERE case_id=?", (case_id,)
            ).fetchone()
        if row is None:
            if not create:
                raise StoreError(f"no key for case {case_id} on this device")
            key = random_key()
            key_id = f"{case_id}#{uuid7()[:13]}"
            self.put_case_key(case_id, key_id, key)
        else:
            key_id = row[0]
            key = self._case_wrap.open(row[1], aad_for("case_keys", "wrapped", case_id))
        sealer: Any = _ClearSealer() if self.plaintext else Sealer(key)
        self._case_sealers[case_id] = (key_id, sealer)
        return key_id, sealer

    def put_case_key(self, case_id: str, key_id: str, key: bytes) -> None:
        """Keep a case key (new, or received from the case team through sync)."""
        wrapped = self._case_wrap.seal(key, aad_for("case_keys", "wrapped", case_id))
        with self.transaction():
            self._conn.execute(
                "INSERT INTO case_keys (case_id, key_id, wrapped) VALUES (?,?,?) "
                "ON CONFLICT(case_id) DO UPDATE SET key_id=excluded.key_id, "
                "wrapped=excluded.wrapped",
                (case_id, key_id, wrapped),
            )
        self._case_sealers.pop(case_id, None)

    def case_key(self, case_id: str) -> tuple[str, bytes]:
        """The raw case key (to wrap it to the case team for sync)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT key_id, wrapped FROM case_keys WHERE case_id=?", (case_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no key for case {case_id} on this device")
        return row[0], self._case_wrap.open(row[1], aad_for("case_keys", "wrapped", case_id))

    # --- writing ops -------------------------------------------------------------------

    def record(
        self,
        case_id: str,
        entity: str,
        entity_id: str,
        values: dict[str, Any] | None = None,
        action: str = "put",
        extra: dict[str, Any] | None = None,
    ) -> Op:
        """Write one signed op and the state it produces, in one durable transaction."""
        with self.transaction():
            current = self._load_state(case_id, entity, entity_id)
            body: dict[str, Any] = dict(extra or {})
            if values is not None:
                body["set"] = values
                body["base"] = (
                    {name: changelog.head_ops(current, name) for name in values} if current else {}
                )
            key_id, sealer = self.case_sealer(case_id, create=True)
            op_id = uuid7()
            plain = json.dumps(body, separators=(",", ":"), default=str).encode()
            op = Op(
                op_id=op_id,
                device_id=self.device_id,
                seq=self._seq + 1,
                hlc=self.clock.now(),
                author=self.user,
                case_id=case_id,
                entity=entity,
                entity_id=entity_id,
                action=action,
                key_id=key_id,
                body=sealer.seal(plain, aad_for("ops", "body", op_id)),
                prev_hash=self._head,
            ).with_hash()
            if not self.plaintext:
                op = replace(op, sig=self.device_sign_key.sign(op.hash.encode()))
            self._insert_op(op, SYNC_LOCAL)
            state = changelog.apply(
                current, OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action), body
            )
            self._save_state(case_id, entity, entity_id, state, sealer)
            self._seq, self._head = op.seq, op.hash
        return op

    def _insert_op(self, op: Op, sync_state: str) -> None:
        self._conn.execute(
            "INSERT INTO ops (op_id, device_id, seq, hlc, author, case_id, entity, entity_id,"
            " action, key_id, body, prev_hash, hash, sig, sync_state)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                op.op_id,
                op.device_id,
                op.seq,
                op.hlc,
                op.author,
                op.case_id,
                op.entity,
                op.entity_id,
                op.action,
                op.key_id,
                op.body,
                op.prev_hash,
                op.hash,
                op.sig,
                sync_state,
            ),
        )

    def ingest(self, op: Op, sync_state: str = SYNC_REMOTE) -> bool:
        """Fold an op from another device (already verified); False when already present."""
        with self.transaction():
            exists = self._conn.execute("SELECT 1 FROM ops WHERE op_id=?", (op.op_id,)).fetchone()
            if exists:
                return False
            _, sealer = self.case_sealer(op.case_id)
            body = self.open_body(op, sealer)
            self._insert_op(op, sync_state)
            current = self._load_state(op.case_id, op.entity, op.entity_id)
            state = changelog.apply(
                current, OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action), body
            )
            self._save_state(op.case_id, op.entity, op.entity_id, state, sealer)
            self.clock.observe(op.hlc)
        return True

    def open_body(self, op: Op, sealer: Any | None = None) -> dict[str, Any]:
        """Decrypt an op's body with its case key."""
        if sealer is None:
            _, sealer = self.case_sealer(op.case_id)
        body: dict[str, Any] = json.loads(sealer.open(op.body, aad_for("ops", "body", op.op_id)))
        return body

    # --- reading state -----------------------------------------------------------------

    def _row_id(self, case_id: str, entity: str, entity_id: str) -> str:
        return f"{case_id}/{entity}/{entity_id}"

    def _load_state(self, case_id: str, entity: str, entity_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc FROM entities WHERE case_id=? AND entity=? AND entity_id=?",
            (case_id, entity, entity_id),
        ).fetchone()
        if row is None:
            return None
        _, sealer = self.case_sealer(case_id)
        state: dict[str, Any] = json.loads(
            sealer.open(
                row[0], aad_for("entities", "doc", self._row_id(case_id, entity, entity_id))
            )
        )
        return state

    def _save_state(
        self, case_id: str, entity: str, entity_id: str, state: dict[str, Any], sealer: Any
    ) -> None:
        status, day = clear_columns(entity, changelog.values(state))
        doc = sealer.seal(
            json.dumps(state, separators=(",", ":"), default=str).encode(),
            aad_for("entities", "doc", self._row_id(case_id, entity, entity_id)),
        )
        row_id = self._row_id(case_id, entity, entity_id)
        view = EntityView.of(EntityState(case_id, entity, entity_id, state))
        packed = json.dumps(
            [view.fields, view.signed, view.altered_after_signing, view.critical_conflicts],
            separators=(",", ":"),
            default=str,
        ).encode()
        sealed_view = sealer.seal(packed, aad_for("entities", "view", row_id))
        self._conn.execute(
            "INSERT INTO entities (case_id, entity, entity_id, status, date, deleted, doc, view)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(case_id, entity, entity_id) DO UPDATE SET"
            " status=excluded.status, date=excluded.date, deleted=excluded.deleted,"
            " doc=excluded.doc, view=excluded.view",
            (
                case_id,
                entity,
                entity_id,
                status,
                day,
                1 if state.get("deleted") else 0,
                doc,
                sealed_view,
            ),
        )

    def entity(self, case_id: str, entity: str, entity_id: str) -> EntityState | None:
        """One entity's folded state, or None."""
        with self._lock:
            state = self._load_state(case_id, entity, entity_id)
        if state is None:
            return None
        return EntityState(case_id, entity, entity_id, state)

    def entities(
        self, case_id: str | None = None, entity: str | None = None, include_deleted: bool = False
    ) -> list[EntityState]:
        """Folded entities of a case (or of every case), decrypted in memory."""
        sql = "SELECT case_id, entity, entity_id, status, date, doc FROM entities WHERE 1=1"
        args: list[Any] = []
        if case_id is not None:
            sql += " AND case_id=?"
            args.append(case_id)
        if entity is not None:
            sql += " AND entity=?"
            args.append(entity)
        if not include_deleted:
            sql += " AND deleted=0"
        sql += " ORDER BY case_id, entity, entity_id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        found = []
        for cid, ent, eid, status, day, doc in rows:
            _, sealer = self.case_sealer(cid)
            state = json.loads(
                sealer.open(doc, aad_for("entities", "doc", self._row_id(cid, ent, eid)))
            )
            found.append(EntityState(cid, ent, eid, state, status, day))
        return found

    def views(self, case_id: str | None = None) -> list[EntityView]:
        """Every live entity's values and marks (of one case, or all), decrypted in memory."""
        sql = "SELECT case_id, entity, entity_id, status, date, view, doc FROM entities"
        sql += " WHERE deleted=0" + (" AND case_id=?" if case_id is not None else "")
        sql += " ORDER BY case_id, entity, entity_id"
        with self._lock:
            rows = self._conn.execute(sql, (case_id,) if case_id is not None else ()).fetchall()
        found = []
        for cid, ent, eid, status, day, view, doc in rows:
            _, sealer = self.case_sealer(cid)
            row_id = self._row_id(cid, ent, eid)
            if view is None:  # written before views were kept
                state = json.loads(sealer.open(doc, aad_for("entities", "doc", row_id)))
                found.append(EntityView.of(EntityState(cid, ent, eid, state, status, day)))
                continue
            fields, signed, altered, critical = json.loads(
                sealer.open(view, aad_for("entities", "view", row_id))
            )
            found.append(EntityView(cid, ent, eid, fields, signed, altered, critical, status, day))
        return found

    def case_ids(self) -> list[str]:
        """Every case this profile holds."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id FROM entities WHERE entity='case' AND deleted=0 ORDER BY case_id"
            ).fetchall()
        return [r[0] for r in rows]

    # --- drafts ------------------------------------------------------------------------

    def save_draft(self, draft_id: str, case_id: str, data: dict[str, Any]) -> None:
        """Autosave a visit in progress, sealed with the case key."""
        _, sealer = self.case_sealer(case_id, create=True)
        doc = sealer.seal(
            json.dumps(data, separators=(",", ":"), default=str).encode(),
            aad_for("drafts", "doc", draft_id),
        )
        with self.transaction():
            self._conn.execute(
                "INSERT INTO drafts (draft_id, case_id, updated, doc) VALUES (?,?,?,?)"
                " ON CONFLICT(draft_id) DO UPDATE SET updated=excluded.updated, doc=excluded.doc",
                (draft_id, case_id, _utcnow(), doc),
            )

    def drafts(self, case_id: str | None = None) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(draft_id, case_id, updated, data) of every unfinished draft."""
        sql = "SELECT draft_id, case_id, updated, doc FROM drafts"
        args: tuple[Any, ...] = ()
        if case_id is not None:
            sql += " WHERE case_id=?"
            args = (case_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY updated DESC", args).fetchall()
        found = []
        for draft_id, cid, updated, doc in rows:
            _, sealer = self.case_sealer(cid)
            data = json.loads(sealer.open(doc, aad_for("drafts", "doc", draft_id)))
            found.append((draft_id, cid, updated, data))
        return found

    def delete_draft(self, draft_id: str) -> None:
        """Drop a draft once its visit is signed or discarded."""
        with self.transaction():
            self._conn.execute("DELETE FROM drafts WHERE draft_id=?", (draft_id,))

    # --- the log -----------------------------------------------------------------------

    def ops(self, sync_state: str | None = None, limit: int | None = None) -> list[Op]:
        """Ops in the order they were written on each device."""
        sql = (
            "SELECT op_id, device_id, seq, hlc, author, case_id, entity, entity_id, action,"
            " key_id, body, prev_hash, hash, sig FROM ops"
        )
        args: list[Any] = []
        if sync_state is not None:
            sql += " WHERE sync_state=?"
            args.append(sync_state)
        sql += " ORDER BY device_id, seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [Op(*row) for row in rows]

    def log_mark(self) -> str:
        """Changes whenever the log does: how many ops, and the latest timestamp."""
        with self._lock:
            count, latest = self._conn.execute("SELECT count(*), max(hlc) FROM ops").fetchone()
        return f"{count}:{latest}"

    def outbox_count(self) -> int:
        """Ops not yet acknowledged by the server."""
        with self._lock:
            return int(
                self._conn.execute(
                    "SELECT count(*) FROM ops WHERE sync_state=?", (SYNC_LOCAL,)
                ).fetchone()[0]
            )

    def mark_acked(self, op_ids: list[str]) -> None:
        """The server acknowledged these exact ops: they leave the outbox."""
        with self.transaction():
            self._conn.executemany(
                "UPDATE ops SET sync_state=? WHERE op_id=? AND sync_state=?",
                [(SYNC_ACKED, op_id, SYNC_LOCAL) for op_id in op_ids],
            )

    def quarantine(self, op_id: str, reason: str) -> None:
        """The server refused this op: keep it, visibly, with the reason."""
        with self.transaction():
            self._conn.execute(
                "UPDATE ops SET sync_state=?, note=? WHERE op_id=?",
                (SYNC_QUARANTINED, reason, op_id),
            )

    def quarantined(self) -> list[tuple[str, str]]:
        """(op_id, reason) of every op the server refused."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT op_id, note FROM ops WHERE sync_state=? ORDER BY hlc",
                (SYNC_QUARANTINED,),
            ).fetchall()
        return [(r[0], r[1] or "") for r in rows]

    def add_device(
        self, device_id: str, user: str, sign_pub: bytes, box_pub: bytes | None = None
    ) -> None:
        """Know another device's public keys (from the server), to verify its ops."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO devices (device_id, user, sign_pub, box_pub) VALUES (?,?,?,?)"
                " ON CONFLICT(device_id) DO NOTHING",
                (device_id, user, sign_pub, box_pub),
            )
            if device_id not in self._settings.devices:
                devices = {**self._settings.devices}
                devices[device_id] = device_entry(user, sign_pub, box_pub)
                settings = SealedSettings(self._settings.meta, devices)
                self._write_settings(settings)
                self._settings = settings

    def device_keys(self) -> dict[str, bytes]:
        """device_id → Ed25519 public key bytes, from the sealed record (never the clear rows)."""
        return {
            dev: bytes.fromhex(str(entry["sign_pub"]))
            for dev, entry in self._settings.devices.items()
        }

    # --- verification ------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Check every hash link, sequence number and signature; name the first bad op."""
        report = VerifyReport()
        if self.plaintext:
            report.problems.append(
                VerifyProblem(
                    "-", "-", 0, "this is a benchmark profile: nothing in it is sealed or signed"
                )
            )
        for line in self.settings_differences():
            report.problems.append(VerifyProblem("-", "-", 0, line))
        keys = {dev: ed25519_public_from_bytes(raw) for dev, raw in self.device_keys().items()}
        with self._lock:
            rows = self._conn.execute(
                "SELECT op_id, device_id, seq, hlc, author, case_id, entity, entity_id, action,"
                " key_id, body, prev_hash, hash, sig FROM ops ORDER BY device_id, seq, rowid"
            ).fetchall()
        current_device = None
        expected_seq, prev, broken = 1, GENESIS, False
        present: set[str] = set()
        for row in rows:
            op = Op(*row)
            present.add(op.op_id)
            report.ops += 1
            if op.device_id != current_device:
                current_device, expected_seq, prev, broken = op.device_id, 1, GENESIS, False
                report.devices += 1
            if broken:
                continue
            problem = None
            # Sync brings another device's ops only for cases this user is on, so its
            # chain here may skip positions; a skip is not a break (links still checked).
            gap = op.device_id != self.device_id and op.seq > expected_seq
            if op.compute_hash() != op.hash:
                problem = (
                    "its content does not match its hash: the op was altered or moved out of order"
                )
            elif op.seq != expected_seq and not gap:
                problem = (
                    f"it has sequence number {op.seq} where {expected_seq} was expected: "
                    "an op before it was deleted or the ops were reordered"
                )
            elif op.prev_hash != prev and not gap:
                problem = (
                    "it does not link to the op before it: an op was deleted, inserted or reordered"
                )
            elif not self.plaintext:
                key = keys.get(op.device_id)
                if key is None:
                    problem = "it was signed by a device this profile does not know"
                elif not verify_signature(key, op.sig, op.hash.encode()):
                    problem = "its signature does not verify with its device's key: forged"
            if problem:
                report.problems.append(VerifyProblem(op.op_id, op.device_id, op.seq, problem))
                broken = True
                continue
            expected_seq, prev = op.seq + 1, op.hash
        with self._lock:
            counts = {
                (r[0], r[1], r[2]): r[3]
                for r in self._conn.execute(
                    "SELECT case_id, entity, entity_id, count(*) FROM ops"
                    " GROUP BY case_id, entity, entity_id"
                )
            }
        for ent in self.entities(include_deleted=True):
            held = counts.get((ent.case_id, ent.entity, ent.entity_id), 0)
            built = int(ent.state.get("n", 0))
            last = str(ent.state.get("last", ""))
            if held < built or (last and last not in present):
                named = last if last and last not in present else "?"
                report.problems.append(
                    VerifyProblem(
                        named,
                        "?",
                        0,
                        f"{ent.entity} {ent.entity_id} of case {ent.case_id} was built from "
                        f"{built} ops but the log holds {held}: an op was deleted",
                    )
                )
        return report

    def rebuild_differences(self) -> list[str]:
        """Fold the whole log afresh and list every entity whose stored state differs."""
        rebuilt: dict[tuple[str, str, str], dict[str, Any]] = {}
        for op in sorted(self.ops(), key=lambda o: (o.hlc, o.device_id, o.op_id)):
            body = self.open_body(op)
            key = (op.case_id, op.entity, op.entity_id)
            rebuilt[key] = changelog.apply(
                rebuilt.get(key),
                OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action),
                body,
            )
        stored = {
            (e.case_id, e.entity, e.entity_id): e.state for e in self.entities(include_deleted=True)
        }
        differences = []
        for key in sorted(set(rebuilt) | set(stored)):
            if _canonical(rebuilt.get(key)) != _canonical(stored.get(key)):
                differences.append(
                    f"{key[1]} {key[2]} of case {key[0]}: stored state differs from the log"
                )
        return differences


_RECORD_AAD = aad_for("meta", "value", RECORD_KEY)


def _canonical(state: dict[str, Any] | None) -> Any:
    if state is None:
        return None
    return {
        "values": changelog.values(state),
        "heads": {k: sorted(h["op"] for h in v) for k, v in state["heads"].items()},
        "deleted": bool(state.get("deleted")),
        "signed": (state.get("signed") or {}).get("op"),
    }


def _store_error(exc: sqlite3.DatabaseError, path: Path) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the profile {path.name} is in use by another fieldkit; close it and try again"
        )
    if "full" in text:
        return StoreError("the disk is full: nothing was saved; free some space and try again")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            f"{path} is damaged or is not a fieldkit profile; restore it from a backup"
        )
    if "readonly" in text or "unable to open" in text:
        return StoreError(f"cannot write to {path}; check its permissions and free space")
    return StoreError(f"the profile store failed ({exc}); nothing was saved")
