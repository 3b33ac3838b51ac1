"""The encrypted local store: one SQLite file per profile, state folded from signed ops.

Everything sensitive is sealed before it reaches SQLite: entity documents and op bodies
with the case key, drafts with the case key, device secrets with a subkey of the master
key. In the clear, on purpose: ids, entity kinds, statuses and dates (THREAT_MODEL.md).

`Store` is the one class callers use; its parts live beside it, one module per seam:
`schema` (the file and its tables), `base` (connection, transactions, settings,
secrets), `slots` (creating and unlocking), `case_keys`, `entities` (with `packing`, the stored
form of a fold state), `log`, `drafts` and `verify`.
"""

from __future__ import annotations

from fieldkit.store.drafts import DraftStore
from fieldkit.store.entities import EntityState, EntityView, clear_columns
from fieldkit.store.log import (
    SYNC_ACKED,
    SYNC_CARRIED,
    SYNC_LOCAL,
    SYNC_QUARANTINED,
    SYNC_REMOTE,
)
from fieldkit.store.schema import SCHEMA, SCHEMA_VERSION
from fieldkit.store.slots import SlotStore
from fieldkit.store.verify import VerifyingStore, VerifyProblem, VerifyReport, _canonical

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "SYNC_ACKED",
    "SYNC_CARRIED",
    "SYNC_LOCAL",
    "SYNC_QUARANTINED",
    "SYNC_REMOTE",
    "EntityState",
    "EntityView",
    "Store",
    "VerifyProblem",
    "VerifyReport",
    "_canonical",
    "clear_columns",
]


class Store(SlotStore, DraftStore, VerifyingStore):
    """An unlocked profile: master key in memory, one SQLite connection, one device chain."""
