"""Case keys: one random key per case, kept wrapped by the master key, with a cache of
open sealers."""

from __future__ import annotations

from typing import Any

from fieldkit.changelog import uuid7
from fieldkit.crypto import (
    Sealer,
    aad_for,
    random_key,
)
from fieldkit.errors import StoreError
from fieldkit.i18n import _
from fieldkit.store.base import StoreBase, _ClearSealer


class CaseKeyStore(StoreBase):
    """The case keys of this profile."""

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
                raise StoreError(
                    _("no key for case {case_id} on this device").format(case_id=case_id)
                )
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
            raise StoreError(_("no key for case {case_id} on this device").format(case_id=case_id))
        return row[0], self._case_wrap.open(row[1], aad_for("case_keys", "wrapped", case_id))
