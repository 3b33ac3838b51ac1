"""Attachments: photos, scans and files on a visit, a case record or a safety plan.

A file is read in chunks and each chunk is sealed with the case key as it is read, so a
200 MB file never sits whole in memory (`fieldkit.store.chunks`: the chunks in the
profile's SQLite file, each named by the SHA-256 of its ciphertext). The attachment itself
is a record (entity "attachment") written as one signed op whose sealed body holds the
SHA-256 of the plaintext, its size, and the list of chunk hashes: the device's signature
covers the content.

Photos are downscaled on import (the profile's `photo_max_edge`; the original is kept
only when the profile says so) and their location (EXIF GPS) is removed unless the worker
keeps it. A decrypted copy exists only when the worker asks to open one, in a private
temporary directory removed afterwards.
"""

from __future__ import annotations

import contextlib
import io
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldkit import changelog, services
from fieldkit.errors import AttachmentError
from fieldkit.evidence import now_text
from fieldkit.i18n import _
from fieldkit.store import Store
from fieldkit.store.chunks import (
    Attachment,
    drop_chunks,
    ensure_schema,
    is_local,
    seal_stream,
    stream_plaintext,
)
from fieldkit.text import human_size

IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "MPO": ".jpg"}
GPS_IFD = 0x8825
TARGETS = ("case", "visit", "safety_plan", "service_plan")


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
    # local: Pillow adds ~13 ms to every command's start (-X importtime); only photos need it
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
            digest, size, hashes, key_id = seal_stream(store, case_id, main_id, io.BytesIO(data))
            del data
        else:
            name, location_kept = path.name, False
            with path.open("rb") as source:
                digest, size, hashes, key_id = seal_stream(store, case_id, main_id, source)
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
                    digest, size, hashes, key_id = seal_stream(store, case_id, original_id, source)
            else:
                full = prepare_photo(path, 1 << 16, keep_location=False)
                assert full is not None
                digest, size, hashes, key_id = seal_stream(
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
        drop_chunks(store, [main_id] + ([original_id] if original_id else []))
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
    # local: Pillow, as in prepare_photo
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


__all__ = [
    "PREVIEW_MAX_BYTES",
    "TARGETS",
    "Attachment",
    "AttachmentError",
    "Preview",
    "attach",
    "attachment_line",
    "attachments_of",
    "find",
    "is_local",
    "opened_copy",
    "prepare_photo",
    "preview",
    "stream_plaintext",
]
