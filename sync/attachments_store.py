"""Where the server keeps attachment chunks: one small interface, the database by default.

The server only ever holds sealed chunks (case-key ciphertext it cannot open), each named
by the SHA-256 of its bytes, which the server checks on the way in. `ChunkStore` is the
whole contract; `DatabaseChunkStore` keeps chunks in the `attachment_chunks` table
(bytea on PostgreSQL, BLOB on SQLite). An object store (S3, MinIO, Azure Blob) fits the
same interface later: `present` is a batch HEAD, `put` a conditional PUT under
`<case_id>/<chunk_hash>` (if-none-match, so a resend is a no-op), `get` a GET; the
bucket needs no lifecycle rules because chunks are never rewritten.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from fieldkit.sync.models import ATTACHMENT_CHUNKS
from fieldkit.sync.protocol import now_ms
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

MAX_CHUNK_BYTES = 512 * 1024
"""A sealed chunk is at most 512 KiB (the laptop seals 512 KiB - 64 bytes of plaintext)."""


class ChunkRefused(ValueError):
    """A chunk the server will not keep: too big, or not the bytes its name says."""


def check_chunk(chunk_hash: str, data: bytes) -> None:
    """A chunk is kept only if its bytes hash to its name (a tampered chunk is refused)."""
    if len(data) > MAX_CHUNK_BYTES:
        raise ChunkRefused(f"a chunk is at most {MAX_CHUNK_BYTES} bytes; this one is {len(data)}")
    if hashlib.sha256(data).hexdigest() != chunk_hash:
        raise ChunkRefused("the chunk's bytes do not match its SHA-256: refused")


class ChunkStore(Protocol):
    """Sealed attachment chunks of one agency, by case and ciphertext hash."""

    def present(self, case_id: str, hashes: list[str]) -> set[str]:
        """Which of these chunks of the case are stored."""

    def put(self, case_id: str, chunk_hash: str, data: bytes, device_id: str) -> bool:
        """Keep a checked chunk; False when it was already there (idempotent)."""

    def get(self, case_id: str, chunk_hash: str) -> bytes | None:
        """The chunk's bytes, or None."""


class DatabaseChunkStore:
    """Chunks in the server database (the default; no extra service to run)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def present(self, case_id: str, hashes: list[str]) -> set[str]:
        """One query per call; callers send a few hundred hashes at a time."""
        if not hashes:
            return set()
        table = ATTACHMENT_CHUNKS
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.chunk_hash).where(
                    table.c.case_id == case_id, table.c.chunk_hash.in_(hashes)
                )
            ).all()
        return {str(r[0]) for r in rows}

    def put(self, case_id: str, chunk_hash: str, data: bytes, device_id: str) -> bool:
        """Insert once; a resend of the same chunk changes nothing."""
        check_chunk(chunk_hash, data)
        if self.present(case_id, [chunk_hash]):
            return False
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(ATTACHMENT_CHUNKS).values(
                        case_id=case_id,
                        chunk_hash=chunk_hash,
                        size=len(data),
                        data=data,
                        device_id=device_id,
                        received_ms=now_ms(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, case_id: str, chunk_hash: str) -> bytes | None:
        """Read one chunk."""
        table = ATTACHMENT_CHUNKS
        with self.engine.connect() as conn:
            row = conn.execute(
                select(table.c.data).where(
                    table.c.case_id == case_id, table.c.chunk_hash == chunk_hash
                )
            ).first()
        return bytes(row[0]) if row else None
