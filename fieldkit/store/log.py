"""The change log: writing signed ops and folding them, ingesting other devices' ops, the
outbox and what the server refused, when the server received each op, and the devices this
profile knows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import GENESIS, OP_COLUMNS, OP_SELECT, Op, OpMeta, WholePut, uuid7
from fieldkit.crypto import (
    Ed25519PrivateKey,
    X25519PrivateKey,
    aad_for,
)
from fieldkit.integrity import SealedSettings, device_entry
from fieldkit.store.entities import ENCODE, EntityStore
from fieldkit.store.schema import LATEST_HLC, hashes_to_bytes, hex_of, op_row, ops_from_rows

SYNC_LOCAL = "local"  # in the outbox, waiting for the server
SYNC_ACKED = "acked"  # the server acknowledged this exact op
SYNC_REMOTE = "remote"  # pulled from the server
SYNC_QUARANTINED = "quarantined"  # refused by the server, kept with its reason
SYNC_CARRIED = "carried"  # an old device's op, written again on this profile's new device

RECEIPTS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS op_receipts ( op_id TEXT PRIMARY KEY, received_ms INTEGER NOT NULL)"
)
"""The server's receipt time of ops (time evidence): op ids and times, nothing sensitive;
made on first use."""

INSERT_OP = (
    f"INSERT INTO ops ({OP_SELECT}, sync_state) VALUES ({', '.join('?' * (len(OP_COLUMNS) + 1))})"
)
"""One op and its sync state (`schema.op_row` then the state)."""


VALUES_IN_BODY_FROM = 512
"""Bytes of a save's body from which its values are read from the body alone, not kept in
the entity's doc as well (`entities.pack_state`)."""


class LogStore(EntityStore):
    """The signed op log of this profile."""

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
        key = (case_id, entity, entity_id)
        with self.transaction():
            kept, dropped = self._take_state(key)
            whole = None  # the kept state, when this put sets every field it holds
            current: dict[str, Any] | None
            if isinstance(kept, WholePut):
                if (
                    values is not None
                    and action == "put"
                    and not extra
                    and kept.sets_every_field(values)
                ):
                    whole, current = kept, None
                else:
                    current = kept.state()
            else:
                current = kept
            body: dict[str, Any] = dict(extra) if extra else {}
            if whole is not None and values is not None:
                plain = whole.body_json(values, ENCODE).encode()  # `ENCODE(body)`, below
            else:
                if values is not None:
                    body["set"] = values
                    # each field's base: its heads (`changelog.head_ops`)
                    body["base"] = changelog.fresh_base(current, values) if current else {}
                plain = ENCODE(body).encode()
            key_id, sealer = self.case_sealer(case_id, create=True)
            op_id = uuid7()
            prev = self._head
            op = changelog.signed_op(
                op_id,
                self.device_id,
                self._seq + 1,
                self.clock.now(),
                self.user,
                case_id,
                entity,
                entity_id,
                action,
                key_id,
                sealer.seal(plain, aad_for("ops", "body", op_id)),
                prev,
                None if self.plaintext else self._sign_key or self.device_sign_key,
            )
            self._outbox_touched = True
            rowid = self._conn.execute(
                INSERT_OP,
                (
                    op_id,
                    op.device_id,
                    op.seq,
                    op.hlc,
                    op.author,
                    case_id,
                    entity,
                    entity_id,
                    action,
                    key_id,
                    op.body,
                    bytes.fromhex(prev),
                    bytes.fromhex(op.hash),
                    op.sig,
                    SYNC_LOCAL,
                ),
            ).lastrowid
            # A small body's values are kept in the doc too: reading them from the body
            # would cost a view a second opening for a few bytes saved.
            main = (rowid or 0, op_id) if len(plain) >= VALUES_IN_BODY_FROM else None
            state = self._fold_own(current, whole, op, values, body, main is not None)
            self._save_state(case_id, entity, entity_id, state, sealer, key_id, main, not dropped)
            self._seq, self._head = op.seq, op.hash
        self._keep_state(key, state)
        return op

    @staticmethod
    def _fold_own(
        current: dict[str, Any] | None,
        whole: WholePut | None,
        op: Op,
        values: dict[str, Any] | None,
        body: dict[str, Any],
        values_in_body: bool,
    ) -> dict[str, Any] | WholePut:
        """The state a save's own op folds to: as a `WholePut` where its body holds the
        values of every field (`pack_whole` writes its doc), else the state itself
        (`changelog.fresh_put` where it gives `apply`'s result, else `apply`)."""
        if whole is not None and values is not None:
            folded = whole.then(values, op.op_id, op.hlc, op.device_id, op.author)
            return folded if values_in_body else folded.state()
        state = None
        if current is not None and values is not None and op.action == "put":
            state = changelog.fresh_put(
                current, op.op_id, op.hlc, op.device_id, op.author, values, body["base"]
            )
        if state is None:
            meta = OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action)
            state = changelog.apply(current, meta, body)
        if values_in_body and values is not None and op.action == "put":
            return WholePut.of(state, values) or state
        return state

    def _migrate_rows(self, step: int) -> None:
        """Schema 5: op hashes as raw bytes (`schema.hashes_to_bytes`)."""
        super()._migrate_rows(step)
        if step == 5:
            hashes_to_bytes(self._conn)

    def sign(self, case_id: str, entity: str, entity_id: str, content: dict[str, Any]) -> Op:
        """The sign op: binds the record to its content's hash, so a later change shows."""
        return self.record(
            case_id,
            entity,
            entity_id,
            action="sign",
            extra={"content_hash": changelog.content_hash(content)},
        )

    def _insert_op(self, op: Op, sync_state: str) -> int:
        """Keep an op (its hashes as raw bytes, `schema.op_row`); its rowid."""
        if sync_state == SYNC_LOCAL:
            self._outbox_touched = True
        cursor = self._conn.execute(INSERT_OP, (*op_row(op), sync_state))
        return int(cursor.lastrowid or 0)

    def ingest(self, op: Op, sync_state: str = SYNC_REMOTE) -> bool:
        """Fold an op from another device (already verified); False when already present."""
        with self.transaction():
            exists = self._conn.execute("SELECT 1 FROM ops WHERE op_id=?", (op.op_id,)).fetchone()
            if exists:
                return False
            body = self.open_body(op)
            self._insert_op(op, sync_state)
            current = self._load_state(op.case_id, op.entity, op.entity_id)
            state = changelog.apply(
                current, OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action), body
            )
            key_id, sealer = self.case_sealer(op.case_id)
            self._save_state(op.case_id, op.entity, op.entity_id, state, sealer, key_id)
            self.clock.observe(op.hlc)
        return True

    def ingest_many(
        self,
        ops: Sequence[Op],
        sync_state: str = SYNC_REMOTE,
        folded: dict[tuple[str, str, str], dict[str, Any]] | None = None,
    ) -> list[Op]:
        """Fold a page of other devices' ops (already verified) of one case: each entity's
        state is read and written once, not once per op, and the ops go in with one
        statement. Every body is opened before anything is written, so a key that does
        not open them changes nothing. The ops that were new; `folded` receives each
        written entity's state, so a caller need not read and decrypt it again."""
        with self.transaction():
            have = {
                r[0]
                for r in self._conn.execute(
                    "SELECT op_id FROM ops WHERE op_id IN (SELECT value FROM json_each(?))",
                    (json.dumps([op.op_id for op in ops]),),
                )
            }
            fresh: list[Op] = []
            for op in ops:
                if op.op_id not in have:
                    have.add(op.op_id)
                    fresh.append(op)
            bodies = [self.open_body(op) for op in fresh]
            if fresh and sync_state == SYNC_LOCAL:
                self._outbox_touched = True
            self._conn.executemany(INSERT_OP, [(*op_row(op), sync_state) for op in fresh])
            states: dict[tuple[str, str, str], dict[str, Any] | None] = {}
            for op, body in zip(fresh, bodies, strict=True):
                key = (op.case_id, op.entity, op.entity_id)
                if key not in states:
                    states[key] = self._load_state(*key)
                states[key] = changelog.apply(
                    states[key], OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action), body
                )
            if fresh:  # the clock moves past the page's latest timestamp, once
                self.clock.observe(max((op.hlc for op in fresh), key=changelog.parse_hlc))
            for (case_id, entity, entity_id), state in states.items():
                if state is not None:
                    key_id, sealer = self.case_sealer(case_id)
                    self._save_state(case_id, entity, entity_id, state, sealer, key_id)
                    if folded is not None:
                        folded[(case_id, entity, entity_id)] = state
        return fresh

    def open_body(self, op: Op, sealer: Any | None = None) -> dict[str, Any]:
        """Decrypt an op's body with the case key it names (`op.key_id`)."""
        if sealer is None:
            sealer = self.key_sealer(op.case_id, op.key_id)
        body: dict[str, Any] = json.loads(sealer.open(op.body, aad_for("ops", "body", op.op_id)))
        return body

    def ops(self, sync_state: str | None = None, limit: int | None = None) -> list[Op]:
        """Ops in the order they were written on each device."""
        sql = f"SELECT {OP_SELECT} FROM ops"
        args: list[Any] = []
        if sync_state is not None:
            sql += " WHERE sync_state=?"
            args.append(sync_state)
        sql += " ORDER BY device_id, seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return ops_from_rows(rows)

    def own_ops(self, after: int = 0, sync_state: str | None = None) -> list[Op]:
        """This device's ops after position `after` (all: 0), in chain order; with
        `sync_state`, only those in it. Other devices' ops are not read."""
        sql = f"SELECT {OP_SELECT} FROM ops WHERE device_id=? AND seq>?"
        args: list[Any] = [self.device_id, after]
        if sync_state is not None:
            sql += " AND sync_state=?"
            args.append(sync_state)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        return ops_from_rows(rows)

    def own_hash_at(self, seq: int) -> str | None:
        """The hash of this device's op at position `seq` (None if it has none there): what
        a server's receipt for that head must name."""
        with self._lock:
            row = self._conn.execute(
                "SELECT hash FROM ops WHERE device_id=? AND seq=?", (self.device_id, seq)
            ).fetchone()
        return None if row is None else hex_of(row[0])

    def op_ids(self, sync_state: str) -> set[str]:
        """The ids of the ops in one sync state (no op read whole: a check before a push
        needs only which ops are pending)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT op_id FROM ops WHERE sync_state=?", (sync_state,)
            ).fetchall()
        return {row[0] for row in rows}

    def log_mark(self) -> str:
        """Changes whenever the log does: how many ops, and the latest timestamp."""
        with self._lock:
            count = self._conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            latest = self._conn.execute(LATEST_HLC).fetchone()[0]
        return f"{count}:{latest}"

    def change_mark(self) -> int:
        """Grows with every op written or received (the log's rowid high-water mark);
        every change to an entity comes with an op, so an equal mark means no change."""
        with self._lock:
            row = self._conn.execute("SELECT max(rowid) FROM ops").fetchone()
        return int(row[0] or 0)

    def cases_changed_since(self, mark: int) -> set[str]:
        """The cases with an op written or received after `change_mark()` was `mark`."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT case_id FROM ops WHERE rowid > ?", (mark,)
            ).fetchall()
        return {r[0] for r in rows}

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
            self._outbox_touched = True
            self._conn.executemany(
                "UPDATE ops SET sync_state=? WHERE op_id=? AND sync_state=?",
                [(SYNC_ACKED, op_id, SYNC_LOCAL) for op_id in op_ids],
            )

    def quarantine(self, op_id: str, reason: str) -> None:
        """The server refused this op: keep it, visibly, with the reason."""
        with self.transaction():
            self._outbox_touched = True
            self._conn.execute(
                "UPDATE ops SET sync_state=?, note=? WHERE op_id=?",
                (SYNC_QUARANTINED, reason, op_id),
            )

    def requeue(self, op_ids: list[str]) -> None:
        """Refused ops whose cause has gone back into the outbox, to be sent again."""
        with self.transaction():
            self._outbox_touched = True
            self._conn.executemany(
                "UPDATE ops SET sync_state=?, note=NULL WHERE op_id=? AND sync_state=?",
                [(SYNC_LOCAL, op_id, SYNC_QUARANTINED) for op_id in op_ids],
            )

    def record_receipts(self, received: Iterable[tuple[str, int]]) -> None:
        """Keep the server's receipt time of ops (the first stamp wins: a resend is not news)."""
        rows = [(op_id, int(ms)) for op_id, ms in received if ms]
        if not rows:
            return
        with self.transaction():
            self._conn.execute(RECEIPTS_SCHEMA)
            self._conn.executemany(
                "INSERT INTO op_receipts (op_id, received_ms) VALUES (?, ?)"
                " ON CONFLICT(op_id) DO NOTHING",
                rows,
            )

    def receipt_ms(self, op_id: str) -> int | None:
        """When the server received this op (ms since the epoch), if this laptop has heard."""
        with self.transaction():
            self._conn.execute(RECEIPTS_SCHEMA)
            row = self._conn.execute(
                "SELECT received_ms FROM op_receipts WHERE op_id=?", (op_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def mark_carried(self, op_ids: list[str]) -> None:
        """Old-device ops now carried by new ones (fieldkit.sync.carryover): kept, not sent."""
        with self.transaction():
            self._outbox_touched = True
            self._conn.executemany(
                "UPDATE ops SET sync_state=? WHERE op_id=? AND sync_state IN (?, ?)",
                [(SYNC_CARRIED, op_id, SYNC_LOCAL, SYNC_QUARANTINED) for op_id in op_ids],
            )

    def new_device(self) -> str:
        """Give this profile a new device id and keys (a restored laptop re-enrolling);
        the old device's key stays known, so its ops still verify. Returns the old id."""
        old = self.device_id
        sign_key = Ed25519PrivateKey.generate()
        box_key = X25519PrivateKey.generate()
        device_id = uuid7()
        with self.transaction():
            self._conn.execute(
                "INSERT INTO devices (device_id, user, sign_pub, box_pub) VALUES (?,?,?,?)",
                (
                    device_id,
                    self.user,
                    sign_key.public_key().public_bytes_raw(),
                    box_key.public_key().public_bytes_raw(),
                ),
            )
            self.set_meta("device_id", device_id)
            self.set_meta("device_sign_pub", sign_key.public_key().public_bytes_raw().hex())
            self.set_meta("device_box_pub", box_key.public_key().public_bytes_raw().hex())
            self.set_secret("device_sign_key", sign_key.private_bytes_raw())
            self.set_secret("device_box_key", box_key.private_bytes_raw())
            self._conn.execute("DELETE FROM meta WHERE key='sync_receipt'")
        self.device_id, self._sign_key = device_id, sign_key
        self._seq, self._head = 0, GENESIS
        return old

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
        self.add_devices([(device_id, user, sign_pub, box_pub)])

    def add_devices(self, devices: Iterable[tuple[str, str, bytes, bytes | None]]) -> None:
        """Know other devices' public keys (device, user, signing key, box key), sealing the
        record once: a first sync in a 3,000-laptop agency sealed a growing list per device."""
        with self.transaction():
            known = {**self._settings.devices}
            for device_id, user, sign_pub, box_pub in devices:
                self._conn.execute(
                    "INSERT INTO devices (device_id, user, sign_pub, box_pub) VALUES (?,?,?,?)"
                    " ON CONFLICT(device_id) DO NOTHING",
                    (device_id, user, sign_pub, box_pub),
                )
                if device_id not in known:
                    known[device_id] = device_entry(user, sign_pub, box_pub)
            if len(known) != len(self._settings.devices):
                settings = SealedSettings(self._settings.meta, known)
                self._write_settings(settings)
                self._settings = settings

    def device_keys(self) -> dict[str, bytes]:
        """device_id → Ed25519 public key bytes, from the sealed record (never the clear rows)."""
        return {
            dev: bytes.fromhex(str(entry["sign_pub"]))
            for dev, entry in self._settings.devices.items()
        }
