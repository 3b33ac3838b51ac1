"""Attachments through the server: chunked, resumable, idempotent, never plaintext, checked.

The server runs as `fieldkit server` in a child process (so a test can kill it) on SQLite
and on PostgreSQL; the 50 MB round trip runs each laptop in a child process of its own so
its peak memory (max RSS) can be measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fieldkit.sync.attachment_sync import _request, download, waiting_chunks
from fieldkit.sync.client import SyncClient, run_sync
from fieldkit.sync.db import open_database
from sqlalchemy import Engine, text

from fieldkit import attachments
from fieldkit.errors import AttachmentError
from fieldkit.store import Store
from tests.conftest import PASSPHRASE
from tests.sync.conftest import ROOT, Agency, ProcessServer, make_agency, server_op_ids, synced_team

MARKER = b"ATTACHMENT-PLAINTEXT-7781|"
MB = 1_000_000


class PatientServer(ProcessServer):
    """`fieldkit server` in a child process, given time to start on a busy machine."""

    def start(self) -> PatientServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldkit.cli", "server", "--db", self.db]
            + ["--port", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self.await_health(within=120)


@pytest.fixture
def killable(db_url: str, tmp_path: Path) -> Iterator[tuple[Agency, PatientServer]]:
    """An agency whose server is a child process, on SQLite or PostgreSQL."""
    engine = open_database(db_url)
    server = PatientServer(db_url).start()
    agency = make_agency(engine, server.url, tmp_path / "laptops")
    yield agency, server
    server.kill()
    for store in agency.stores:
        with contextlib.suppress(Exception):
            store.close()
    engine.dispose()


def _file(path: Path, size: int) -> Path:
    """`size` bytes that are all marker text (so any plaintext copy is easy to find)."""
    block = MARKER * (1 << 16)
    with path.open("wb") as out:
        left = size
        while left:
            piece = block[: min(left, len(block))]
            out.write(piece)
            left -= len(piece)
    return path


def _contains_marker(path: Path) -> bool:
    with path.open("rb") as source:
        tail = b""
        while block := source.read(1 << 20):
            if MARKER in tail + block:
                return True
            tail = block[-len(MARKER) :]
    return False


def _server_chunks(engine: Engine) -> list[bytes]:
    with engine.connect() as conn:
        return [bytes(r[0]) for r in conn.execute(text("SELECT data FROM attachment_chunks"))]


def _server_chunk_hashes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT chunk_hash FROM attachment_chunks"))]


CHILD = textwrap.dedent(
    """
    import hashlib, json, sys
    from pathlib import Path
    from fieldkit import attachments
    from fieldkit.store import Store
    from fieldkit.sync.attachment_sync import download
    from fieldkit.sync.client import SyncClient, run_sync

    role, profile, passphrase, source = sys.argv[1:5]
    store = Store.open(Path(profile), passphrase)
    run_sync(store)  # warm: every module, the connection and the case are loaded
    def vm(key):
        with open("/proc/self/status") as status:
            line = next(l for l in status if l.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak (VmHWM): measure only what follows
    base = vm("VmRSS")
    result = {}
    if role == "send":
        ids = attachments.attach(store, "C-1", Path(source), caption="scan")
        summary = run_sync(store)
        result.update(ids=ids, waiting=summary.attachment_chunks_waiting,
                      problems=summary.attachment_problems, sent=summary.attachments_sent)
    else:
        (att,) = [a for a in attachments.attachments_of(store, "C-1")]
        with SyncClient(store) as client:
            client.hello()
            download(store, client, att)
        digest = hashlib.sha256()
        for block in attachments.stream_plaintext(store, att):
            digest.update(block)
        result.update(sha256=digest.hexdigest(), size=att.size, expected=att.sha256)
    peak = vm("VmHWM")
    result.update(base_mb=base / 1e6, peak_mb=peak / 1e6)
    store.close()
    print(json.dumps(result))
    """
)


def _child(role: str, store: Store, source: Path) -> dict[str, object]:
    path = store.path
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, role, str(path), PASSPHRASE, str(source)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_50mb_round_trip_with_bounded_memory_and_no_plaintext(
    killable: tuple[Agency, PatientServer], tmp_path: Path
) -> None:
    agency, _server = killable
    sup, worker = synced_team(agency)
    source = _file(tmp_path / "scan-50mb.bin", 50 * MB)
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    sent = _child("send", worker, source)
    assert sent["waiting"] == 0, sent
    assert sent["problems"] == [] and sent["sent"] == 1
    # Bounded: the laptop never held the file (50 MB) in memory while sealing and sending.
    assert float(sent["peak_mb"]) - float(sent["base_mb"]) < 30, sent  # type: ignore[arg-type]
    chunks = _server_chunks(agency.engine)
    assert len(chunks) == 96 and all(len(c) <= 512 * 1024 for c in chunks)
    run_sync(sup)
    got = _child("receive", sup, source)
    assert got["sha256"] == got["expected"] == expected and got["size"] == 50 * MB
    assert float(got["peak_mb"]) - float(got["base_mb"]) < 30, got  # type: ignore[arg-type]
    # Never plaintext: not in any file under either laptop's data dir, nor the server DB.
    for laptop in (worker.path, sup.path):
        for path in laptop.parent.iterdir():
            assert not _contains_marker(path), f"plaintext in {path}"
    assert not any(MARKER in chunk for chunk in chunks)
    if agency.engine.dialect.name == "sqlite":
        db_file = Path(str(agency.engine.url.database))
        for path in db_file.parent.glob(db_file.name + "*"):
            assert not _contains_marker(path), f"plaintext in {path}"


def test_upload_resumes_after_the_server_is_killed_and_text_syncs_first(
    killable: tuple[Agency, PatientServer], tmp_path: Path
) -> None:
    agency, server = killable
    sup, worker = synced_team(agency)
    (att_id,) = attachments.attach(worker, "C-1", _file(tmp_path / "photos.zip", 5 * MB))
    worker.record("C-1", "visit", "v1", {"date": "2026-11-20", "notes": "kitchen stocked"})
    att = attachments.find(worker, "C-1", att_id)
    assert len(att.chunks) == 10

    def kill_after_three_chunks(phase: str, done: int, total: int | None) -> None:
        if phase.startswith("attachment") and done >= 3:
            server.kill()

    summary = run_sync(worker, kill_after_three_chunks)
    # The text went first and is on the server; the attachment waits, nothing lost.
    assert worker.outbox_count() == 0 and summary.waiting == 0
    assert {op.op_id for op in worker.ops() if op.entity_id == "v1"} <= set(
        server_op_ids(agency.engine)
    )
    assert summary.attachment_chunks_waiting == 7 == waiting_chunks(worker)
    assert summary.attachment_problems and "nothing lost" in summary.attachment_problems[0]
    server = PatientServer(server.db, server.port).start()
    try:
        again = run_sync(worker)
        assert again.attachment_chunks_waiting == 0 and again.attachments_sent == 1
        hashes = _server_chunk_hashes(agency.engine)
        assert sorted(hashes) == sorted(att.chunks), "each chunk exactly once"
        run_sync(sup)
        with SyncClient(sup) as client:
            client.hello()
            assert download(sup, client, attachments.find(sup, "C-1", att_id)) == 10
            assert download(sup, client, attachments.find(sup, "C-1", att_id)) == 0
        data = b"".join(attachments.stream_plaintext(sup, attachments.find(sup, "C-1", att_id)))
        assert data == (tmp_path / "photos.zip").read_bytes()
        # A second upload of the same chunks is idempotent.
        with worker.transaction() as conn:
            conn.execute("UPDATE attachment_chunks SET uploaded=0")
        assert run_sync(worker).attachment_chunks_waiting == 0
        assert len(_server_chunk_hashes(agency.engine)) == 10
    finally:
        server.kill()


def test_a_tampered_chunk_is_refused_by_server_and_laptop(agency: Agency, tmp_path: Path) -> None:
    sup, worker = synced_team(agency)
    (att_id,) = attachments.attach(worker, "C-1", _file(tmp_path / "letter.pdf", 1 * MB))
    att = attachments.find(worker, "C-1", att_id)
    with SyncClient(worker) as client:
        client.hello()
        wrong = _request(client, "PUT", f"/v1/chunks/C-1/{att.chunks[0]}", b"not the chunk")
        assert wrong.status_code == 422 and "do not match its SHA-256" in wrong.text
        outsider = agency.laptop("bwong")
        with SyncClient(outsider) as other:
            other.hello()
            refused = _request(other, "GET", f"/v1/chunks/C-1/{att.chunks[0]}")
            assert refused.status_code == 403
    run_sync(worker)
    run_sync(sup)
    # Someone with the server database flips a byte of a stored chunk.
    with agency.engine.begin() as conn:
        (data,) = conn.execute(
            text("SELECT data FROM attachment_chunks WHERE chunk_hash=:h"), {"h": att.chunks[1]}
        ).one()
        data = bytes(data)
        conn.execute(
            text("UPDATE attachment_chunks SET data=:d WHERE chunk_hash=:h"),
            {"d": data[:100] + bytes([data[100] ^ 1]) + data[101:], "h": att.chunks[1]},
        )
    target = attachments.find(sup, "C-1", att_id)
    with SyncClient(sup) as client:
        client.hello()
        with pytest.raises(AttachmentError, match="chunk 1 .* refused"):
            download(sup, client, target)
    assert not attachments.is_local(sup, target)
    with pytest.raises(AttachmentError, match="not fully on this laptop"):
        b"".join(attachments.stream_plaintext(sup, target))
