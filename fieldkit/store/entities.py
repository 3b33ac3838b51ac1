"""Entities: the state folded from each record's ops, sealed with its case key, and the
smaller sealed view that screens and rules read."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import WholePut
from fieldkit.crypto import (
    CryptoError,
    aad_for,
)
from fieldkit.errors import StoreError
from fieldkit.store.case_keys import CaseKeyStore
from fieldkit.store.packing import (
    full_fields,
    main_op_id,
    pack_state,
    pack_whole,
    pack_with_fields,
    unpack_state,
)

# The head of a fold state as `pack_state` writes it (`{"n":3,"l":"<op id>",…`): the
# count and newest op read without parsing the rest. Anything else is parsed whole.
_COUNTS = re.compile(rb'\{"n":(\d+),"l":"([0-9A-Za-z_.:@-]*)"[,}]')


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
ENCODE = changelog.compact_encoder(default=str)
"""`json.dumps(..., separators=(",", ":"), default=str)`, the encoder built once."""
KEPT_STATES = 64
"""How many entities' fold states a store keeps in memory from its own saves (a worker
editing a visit, its contacts and notes saves the same few entities over and over)."""
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


class EntityStore(CaseKeyStore):
    """Reading and writing folded entity state."""

    def _migrate_rows(self, step: int) -> None:
        """Schema 3: every entity's state and view become one doc holding each value once."""
        super()._migrate_rows(step)
        if step != 3:
            return
        # Before schema 4 a case held one key; a profile that already names each row's key
        # (key generations made before this step existed) opens each row with its own.
        named = "key_id" in {r[1] for r in self._conn.execute("PRAGMA table_info(entities)")}
        rows = self._conn.execute(
            "SELECT case_id, entity, entity_id, doc, "
            + ("key_id" if named else "NULL")
            + " FROM entities WHERE view IS NOT NULL"
        ).fetchall()
        for cid, ent, eid, doc, key_id in rows:
            try:
                sealer = self.key_sealer(cid, key_id) if named else self._only_key_sealer(cid)
            except StoreError:
                continue  # no key for it here: read in the old form, as before
            aad = aad_for("entities", "doc", self._row_id(cid, ent, eid))
            state = unpack_state(json.loads(sealer.open(doc, aad)))
            packed = json.dumps(pack_state(ent, state), separators=(",", ":"), default=str)
            self._conn.execute(
                "UPDATE entities SET doc=?, view=NULL WHERE case_id=? AND entity=? AND entity_id=?",
                (sealer.seal(packed.encode(), aad), cid, ent, eid),
            )

    def _row_id(self, case_id: str, entity: str, entity_id: str) -> str:
        return f"{case_id}/{entity}/{entity_id}"

    def _main_values(
        self,
        case_id: str,
        doc: dict[str, Any],
        body: bytes | None,
        key_id: str | None,
    ) -> dict[str, Any] | None:
        """The `set` of a packed doc's main op, from its sealed body (None if it has none,
        or the op is gone). The body opens only as the op the sealed doc names (the AAD);
        one that does not open raises (verify names its op by its hash)."""
        op_id = main_op_id(doc)
        if op_id is None or body is None:
            return None
        sealer = self.key_sealer(case_id, key_id)
        opened = json.loads(sealer.open(body, aad_for("ops", "body", op_id)))
        found: dict[str, Any] = opened.get("set") or {}
        return found

    def _load_state(self, case_id: str, entity: str, entity_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT e.doc, e.key_id, o.body, o.key_id FROM entities e"
            " LEFT JOIN ops o ON o.rowid = e.vop"
            " WHERE e.case_id=? AND e.entity=? AND e.entity_id=?",
            (case_id, entity, entity_id),
        ).fetchone()
        if row is None:
            return None
        sealer = self.key_sealer(case_id, row[1])
        doc = json.loads(
            sealer.open(
                row[0], aad_for("entities", "doc", self._row_id(case_id, entity, entity_id))
            )
        )
        return unpack_state(doc, self._main_values(case_id, doc, row[2], row[3]))

    def _take_state(
        self, key: tuple[str, str, str]
    ) -> tuple[dict[str, Any] | WholePut | None, bool]:
        """An entity's fold state for the save about to change it (inside its transaction),
        and whether its case's summary is known dropped already.

        The states this store kept from its own last saves hold while nothing else was
        written since the last of them, on this connection (its change count) or by
        another (the file's data version): then the row need not be read and opened again
        and the summary not dropped twice. Anything else written drops them all."""
        version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        self._data_version = version
        if self._kept_mark != (self._conn.total_changes, version):
            self._kept_states.clear()
            self._kept_cases.clear()
        dropped = key[0] in self._kept_cases
        kept = self._kept_states.pop(key, None)  # apply changes it in place
        if kept is not None:
            return kept, dropped
        return self._load_state(*key), dropped

    def _keep_state(self, key: tuple[str, str, str], state: dict[str, Any] | WholePut) -> None:
        """After the save's commit: keep its state for the next save of the same entity."""
        self._kept_states[key] = state
        if len(self._kept_states) > KEPT_STATES:
            del self._kept_states[next(iter(self._kept_states))]
        self._kept_cases.add(key[0])
        self._kept_mark = (self._conn.total_changes, self._data_version)

    def _save_state(
        self,
        case_id: str,
        entity: str,
        entity_id: str,
        state: dict[str, Any] | WholePut,
        sealer: Any,
        key_id: str,
        main: tuple[int, str] | None = None,
        drop: bool = True,
    ) -> None:
        """Seal and keep an entity's state with the named key (the case's current one).

        `main` is the (rowid, op id) of the op just written: the values it set stay in its
        sealed body and are not written again (`pack_state`). `drop` is False only when
        this case's summary is known dropped already (`_take_state`). A `WholePut` state
        whose op is `main` is packed straight to its doc's JSON (`pack_whole`)."""
        row_id = f"{case_id}/{entity}/{entity_id}"  # `_row_id`
        vop: int | None
        if type(state) is WholePut and main is not None and main[1] == state.op_id:
            packed = pack_whole(state)
            status, day = clear_columns(entity, state.values)
            vop, deleted = main[0], 0
        else:
            if type(state) is WholePut:
                state = state.state()
            assert isinstance(state, dict)
            doc, current = pack_with_fields(entity, state, main[1] if main else None)
            status, day = clear_columns(entity, current)
            packed = ENCODE(doc)
            vop = main[0] if main and "b" in doc else None
            deleted = 1 if state.get("deleted") else 0
        sealed = sealer.seal(packed.encode(), aad_for("entities", "doc", row_id))
        if drop:
            # The case changed: its summary is folded again by the next reader
            # (services.summaries).
            self._conn.execute("DELETE FROM summaries WHERE case_id=?", (case_id,))
        self._conn.execute(
            "INSERT INTO entities"
            " (case_id, entity, entity_id, status, date, deleted, doc, view, key_id, vop)"
            " VALUES (?,?,?,?,?,?,?,NULL,?,?) ON CONFLICT(case_id, entity, entity_id) DO UPDATE"
            " SET status=excluded.status, date=excluded.date, deleted=excluded.deleted,"
            " doc=excluded.doc, view=NULL, key_id=excluded.key_id, vop=excluded.vop",
            (
                case_id,
                entity,
                entity_id,
                status,
                day,
                deleted,
                sealed,
                key_id,
                vop,
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
        self,
        case_id: str | None = None,
        entity: str | None = None,
        include_deleted: bool = False,
    ) -> list[EntityState]:
        """Folded entities of a case (or of every case), decrypted in memory."""
        sql = (
            "SELECT e.case_id, e.entity, e.entity_id, e.status, e.date, e.doc, e.key_id,"
            " o.body, o.key_id FROM entities e LEFT JOIN ops o ON o.rowid = e.vop"
        )
        sql += " WHERE 1=1"
        args: list[Any] = []
        if case_id is not None:
            sql += " AND e.case_id=?"
            args.append(case_id)
        if entity is not None:
            sql += " AND e.entity=?"
            args.append(entity)
        if not include_deleted:
            sql += " AND e.deleted=0"
        sql += " ORDER BY e.case_id, e.entity, e.entity_id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        found = []
        for cid, ent, eid, status, day, doc, key_id, body, body_key in rows:
            sealer = self.key_sealer(cid, key_id)
            packed = json.loads(
                sealer.open(doc, aad_for("entities", "doc", self._row_id(cid, ent, eid)))
            )
            main = self._main_values(cid, packed, body, body_key)
            found.append(EntityState(cid, ent, eid, unpack_state(packed, main), status, day))
        return found

    def fold_counts(self) -> list[tuple[str, str, str, int, str]]:
        """Each entity's (case, entity, id, how many ops its state was folded from, the
        newest of them), from its sealed fold state alone (`verify`): neither its values
        nor its main op's body are opened."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id, entity, entity_id, doc, key_id FROM entities"
                " ORDER BY case_id, entity, entity_id"
            ).fetchall()
        found = []
        for cid, ent, eid, doc, key_id in rows:
            sealer = self.key_sealer(cid, key_id)
            plain = sealer.open(doc, aad_for("entities", "doc", self._row_id(cid, ent, eid)))
            head = _COUNTS.match(plain)
            if head is not None:
                found.append((cid, ent, eid, int(head[1]), head[2].decode()))
            else:  # written before `n` and `l` came first
                packed = json.loads(plain)
                found.append((cid, ent, eid, int(packed.get("n", 0)), str(packed.get("l", ""))))
        return found

    def views(
        self, case_id: str | None = None, case_ids: Sequence[str] | None = None
    ) -> list[EntityView]:
        """Every live entity's values and marks (of one case, of `case_ids`, or of all),
        decrypted in memory."""
        sql = (
            "SELECT e.case_id, e.entity, e.entity_id, e.status, e.date, e.view, e.doc,"
            " e.key_id, o.body, o.key_id FROM entities e LEFT JOIN ops o ON o.rowid = e.vop"
        )
        args: tuple[str, ...] = ()
        sql += " WHERE e.deleted=0"
        if case_id is not None:
            sql += " AND e.case_id=?"
            args = (case_id,)
        elif case_ids is not None:
            sql += f" AND e.case_id IN ({','.join('?' * len(case_ids))})"
            args = tuple(case_ids)
        sql += " ORDER BY e.case_id, e.entity, e.entity_id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        found = []
        for cid, ent, eid, status, day, view, doc, key_id, body, body_key in rows:
            sealer = self.key_sealer(cid, key_id)
            row_id = self._row_id(cid, ent, eid)
            if view is not None:  # written before schema 3 (the migration rewrites these)
                fields, signed, altered, critical = json.loads(
                    sealer.open(view, aad_for("entities", "view", row_id))
                )
            else:
                packed = json.loads(sealer.open(doc, aad_for("entities", "doc", row_id)))
                if "f" not in packed:  # a state written before views were kept
                    packed = pack_state(ent, packed)
                fields = full_fields(packed, self._main_values(cid, packed, body, body_key))
                signed, altered, critical = packed["m"]
            found.append(EntityView(cid, ent, eid, fields, signed, altered, critical, status, day))
        return found

    def case_ids(self) -> list[str]:
        """Every case this profile holds."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id FROM entities WHERE entity='case' AND deleted=0 ORDER BY case_id"
            ).fetchall()
        return [r[0] for r in rows]

    def case_summaries(self, case_ids: list[str] | None = None) -> dict[str, bytes]:
        """case_id → the summary kept for each case since its last change, opened.

        A summary is whatever the services fold from a case's views; any write to a case
        drops its summary in the same transaction, so one that is here is current. One
        that does not open (the case key was replaced) counts as missing.
        """
        with self._lock:
            rows = self._conn.execute("SELECT case_id, doc FROM summaries").fetchall()
        wanted = set(case_ids) if case_ids is not None else None
        self.open_case_keys(cid for cid, _doc in rows if wanted is None or cid in wanted)
        found: dict[str, bytes] = {}
        for cid, doc in rows:
            if wanted is not None and cid not in wanted:
                continue
            try:
                _, sealer = self.case_sealer(cid)
                found[cid] = sealer.open(doc, aad_for("summaries", "doc", cid))
            except (CryptoError, StoreError):
                continue
        return found

    def put_case_summaries(self, summaries: dict[str, bytes]) -> None:
        """Keep each case's summary, sealed with its case key, bound to its case id."""
        with self.transaction():
            for cid, plain in summaries.items():
                _, sealer = self.case_sealer(cid)
                self._conn.execute(
                    "INSERT INTO summaries (case_id, doc) VALUES (?, ?) "
                    "ON CONFLICT(case_id) DO UPDATE SET doc=excluded.doc",
                    (cid, sealer.seal(plain, aad_for("summaries", "doc", cid))),
                )
