"""What every part of the server shares: the caller, the refusal, the review rule's
entities and roles, and the tuning constants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from fastapi import HTTPException

T = TypeVar("T")

# Records only a supervisor (or an admin) may write: the server cannot read op bodies, so
# it decides on the op's clear `entity`, `author` and `case_id` (docs/decisions.md).
REVIEW_ENTITIES = frozenset({"approval", "supervision"})
REVIEW_ROLES = ("supervisor", "admin")
REVIEW_REFUSAL = "only the case's supervisor may approve or return records"
# `devices.last_seen_ms` (and the pruning of the device's old nonces) is refreshed at most
# this often: a write on every request was a third of a small sync's database work.
LAST_SEEN_EVERY_MS = 60_000
# From this many accepted ops a push appends with COPY (2-3x faster than the pipelined
# INSERT … unnest for 1,000 ops, but the cursor lock spans its round trips).
COPY_FROM = 100
# `KeysResponse.devices_as_of` lags the clock by this much, so a device whose enrollment
# was committing while the list was read is listed again next time (never missed).
DEVICES_MARGIN_MS = 10 * 60_000


class Refused(HTTPException):
    """A request the server will not do, with one line that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)


@dataclass(frozen=True)
class Caller:
    """The authenticated device and its user."""

    device_id: str
    user: str
    role: str
    sign_pub: bytes
    draining: bool = False
    """Revoked with a wipe and let in only to send its last work (`DRAIN_ROUTES`): it is
    given nothing to read."""
