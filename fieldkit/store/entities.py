"""Entities: the state folded from each record's ops, sealed with its case key, and the
smaller sealed view that screens and rules read."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fieldkit import changelog
from fieldkit.crypto import (
    aad_for,
)
from fieldkit.store.case_keys import CaseKeyStore


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

    def _row_id(self, case_id: str, entity: str, entity_id: str) -> str:
        return f"{case_id}/{entity}/{entity_id}"

    def _load_state(self, case_id: str, entity: str, entity_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc, key_id FROM entities WHERE case_id=? AND entity=? AND entity_id=?",
            (case_id, entity, entity_id),
        ).fetchone()
        if row is None:
            return None
        sealer = self.key_sealer(case_id, row[1])
        state: dict[str, Any] = json.loads(
            sealer.open(
                row[0], aad_for("entities", "doc", self._row_id(case_id, entity, entity_id))
            )
        )
        return state

    def _save_state(
        self,
        case_id: str,
        entity: str,
        entity_id: str,
        state: dict[str, Any],
        sealer: Any,
        key_id: str,
    ) -> None:
        """Seal and keep an entity's state with the named key (the case's current one)."""
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
            "INSERT INTO entities"
            " (case_id, entity, entity_id, status, date, deleted, doc, view, key_id)"
            " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(case_id, entity, entity_id) DO UPDATE SET"
            " status=excluded.status, date=excluded.date, deleted=excluded.deleted,"
            " doc=excluded.doc, view=excluded.view, key_id=excluded.key_id",
            (
                case_id,
                entity,
                entity_id,
                status,
                day,
                1 if state.get("deleted") else 0,
                doc,
                sealed_view,
                key_id,
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
        sql = "SELECT case_id, entity, entity_id, status, date, doc, key_id FROM entities"
        sql += " WHERE 1=1"
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
        for cid, ent, eid, status, day, doc, key_id in rows:
            sealer = self.key_sealer(cid, key_id)
            state = json.loads(
                sealer.open(doc, aad_for("entities", "doc", self._row_id(cid, ent, eid)))
            )
            found.append(EntityState(cid, ent, eid, state, status, day))
        return found

    def views(self, case_id: str | None = None) -> list[EntityView]:
        """Every live entity's values and marks (of one case, or all), decrypted in memory."""
        sql = "SELECT case_id, entity, entity_id, status, date, view, doc, key_id FROM entities"
        sql += " WHERE deleted=0" + (" AND case_id=?" if case_id is not None else "")
        sql += " ORDER BY case_id, entity, entity_id"
        with self._lock:
            rows = self._conn.execute(sql, (case_id,) if case_id is not None else ()).fetchall()
        found = []
        for cid, ent, eid, status, day, view, doc, key_id in rows:
            sealer = self.key_sealer(cid, key_id)
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
