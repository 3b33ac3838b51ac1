"""Attachment chunks between a laptop and the server, after the text and never in its way.

`fieldkit sync` pushes and pulls ops first; only then does it upload the sealed chunks of
attachments still waiting, one chunk per request, marking each chunk uploaded as soon as
the server has it: an interruption loses at most the chunk in flight, and the next sync
asks the server which chunks it already holds and sends only the rest. Downloads check
each chunk's SHA-256 (its name, listed in the signed attachment record) and that it opens
with the case key before keeping it: a tampered chunk is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
from fieldkit.sync.protocol import auth_header, new_nonce, now_ms, request_message

from fieldkit.crypto import CryptoError
from fieldkit.errors import AttachmentError, OfflineError
from fieldkit.i18n import _
from fieldkit.store import Store
from fieldkit.store.chunks import Attachment, chunk_aad, ensure_schema, missing_chunks
from fieldkit.text import human_size

ProgressFn = Callable[[str, int, int | None], None]
PRESENT_BATCH = 500
MARK_EVERY = 8
"""Chunks per durable write on the laptop while sending or fetching (at most 4 MB)."""


def _request(
    client: Any, method: str, path: str, body: bytes = b"", json_body: bool = False
) -> httpx.Response:
    """One signed request with a raw body, answered as bytes (the JSON client wraps JSON)."""
    store: Store = client.store
    ts, nonce = now_ms() + client.offset_ms, new_nonce()
    sig = store.device_sign_key.sign(request_message(method, path, ts, nonce, body))
    headers = {
        "authorization": auth_header(store.device_id, ts, nonce, sig),
        "content-type": "application/json" if json_body else "application/octet-stream",
    }
    try:
        response: httpx.Response = client._http.request(method, path, content=body, headers=headers)
    except httpx.TimeoutException:
        raise OfflineError(
            _("the server at {url} did not answer in time; attachments wait, nothing lost").format(
                url=client.url
            )
        ) from None
    except httpx.TransportError:
        raise OfflineError(
            _("cannot reach the server at {url}; attachments wait, nothing lost").format(
                url=client.url
            )
        ) from None
    if response.status_code >= 500:
        raise OfflineError(
            _("the server at {url} is unavailable; attachments wait").format(url=client.url)
        )
    return response


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail"))
    except (ValueError, AttributeError):
        return response.text[:200]


class FileProgress(str):
    """The progress phase of one attachment's chunks. As text it is the line `fieldkit sync`
    prints (id, kind and size: no file name, no caption, since a terminal's output can be
    logged); the app reads `direction` and `name` to say "uploading photo.jpg" on screen."""

    direction: str
    name: str
    attachment_id: str

    def __new__(cls, text: str, direction: str, name: str, attachment_id: str) -> FileProgress:
        made = super().__new__(cls, text)
        made.direction, made.name, made.attachment_id = direction, name, attachment_id
        return made


def _label(store: Store, case_id: str, attachment_id: str, direction: str) -> FileProgress:
    """How a file is named in progress lines: id, kind and size (no file name, no caption)."""
    ent = store.entity(case_id, "attachment", attachment_id)
    fields = ent.fields if ent is not None else {}
    size = human_size(int(fields.get("size") or 0))
    return FileProgress(
        f"attachment …{attachment_id[-8:]} ({fields.get('kind', 'file')}, {size})",
        direction,
        str(fields.get("name") or fields.get("kind") or "file"),
        attachment_id,
    )


def waiting_uploads(store: Store) -> list[tuple[str, str, int]]:
    """(case_id, attachment_id, chunks) not yet on the server, oldest first."""
    with store.transaction() as conn:  # the table made if need be, and read: one BEGIN
        ensure_schema(store)
        rows = conn.execute(
            "SELECT case_id, attachment_id, count(*), min(rowid) FROM attachment_chunks"
            " WHERE uploaded=0 GROUP BY case_id, attachment_id ORDER BY min(rowid)"
        ).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]


def waiting_chunks(store: Store) -> int:
    """Sealed chunks this laptop still has to upload."""
    return sum(n for _a, _b, n in waiting_uploads(store))


def _mark_uploaded(store: Store, hashes: list[str]) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE attachment_chunks SET uploaded=1 WHERE chunk_hash=?", [(h,) for h in hashes]
        )


def upload(store: Store, client: Any, progress: ProgressFn | None = None) -> int:
    """Send every waiting chunk; the number of attachments completed."""
    completed = 0
    for case_id, attachment_id, _count in waiting_uploads(store):
        with store.transaction() as conn:
            hashes = [
                r[0]
                for r in conn.execute(
                    "SELECT chunk_hash FROM attachment_chunks WHERE attachment_id=? ORDER BY idx",
                    (attachment_id,),
                )
            ]
            pending = {
                r[0]
                for r in conn.execute(
                    "SELECT chunk_hash FROM attachment_chunks WHERE attachment_id=? AND uploaded=0",
                    (attachment_id,),
                )
            }
        label = _label(store, case_id, attachment_id, "uploading")
        total = len(hashes)
        # Resume: the server may hold chunks whose acknowledgement this laptop never saw.
        todo = [h for h in hashes if h in pending]
        for start in range(0, len(todo), PRESENT_BATCH):
            batch = todo[start : start + PRESENT_BATCH]
            response = _request(
                client,
                "POST",
                "/v1/chunks/present",
                json.dumps({"case_id": case_id, "hashes": batch}).encode(),
                json_body=True,
            )
            if response.status_code >= 400:
                raise AttachmentError(
                    _("{label}: the server refused it: {detail}").format(
                        label=label, detail=_detail(response)
                    )
                )
            _mark_uploaded(store, list(response.json()["present"]))
        with store.transaction() as conn:
            remaining = [
                r[0]
                for r in conn.execute(
                    "SELECT chunk_hash FROM attachment_chunks"
                    " WHERE attachment_id=? AND uploaded=0 ORDER BY idx",
                    (attachment_id,),
                )
            ]
        done = total - len(remaining)
        if progress:
            progress(label, done, total)
        sent: list[str] = []
        try:
            for chunk_hash in remaining:
                with store.transaction() as conn:
                    (data,) = conn.execute(
                        "SELECT data FROM attachment_chunks WHERE chunk_hash=?", (chunk_hash,)
                    ).fetchone()
                response = _request(
                    client, "PUT", f"/v1/chunks/{case_id}/{chunk_hash}", bytes(data)
                )
                del data
                if response.status_code >= 400:
                    raise AttachmentError(
                        _("{label}: the server refused a chunk: {detail}").format(
                            label=label, detail=_detail(response)
                        )
                    )
                sent.append(chunk_hash)
                if len(sent) >= MARK_EVERY:
                    # Marked a few at a time (each mark is a durable write); after a crash
                    # the server's `present` answer covers chunks sent but not marked.
                    _mark_uploaded(store, sent)
                    sent = []
                done += 1
                if progress:
                    progress(label, done, total)
        finally:
            _mark_uploaded(store, sent)
        completed += 1
    return completed


def missing(store: Store, att: Attachment) -> list[tuple[int, str]]:
    """(index, chunk hash) of the chunks of an attachment this laptop lacks."""
    lacking = set(missing_chunks(store, att))
    return [(i, h) for i, h in enumerate(att.chunks) if h in lacking]


def download(store: Store, client: Any, att: Attachment, progress: ProgressFn | None = None) -> int:
    """Fetch the chunks this laptop lacks, each checked before it is kept; how many."""
    need = missing(store, att)
    if not need:
        return 0
    sealer = store.key_sealer(att.case_id, att.key_id)
    label = _label(store, att.case_id, att.id, "downloading")
    total, done = len(att.chunks), len(att.chunks) - len(need)
    kept: list[tuple[str, str, str, int, bytes]] = []

    def keep() -> None:
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO attachment_chunks"
                " (chunk_hash, case_id, attachment_id, idx, data, uploaded)"
                " VALUES (?,?,?,?,?,1) ON CONFLICT(chunk_hash) DO NOTHING",
                kept,
            )
        kept.clear()

    try:
        for index, chunk_hash in need:
            response = _request(client, "GET", f"/v1/chunks/{att.case_id}/{chunk_hash}")
            if response.status_code >= 400:
                raise AttachmentError(f"{label}: {_detail(response)}")
            data = response.content
            if hashlib.sha256(data).hexdigest() != chunk_hash:
                raise AttachmentError(
                    _(
                        "{label}: chunk {index} from the server does not match its signed "
                        "hash; refused (tampered)"
                    ).format(label=label, index=index)
                )
            try:
                sealer.open(data, chunk_aad(att.id, index))
            except CryptoError:
                raise AttachmentError(
                    _("{label}: chunk {index} does not open with the case key; refused").format(
                        label=label, index=index
                    )
                ) from None
            kept.append((chunk_hash, att.case_id, att.id, index, data))
            if len(kept) >= MARK_EVERY:
                keep()
            done += 1
            if progress:
                progress(label, done, total)
    finally:
        if kept:
            keep()
    return len(need)


def not_local(store: Store, case_id: str | None = None) -> list[Attachment]:
    """Attachments whose records arrived but whose chunks are not all here."""
    found = []
    for ent in store.entities(case_id, "attachment"):
        att = Attachment.from_fields(ent.case_id, ent.entity_id, ent.fields)
        if missing(store, att):
            found.append(att)
    return found


def sync_attachments(
    store: Store,
    client: Any,
    summary: Any,
    progress: ProgressFn | None = None,
    pull_all: bool = False,
) -> None:
    """After the text: upload waiting chunks, then (if the profile says so) download.

    An interruption here never undoes or hides the text already synced: it is reported
    as chunks still waiting, and the next sync resumes where this one stopped.
    """
    try:
        summary.attachments_sent = upload(store, client, progress)
        if pull_all:
            for att in not_local(store):
                download(store, client, att, progress)
                summary.attachments_received += 1
    except OfflineError as exc:
        summary.attachment_problems.append(str(exc))
    except AttachmentError as exc:
        summary.attachment_problems.append(str(exc))
    summary.attachment_chunks_waiting = waiting_chunks(store)
