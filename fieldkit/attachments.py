"""Attachments: photos, scans and files on a visit, a case record or a safety plan.

A file is read in chunks and each chunk is sealed with the case key as it is read, so a
200 MB file never sits whole in memory. The sealed chunks live in the profile's SQLite
file (`attachment_chunks`), each named by the SHA-256 of its ciphertext (what the server
can check without a key). The attachment itself is a record (entity "attachment") written
as one signed op whose sealed body holds the SHA-256 of the plaintext, its size, and the
list of chunk hashes: the device's signature covers the content.

Photos are downscaled on import (the profile's `photo_max_edge`; the original is kept
only when the profile says so) and their location (EXIF GPS) is removed unless the worker
keeps it. A decrypted copy exists only when the worker asks to open one, in a private
temporary directory removed afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fieldkit import changelog, services
from fieldkit.crypto import CryptoError, aad_for
from fieldkit.errors import FieldkitError
from fieldkit.evidence import now_text
from fieldkit.i18n import _
from fieldkit.store import Store

CHUNK_BYTES = 512 * 1024 - 64
"""Plaintext per chunk: sealed (nonce + tag) it stays under 512 KiB."""
COMMIT_EVERY = 8
"""Chunks written per SQLite transaction while importing."""

IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "MPO": ".jpg"}
GPS_IFD = 0x8825
TARGETS = ("case", "visit", "safety_plan", "service_plan")

SCHEMA = """
CREATE TABLE IF NOT EXISTS attachment_chunks (
    chunk_hash TEXT PRIMARY KEY, case_id TEXT NOT NULL, attachment_id TEXT NOT NULL,
    idx INTEGER NOT NULL, data BLOB NOT NULL, uploaded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS attachment_chunks_att ON attachment_chunks (attachment_id, idx);
"""


class AttachmentError(FieldkitError):
    """An attachment could not be imported, read or checked; nothing was written."""


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
        for statement in SCHEMA.strip().split(";"):
            if statement.strip():
                conn.execute(statement)


def human_size(size: int) -> str:
    """1.2 MB, 340 KB, 12 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} KB"
    return f"{size} bytes"


def attachment_line(fields: dict[str, Any]) -> str:
    """One plain-text line for lists: kind, size, what it is attached to, caption."""
    target = str(fields.get("target") or "case")
    on = "" if target == "case" else f" on {target.replace('_', ' ')} {fields.get('target_id')}"
    caption = str(fields.get("caption") or fields.get("name") or "")
    original = " (original)" if fields.get("original_of") else ""
    return (
        f"{fields.get('kind', 'file')}{original} · {human_size(int(fields.get('size') or 0))}"
        f"{on} · {caption}"
    )


# --- import ---------------------------------------------------------------------------


def chunk_aad(attachment_id: str, index: int) -> bytes:
    return aad_for("attachments", "chunk", f"{attachment_id}/{index}")


def _seal_stream(
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


def _drop_chunks(store: Store, attachment_ids: list[str]) -> None:
    """An import that failed leaves nothing behind."""
    with store.transaction() as conn:
        conn.executemany(
            "DELETE FROM attachment_chunks WHERE attachment_id=?", [(a,) for a in attachment_ids]
        )


def _kind_of(media_type: str) -> str:
    if media_type.startswith("image/"):
        return "photo"
    if media_type in ("application/pdf", "application/msword") or media_type.startswith(
        ("text/", "application/vnd.")
    ):
        return "document"
    if media_type.startswith(("audio/", "video/")):
        return media_type.split("/")[0]
    return "file"


def prepare_photo(path: Path, max_edge: int, keep_location: bool) -> tuple[bytes, str, bool] | None:
    """A downscaled copy of a photo without its GPS block, or None if it is not a photo."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            fmt = image.format or ""
            if fmt not in IMAGE_FORMATS:
                return None
            exif = image.getexif()
            had_location = GPS_IFD in exif
            if not keep_location and had_location:
                del exif[GPS_IFD]
            picture: Image.Image = image.copy()
            picture.thumbnail((max_edge, max_edge))
            out = io.BytesIO()
            save_format = "JPEG" if fmt == "MPO" else fmt
            options: dict[str, Any] = {"exif": exif.tobytes()} if len(exif) else {}
            if save_format == "JPEG":
                options["quality"] = 88
                if picture.mode not in ("RGB", "L"):
                    picture = picture.convert("RGB")
            picture.save(out, format=save_format, **options)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return out.getvalue(), IMAGE_FORMATS[fmt], keep_location and had_location


def attach(
    store: Store,
    case_id: str,
    path: Path,
    *,
    target: str = "case",
    target_id: str | None = None,
    caption: str = "",
    keep_location: bool = False,
    max_edge: int = 2048,
    keep_original: bool = False,
) -> list[str]:
    """Import a file as a signed attachment record; ids written (the photo, then its original)."""
    case = services.load_case(store, case_id)
    if target not in TARGETS:
        raise AttachmentError(
            _("attach to one of {targets}, not {target}").format(
                targets=", ".join(TARGETS), target=repr(target)
            )
        )
    target_id = target_id or case.id
    if target != "case" and store.entity(case_id, target, target_id) is None:
        raise AttachmentError(
            _("no {kind} {target_id} on case {case_id}").format(
                kind=target.replace("_", " "), target_id=target_id, case_id=case_id
            )
        )
    if not path.is_file():
        raise AttachmentError(_("no such file: {path}").format(path=path))
    ensure_schema(store)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    kind = _kind_of(media_type)
    photo = prepare_photo(path, max_edge, keep_location) if kind == "photo" else None
    main_id = f"att-{changelog.uuid7()}"
    original_id = f"att-{changelog.uuid7()}" if photo is not None and keep_original else None
    records: list[tuple[str, dict[str, Any]]] = []
    try:
        if photo is not None:
            data, suffix, location_kept = photo
            name = path.stem + suffix
            digest, size, hashes, key_id = _seal_stream(store, case_id, main_id, io.BytesIO(data))
            del data
        else:
            name, location_kept = path.name, False
            with path.open("rb") as source:
                digest, size, hashes, key_id = _seal_stream(store, case_id, main_id, source)
        common = {"target": target, "target_id": target_id, "kind": kind, "caption": caption}
        records.append(
            (
                main_id,
                {
                    **common,
                    "name": name,
                    "media_type": media_type if photo is None else _media_of(name),
                    "size": size,
                    "sha256": digest,
                    "chunks": hashes,
                    "key_id": key_id,
                    "location_kept": location_kept,
                },
            )
        )
        if original_id is not None:
            if keep_location:
                with path.open("rb") as source:
                    digest, size, hashes, key_id = _seal_stream(store, case_id, original_id, source)
            else:
                full = prepare_photo(path, 1 << 16, keep_location=False)
                assert full is not None
                digest, size, hashes, key_id = _seal_stream(
                    store, case_id, original_id, io.BytesIO(full[0])
                )
            records.append(
                (
                    original_id,
                    {
                        **common,
                        "name": path.name,
                        "media_type": media_type,
                        "size": size,
                        "sha256": digest,
                        "chunks": hashes,
                        "key_id": key_id,
                        "location_kept": keep_location,
                        "original_of": main_id,
                    },
                )
            )
        with store.transaction():
            for attachment_id, values in records:
                _record(store, case_id, attachment_id, **values)
    except BaseException as exc:
        _drop_chunks(store, [main_id] + ([original_id] if original_id else []))
        if isinstance(exc, OSError):
            raise AttachmentError(
                _("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror)
            ) from None
        raise
    written = [attachment_id for attachment_id, _fields in records]
    return written


def _media_of(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _record(store: Store, case_id: str, attachment_id: str, **values: Any) -> None:
    fields = {
        **values,
        "added_at": now_text(),
        "author": store.user,
    }
    if fields.get("original_of") is None:
        fields.pop("original_of", None)
    store.record(case_id, "attachment", attachment_id, fields)
    store.sign(case_id, "attachment", attachment_id, fields)


# --- reading --------------------------------------------------------------------------


def attachments_of(store: Store, case_id: str) -> list[Attachment]:
    """A case's attachments, oldest first."""
    services.load_case(store, case_id)
    found = [
        Attachment.from_fields(case_id, e.entity_id, e.fields)
        for e in store.entities(case_id, "attachment")
    ]
    return sorted(found, key=lambda a: (a.added_at, a.id))


def find(store: Store, case_id: str, attachment_id: str) -> Attachment:
    """One attachment, or a clear error."""
    ent = store.entity(case_id, "attachment", attachment_id)
    if ent is None:
        raise AttachmentError(
            _(
                "no attachment {attachment_id} on case {case_id}; `fieldkit attachments` lists them"
            ).format(attachment_id=attachment_id, case_id=case_id)
        )
    return Attachment.from_fields(case_id, attachment_id, ent.fields)


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


def _private_dir() -> Path:
    """A directory only this user can read, in memory where the system offers it."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="fieldkit-open-", dir=base))


@contextlib.contextmanager
def opened_copy(store: Store, case_id: str, attachment_id: str) -> Iterator[Path]:
    """A decrypted copy for the worker to look at; the directory is removed afterwards."""
    att = find(store, case_id, attachment_id)
    folder = _private_dir()
    os.chmod(folder, 0o700)
    safe = "".join(ch for ch in Path(att.name).name if ch.isalnum() or ch in "._- ") or "file"
    target = folder / safe
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for block in stream_plaintext(store, att):
                out.write(block)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- a preview on screen, from memory ---------------------------------------------------

PREVIEW_MAX_BYTES = 40_000_000
"""Larger images are not decoded for a preview (photos are downscaled on import anyway)."""

Rgb = tuple[int, int, int]


@dataclass(frozen=True)
class Preview:
    """A downscaled image as rows of (top, bottom) pixel colours: one terminal cell each,
    drawn as "▀" in the top colour on the bottom colour (any truecolour terminal)."""

    caption: str
    name: str
    width: int
    height: int
    """Of the original image, in pixels."""
    rows: tuple[tuple[tuple[Rgb, Rgb], ...], ...]


def preview(store: Store, case_id: str, attachment_id: str, columns: int, lines: int) -> Preview:
    """Decrypt an image attachment into memory (never to disk) and downscale it to fit
    `columns` × `lines` terminal cells (two pixels per cell, one above the other)."""
    from PIL import Image, UnidentifiedImageError

    att = find(store, case_id, attachment_id)
    if att.kind != "photo" and not att.media_type.startswith("image/"):
        raise AttachmentError(
            _("{kind} {id} is not an image; there is no preview").format(kind=att.kind, id=att.id)
        )
    if att.size > PREVIEW_MAX_BYTES:
        raise AttachmentError(
            _("attachment {id} is too large to preview ({human_size})").format(
                id=att.id, human_size=human_size(att.size)
            )
        )
    if not is_local(store, att):
        raise AttachmentError(
            _("attachment {id} is not on this laptop yet; sync to download it").format(id=att.id)
        )
    data = io.BytesIO()  # in memory only; dropped when the preview is made
    for block in stream_plaintext(store, att):
        data.write(block)
    data.seek(0)
    try:
        with Image.open(data) as image:
            width, height = image.size
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise AttachmentError(
            _("attachment {id} is not an image Pillow can read").format(id=att.id)
        ) from None
    finally:
        data.close()
    picture.thumbnail((max(1, columns), max(2, lines * 2)))
    if picture.height % 2:
        padded = Image.new("RGB", (picture.width, picture.height + 1), (0, 0, 0))
        padded.paste(picture, (0, 0))
        picture = padded
    pixels = picture.load()
    assert pixels is not None
    rows = tuple(
        tuple((_rgb(pixels[x, y]), _rgb(pixels[x, y + 1])) for x in range(picture.width))
        for y in range(0, picture.height, 2)
    )
    return Preview(att.caption, att.name, width, height, rows)


def _rgb(value: Any) -> Rgb:
    r, g, b = value[:3]
    return int(r), int(g), int(b)
