"""Drafts: a visit in progress, autosaved and sealed with its case key."""

from __future__ import annotations

import json
from typing import Any

from fieldkit.crypto import (
    aad_for,
)
from fieldkit.store.base import _utcnow
from fieldkit.store.case_keys import CaseKeyStore


class DraftStore(CaseKeyStore):
    """Visit drafts of this profile."""

    def save_draft(self, draft_id: str, case_id: str, data: dict[str, Any]) -> None:
        """Autosave a visit in progress, sealed with the case key."""
        key_id, sealer = self.case_sealer(case_id, create=True)
        doc = sealer.seal(
            json.dumps(data, separators=(",", ":"), default=str).encode(),
            aad_for("drafts", "doc", draft_id),
        )
        with self.transaction():
            self._conn.execute(
                "INSERT INTO drafts (draft_id, case_id, updated, doc, key_id) VALUES (?,?,?,?,?)"
                " ON CONFLICT(draft_id) DO UPDATE SET updated=excluded.updated,"
                " doc=excluded.doc, key_id=excluded.key_id",
                (draft_id, case_id, _utcnow(), doc, key_id),
            )

    def drafts(self, case_id: str | None = None) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(draft_id, case_id, updated, data) of every unfinished draft."""
        sql = "SELECT draft_id, case_id, updated, doc, key_id FROM drafts"
        args: tuple[Any, ...] = ()
        if case_id is not None:
            sql += " WHERE case_id=?"
            args = (case_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY updated DESC", args).fetchall()
        found = []
        for draft_id, cid, updated, doc, key_id in rows:
            sealer = self.key_sealer(cid, key_id)
            data = json.loads(sealer.open(doc, aad_for("drafts", "doc", draft_id)))
            found.append((draft_id, cid, updated, data))
        return found

    def delete_draft(self, draft_id: str) -> None:
        """Drop a draft once its visit is signed or discarded."""
        with self.transaction():
            self._conn.execute("DELETE FROM drafts WHERE draft_id=?", (draft_id,))
