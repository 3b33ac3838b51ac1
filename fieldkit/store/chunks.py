"""Attachment chunks in the profile file: sealed as they are read, checked as they are read back.

A file is read in chunks and each chunk is sealed with the case key as it is read, so a
200 MB file never sits whole in memory. The sealed chunks live in the profile's SQLite
file (`attachment_chunks`), each named by the SHA-256 of its ciphertext (what the server
can check without a key); the signed attachment record lists them. `fieldkit.attachments`
imports files as records on top of this, `fieldkit.sync.attachment_sync` moves the chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from fieldkit.crypto import CryptoError, aad_for
from fieldkit.errors import AttachmentError
from fieldkit.i18n import _
from fieldkit.store import Store

CHUNK_BYTES = 512 * 1024 - 64
"""Plaintext per chunk: sealed (nonce + tag) it stays under 512 KiB."""
COMMIT_EVERY = 8
"""Chunks written per SQLite transaction while importing."""

CHUNKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS attachment_chunks (
    chunk_hash TEXT PRIMARY KEY, case_id TEXT NOT NULL, attachment_id TEXT NOT NULL,
    idx INTEGER NOT NULL, data BLOB NOT NULL, uploaded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS attachment_chunks_att ON attachment_chunks (attachment_id, idx);
"""


@dataclass(frozen=True)
class Attachment:
    """One attached file as its record describes it."""

    id: str
    case_id: str
    target: str
    target_id: str
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str
    chunks: tuple[str, ...]
    caption: str = ""
    added_at: str = ""
    author: str = ""
    original_of: str | None = None
    location_kept: bool = False
    key_id: str = ""
    """The case key its chunks are sealed with; empty: the case's first key (an attachment
    added before case keys had generations)."""

    @classmethod
    def from_fields(cls, case_id: str, attachment_id: str, f: dict[str, Any]) -> Attachment:
        """From the stored record."""
        return cls(
            id=attachment_id,
            case_id=case_id,
            target=str(f.get("target") or "case"),
            target_id=str(f.get("target_id") or case_id),
            kind=str(f.get("kind") or "file"),
            name=str(f.get("name") or ""),
            media_type=str(f.get("media_type") or "application/octet-stream"),
            size=int(f.get("size") or 0),
            sha256=str(f.get("sha256") or ""),
            chunks=tuple(str(c) for c in f.get("chunks") or ()),
            caption=str(f.get("caption") or ""),
            added_at=str(f.get("added_at") or ""),
            author=str(f.get("author") or ""),
            original_of=f.get("original_of"),
            location_kept=bool(f.get("location_kept")),
            key_id=str(f.get("key_id") or ""),
        )


def ensure_schema(store: Store) -> None:
    """The chunk table lives in the profile file beside the log."""
    with store.transaction() as conn:
        for statement in CHUNKS_SCHEMA.strip().split(";"):
            if statement.strip():
                conn.execute(statement)


def chunk_aad(attachment_id: str, index: int) -> bytes:
    """What a sealed chunk is bound to: its attachment and its place in it."""
    return aad_for("attachments", "chunk", f"{attachment_id}/{index}")


def seal_stream(
    store: Store, case_id: str, attachment_id: str, source: IO[bytes]
) -> tuple[str, int, list[str], str]:
    """Read, seal and store chunk by chunk: (plaintext SHA-256, size, chunk hashes, the
    key id the chunks are sealed with)."""
    key_id, sealer = store.case_sealer(case_id, create=True)
    digest = hashlib.sha256()
    size, hashes = 0, list[str]()
    index = 0
    while True:
        # A few chunks per transaction: SQLite's memory stays small for any file size; a
        # crash before the signed record leaves only sealed chunks no record points to.
        with store.transaction() as conn:
            for _step in range(COMMIT_EVERY):
                block = source.read(CHUNK_BYTES)
                if not block:
                    return digest.hexdigest(), size, hashes, key_id
                digest.update(block)
                size += len(block)
                sealed = sealer.seal(block, chunk_aad(attachment_id, index))
                chunk_hash = hashlib.sha256(sealed).hexdigest()
                conn.execute(
                    "INSERT INTO attachment_chunks"
                    " (chunk_hash, case_id, attachment_id, idx, data)"
                    " VALUES (?,?,?,?,?) ON CONFLICT(chunk_hash) DO NOTHING",
                    (chunk_hash, case_id, attachment_id, index, sealed),
                )
                hashes.append(chunk_hash)
                index += 1


def drop_chunks(store: Store, attachment_ids: list[str]) -> None:
    """An import that failed leaves nothing behind."""
    with store.transaction() as conn:
        conn.executemany(
            "DELETE FROM attachment_chunks WHERE attachment_id=?", [(a,) for a in attachment_ids]
        )


def missing_chunks(store: Store, att: Attachment) -> list[str]:
    """Chunk hashes this laptop does not hold yet (to download)."""
    ensure_schema(store)
    with store.transaction() as conn:
        held = {
            r[0]
            for r in conn.execute(
                "SELECT chunk_hash FROM attachment_chunks WHERE attachment_id=?", (att.id,)
            )
        }
    return [h for h in att.chunks if h not in held]


def is_local(store: Store, att: Attachment) -> bool:
    """Every chunk is on this laptop."""
    return not missing_chunks(store, att)


def stream_plaintext(store: Store, att: Attachment) -> Iterator[bytes]:
    """Decrypt chunk by chunk, checking each chunk and the whole file's SHA-256."""
    sealer = store.key_sealer(att.case_id, att.key_id)
    digest = hashlib.sha256()
    for index, chunk_hash in enumerate(att.chunks):
        with store.transaction() as conn:
            row = conn.execute(
                "SELECT data FROM attachment_chunks WHERE chunk_hash=?", (chunk_hash,)
            ).fetchone()
        if row is None:
            raise AttachmentError(
                _("attachment {id} is not fully on this laptop; sync to download it").format(
                    id=att.id
                )
            )
        sealed = bytes(row[0])
        if hashlib.sha256(sealed).hexdigest() != chunk_hash:
            raise AttachmentError(
                _("attachment {id}: chunk {index} was altered; refused").format(
                    id=att.id, index=index
                )
            )
        try:
            block = sealer.open(sealed, chunk_aad(att.id, index))
        except CryptoError:
            raise AttachmentError(
                _("attachment {id}: chunk {index} does not open with the case key; refused").format(
                    id=att.id, index=index
                )
            ) from None
        digest.update(block)
        yield block
    if digest.hexdigest() != att.sha256:
        raise AttachmentError(
            _("attachment {id}: its content does not match its signed hash").format(id=att.id)
        )
