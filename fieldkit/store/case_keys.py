"""Case keys: random keys per case, in generations, kept wrapped by the master key, with a
cache of open sealers.

A case starts with generation 0. When the case is reassigned or a device of its team is
revoked, a laptop of the team makes a new generation (fieldkit.sync.rotation) and from
then on everything new is sealed with it; what was sealed before names its key (an op's
`key_id`, an entity row's and a draft's `key_id` column, an attachment's `key_id` field)
and stays readable with the older key, which stays here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fieldkit.changelog import uuid7
from fieldkit.crypto import (
    CryptoError,
    Sealer,
    aad_for,
    random_key,
)
from fieldkit.errors import StoreError
from fieldkit.i18n import _
from fieldkit.store.base import StoreBase, _ClearSealer
from fieldkit.store.schema import add_key_generations

# The current key: the newest generation; of two of one generation, the one the team
# shares (received from, or accepted by, the server) over one only this laptop made.
_CURRENT = (
    "SELECT key_id, wrapped, generation FROM case_keys WHERE case_id=?"
    " ORDER BY generation DESC, shared DESC, key_id LIMIT 1"
)

_ALL_CURRENT_FIRST = (
    "SELECT case_id, key_id, wrapped FROM case_keys"
    " ORDER BY case_id, generation DESC, shared DESC, key_id"
)
"""Every case's keys, its current key first (`_CURRENT` for all cases at once)."""


def new_key_id(case_id: str) -> str:
    """A fresh key id for a case (its generation is kept beside it, not in it)."""
    return f"{case_id}#{uuid7()[:13]}"


class CaseKeyStore(StoreBase):
    """The case keys of this profile."""

    def _migrate_rows(self, step: int) -> None:
        """Schema 4: key generations (`schema.add_key_generations`)."""
        super()._migrate_rows(step)
        if step == 4:
            add_key_generations(self._conn)
            self._case_sealers.clear()
            self._key_sealers.clear()

    def _only_key_sealer(self, case_id: str) -> Any:
        """The sealer of a case's key in a profile from before key generations (schema < 4),
        when a case held one key: what the earlier migration steps open rows with."""
        with self._lock:
            row = self._conn.execute(
                "SELECT wrapped FROM case_keys WHERE case_id=? ORDER BY rowid LIMIT 1", (case_id,)
            ).fetchone()
        if row is None:
            raise StoreError(_("no key for case {case_id} on this device").format(case_id=case_id))
        return self._sealer_of(self._open_key(case_id, row[0]))

    def _sealer_of(self, key: bytes) -> Any:
        return _ClearSealer() if self.plaintext else Sealer(key)

    def _open_key(self, case_id: str, wrapped: bytes) -> bytes:
        return self._case_wrap.open(wrapped, aad_for("case_keys", "wrapped", case_id))

    def open_case_keys(self, case_ids: Iterable[str]) -> None:
        """Open the current key of each of these cases in one read, not one read per case
        (what `case_sealer` then returns); a key that does not open is left for it to refuse."""
        wanted = {cid for cid in case_ids if cid not in self._case_sealers}
        if not wanted:
            return
        with self._lock:
            rows = self._conn.execute(_ALL_CURRENT_FIRST).fetchall()
        for case_id, key_id, wrapped in rows:
            if case_id not in wanted:
                continue
            wanted.discard(case_id)  # the first row of each case is its current key
            try:
                key = self._open_key(case_id, wrapped)
            except CryptoError:
                continue
            self._case_sealers[case_id] = (key_id, self._sealer_of(key))

    def case_sealer(self, case_id: str, create: bool = False) -> tuple[str, Any]:
        """(key_id, sealer) of the case's current key; a new random key when `create`."""
        cached = self._case_sealers.get(case_id)
        if cached:
            return cached
        with self._lock:
            row = self._conn.execute(_CURRENT, (case_id,)).fetchone()
        if row is None:
            if not create:
                raise StoreError(
                    _("no key for case {case_id} on this device").format(case_id=case_id)
                )
            key = random_key()
            key_id = new_key_id(case_id)
            self.put_case_key(case_id, key_id, key)
        else:
            key_id = row[0]
            key = self._open_key(case_id, row[1])
        sealer = self._sealer_of(key)
        self._case_sealers[case_id] = (key_id, sealer)
        return key_id, sealer

    def key_sealer(self, case_id: str, key_id: str | None) -> Any:
        """The sealer of one named key of a case (what an op, a row or a file names).

        No name (a row written before keys had generations): the case's first key, the
        only one there was then.
        """
        cached = self._key_sealers.get((case_id, key_id or ""))
        if cached is not None:
            return cached
        with self._lock:
            if key_id:
                row = self._conn.execute(
                    "SELECT wrapped FROM case_keys WHERE case_id=? AND key_id=?",
                    (case_id, key_id),
                ).fetchone()
            else:
                row = self._conn.execute(
                    "SELECT wrapped FROM case_keys WHERE case_id=?"
                    " ORDER BY generation, shared DESC, key_id LIMIT 1",
                    (case_id,),
                ).fetchone()
        if row is None:
            if key_id:
                raise StoreError(
                    _("no key {key_id} for case {case_id} on this device").format(
                        key_id=key_id, case_id=case_id
                    )
                )
            raise StoreError(_("no key for case {case_id} on this device").format(case_id=case_id))
        sealer = self._sealer_of(self._open_key(case_id, row[0]))
        self._key_sealers[(case_id, key_id or "")] = sealer
        return sealer

    def key_sealers(self) -> dict[tuple[str, str], Any]:
        """The sealer of every named key of every case, read in one query: (case, key id)
        → sealer, as `key_sealer` gives them one at a time (a whole-store pass)."""
        with self._lock:
            rows = self._conn.execute("SELECT case_id, key_id, wrapped FROM case_keys").fetchall()
        for case_id, key_id, wrapped in rows:
            if not key_id or (case_id, key_id) in self._key_sealers:
                continue
            try:
                key = self._open_key(case_id, wrapped)
            except CryptoError:
                continue  # left out: `key_sealer` refuses it where it is needed
            self._key_sealers[(case_id, key_id)] = self._sealer_of(key)
        return self._key_sealers

    def put_case_key(
        self,
        case_id: str,
        key_id: str,
        key: bytes,
        generation: int = 0,
        shared: bool = False,
    ) -> None:
        """Keep a case key (new, or received from the case team through sync)."""
        wrapped = self._case_wrap.seal(key, aad_for("case_keys", "wrapped", case_id))
        with self.transaction():
            self._conn.execute(
                "INSERT INTO case_keys (case_id, key_id, wrapped, generation, shared)"
                " VALUES (?,?,?,?,?) ON CONFLICT(case_id, key_id) DO UPDATE SET"
                " generation=max(generation, excluded.generation),"
                " shared=max(shared, excluded.shared)",
                (case_id, key_id, wrapped, generation, int(shared)),
            )
            # A newer key may now be the current one: the case's summary is sealed again with
            # it by the next reader (services.summaries), never left under an older key.
            self._conn.execute("DELETE FROM summaries WHERE case_id=?", (case_id,))
        self._case_sealers.pop(case_id, None)
        self._key_sealers.pop((case_id, ""), None)

    def mark_key_shared(self, case_id: str, key_id: str) -> None:
        """The server holds this key's envelopes: it is the team's."""
        with self.transaction():
            self._conn.execute(
                "UPDATE case_keys SET shared=1 WHERE case_id=? AND key_id=?", (case_id, key_id)
            )
        self._case_sealers.pop(case_id, None)

    def case_key(self, case_id: str) -> tuple[str, bytes]:
        """The case's current raw key (to wrap it to the case team for sync)."""
        with self._lock:
            row = self._conn.execute(_CURRENT, (case_id,)).fetchone()
        if row is None:
            raise StoreError(_("no key for case {case_id} on this device").format(case_id=case_id))
        return row[0], self._open_key(case_id, row[1])

    def case_key_generation(self, case_id: str) -> tuple[str, int] | None:
        """(key_id, generation) of the case's current key, or None without one."""
        with self._lock:
            row = self._conn.execute(_CURRENT, (case_id,)).fetchone()
        return (row[0], int(row[2])) if row else None

    def case_keys(self, case_id: str) -> list[tuple[str, int, bytes]]:
        """(key_id, generation, raw key) of every key of the case here, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key_id, generation, wrapped FROM case_keys WHERE case_id=?"
                " ORDER BY generation, shared DESC, key_id",
                (case_id,),
            ).fetchall()
        return [(r[0], int(r[1]), self._open_key(case_id, r[2])) for r in rows]

    def has_case_key(self, case_id: str, key_id: str | None = None) -> bool:
        """This laptop holds a key of the case (that one key, when named)."""
        sql, args = "SELECT 1 FROM case_keys WHERE case_id=?", [case_id]
        if key_id:
            sql += " AND key_id=?"
            args.append(key_id)
        with self._lock:
            return self._conn.execute(sql, args).fetchone() is not None
