"""Attachments on the laptop: chunked, sealed, signed; photos downscaled without location."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from fieldkit import attachments, services
from fieldkit.errors import AttachmentError
from fieldkit.store import Store
from fieldkit.store.chunks import CHUNK_BYTES
from tests.conftest import (
    cli_profile,
    run_cli,
    sample_case,
    signed_visit,
    transfer_doc,
)

MARKER = b"PLAINTEXT-MARKER-0417-"


@pytest.fixture
def case_store(store: Store) -> Store:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    return store


def _document(path: Path, chunks: float) -> Path:
    size = int(CHUNK_BYTES * chunks)
    block = (MARKER * (size // len(MARKER) + 1))[:size]
    path.write_bytes(block)
    return path


def _photo(path: Path, size: tuple[int, int] = (4000, 3000), gps: bool = True) -> Path:
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make: kept
    if gps:
        exif[0x8825] = {1: "N", 2: (43.0, 39.0, 12.5), 3: "W", 4: (79.0, 23.0, 1.0)}
    image.save(path, format="JPEG", exif=exif.tobytes())
    return path


def _all_bytes_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_a_file_is_chunked_sealed_signed_and_reads_back(case_store: Store, tmp_path: Path) -> None:
    source = _document(tmp_path / "school-report.pdf", 2.5)
    (att_id,) = attachments.attach(case_store, "C-1", source, caption="Report card")
    att = attachments.find(case_store, "C-1", att_id)
    assert len(att.chunks) == 3 and att.size == source.stat().st_size
    assert att.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert att.kind == "document" and att.caption == "Report card"
    ent = case_store.entity("C-1", "attachment", att_id)
    assert ent is not None and ent.signed is not None, "the signature covers the hash"
    assert b"".join(attachments.stream_plaintext(case_store, att)) == source.read_bytes()
    case_store.checkpoint()
    assert MARKER not in _all_bytes_under(case_store.path.parent), "no plaintext in the data dir"
    assert case_store.verify().ok
    exported = services.export_case(case_store, "C-1")["cases"][0]
    assert exported["records"]["attachment"][0]["sha256"] == att.sha256


def test_attach_to_a_visit_and_to_an_unknown_visit(case_store: Store, tmp_path: Path) -> None:
    signed_visit(case_store)
    source = _document(tmp_path / "note.txt", 0.1)
    (att_id,) = attachments.attach(case_store, "C-1", source, target="visit", target_id="v1")
    assert attachments.find(case_store, "C-1", att_id).target_id == "v1"
    before = case_store.log_mark()
    with pytest.raises(AttachmentError, match="no visit v9 on case C-1"):
        attachments.attach(case_store, "C-1", source, target="visit", target_id="v9")
    with pytest.raises(AttachmentError, match="no such file"):
        attachments.attach(case_store, "C-1", tmp_path / "missing.jpg")
    assert case_store.log_mark() == before


def test_a_photo_is_downscaled_and_loses_its_location(case_store: Store, tmp_path: Path) -> None:
    source = _photo(tmp_path / "kitchen.jpg")
    (att_id,) = attachments.attach(case_store, "C-1", source, max_edge=1024)
    att = attachments.find(case_store, "C-1", att_id)
    image = Image.open(io.BytesIO(b"".join(attachments.stream_plaintext(case_store, att))))
    assert max(image.size) == 1024 and image.size == (1024, 768)
    exif = image.getexif()
    assert 0x8825 not in exif, "GPS removed"
    assert exif.get(0x010F) == "PhoneMaker"
    assert att.kind == "photo" and not att.location_kept


def test_the_worker_may_keep_location_and_the_profile_the_original(
    case_store: Store, tmp_path: Path
) -> None:
    source = _photo(tmp_path / "injury.jpg", size=(3000, 2000))
    ids = attachments.attach(
        case_store, "C-1", source, keep_location=True, keep_original=True, max_edge=800
    )
    small, original = (attachments.find(case_store, "C-1", i) for i in ids)
    assert small.location_kept and original.original_of == small.id
    assert b"".join(attachments.stream_plaintext(case_store, original)) == source.read_bytes()
    shrunk = Image.open(io.BytesIO(b"".join(attachments.stream_plaintext(case_store, small))))
    assert shrunk.size == (800, 533) and 0x8825 in shrunk.getexif()


def test_a_tampered_chunk_is_refused(case_store: Store, tmp_path: Path) -> None:
    (att_id,) = attachments.attach(case_store, "C-1", _document(tmp_path / "a.bin", 1.5))
    att = attachments.find(case_store, "C-1", att_id)
    with case_store.transaction() as conn:
        (data,) = conn.execute(
            "SELECT data FROM attachment_chunks WHERE chunk_hash=?", (att.chunks[1],)
        ).fetchone()
        flipped = bytes(data[:40]) + bytes([data[40] ^ 1]) + bytes(data[41:])
        conn.execute(
            "UPDATE attachment_chunks SET data=? WHERE chunk_hash=?", (flipped, att.chunks[1])
        )
    with pytest.raises(AttachmentError, match="chunk 1 was altered"):
        b"".join(attachments.stream_plaintext(case_store, att))


def test_opening_makes_a_private_copy_removed_afterwards(case_store: Store, tmp_path: Path) -> None:
    source = _document(tmp_path / "scan.pdf", 0.3)
    (att_id,) = attachments.attach(case_store, "C-1", source)
    with attachments.opened_copy(case_store, "C-1", att_id) as path:
        assert path.read_bytes() == source.read_bytes()
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        folder = path.parent
    assert not folder.exists()


def test_attach_and_list_from_the_command_line(tmp_path: Path) -> None:
    env = cli_profile(tmp_path)
    photo = _photo(tmp_path / "home-conditions.jpg", size=(3000, 1500))
    done = run_cli("attach", "C-1", str(photo), "--caption", "-", env=env, input="Kitchen\n")
    assert done.returncode == 0, done.stderr
    assert "Attached att-" in done.stdout and "photo" in done.stdout
    listed = run_cli("attachments", "C-1", env=env)
    assert listed.returncode == 0 and "Kitchen" in listed.stdout and "photo" in listed.stdout
    bad = run_cli("attach", "C-1", str(tmp_path / "nope.jpg"), "--caption", "-", env=env, input="")
    assert bad.returncode == 1 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_an_attachment_names_its_key_and_reads_back_after_a_new_key(
    case_store: Store, tmp_path: Path
) -> None:
    """After the case key is replaced (a new generation), an older attachment still opens
    with the key it names, and a new one is sealed with the new key."""
    from fieldkit.crypto import random_key

    old_source = _document(tmp_path / "old.bin", 1.5)
    (old_id,) = attachments.attach(case_store, "C-1", old_source)
    old_key_id, _ = case_store.case_key("C-1")
    case_store.put_case_key("C-1", "C-1#gen1", random_key(), generation=1, shared=True)
    new_source = _document(tmp_path / "new.bin", 1.2)
    (new_id,) = attachments.attach(case_store, "C-1", new_source)
    old, new = (attachments.find(case_store, "C-1", i) for i in (old_id, new_id))
    assert (old.key_id, new.key_id) == (old_key_id, "C-1#gen1")
    assert b"".join(attachments.stream_plaintext(case_store, old)) == old_source.read_bytes()
    assert b"".join(attachments.stream_plaintext(case_store, new)) == new_source.read_bytes()
    # Entity rows and op bodies sealed before the new key still open; new ones use it.
    assert case_store.entity("C-1", "attachment", old_id) is not None
    assert case_store.record("C-1", "visit", "v-new", {"date": "2026-11-20"}).key_id == "C-1#gen1"
    assert case_store.verify().ok and not case_store.rebuild_differences()


def test_a_copy_that_fails_to_decrypt_leaves_no_folder(
    case_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (att_id,) = attachments.attach(case_store, "C-1", _document(tmp_path / "a.bin", 1.5))
    att = attachments.find(case_store, "C-1", att_id)
    with case_store.transaction() as conn:
        conn.execute("UPDATE attachment_chunks SET data=x'00' WHERE chunk_hash=?", (att.chunks[1],))
    made: list[Path] = []
    private_dir = attachments._private_dir

    def spy() -> Path:
        made.append(private_dir())
        return made[-1]

    monkeypatch.setattr(attachments, "_private_dir", spy)
    with (
        pytest.raises(AttachmentError, match="chunk 1 was altered"),
        attachments.opened_copy(case_store, "C-1", att_id),
    ):
        pass
    assert len(made) == 1 and not made[0].exists()


def test_a_preview_is_made_in_memory_and_fits_the_cells(
    case_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = Image.new("RGB", (1200, 800), (200, 0, 0))
    picture.paste((0, 0, 200), (0, 400, 1200, 800))  # lower half blue
    picture.save(tmp_path / "crib.jpg", format="JPEG", quality=95)
    (att_id,) = attachments.attach(case_store, "C-1", tmp_path / "crib.jpg", caption="Crib")

    def no_disk() -> Path:
        raise AssertionError("a preview never writes a decrypted copy")

    monkeypatch.setattr(attachments, "_private_dir", no_disk)
    shown = attachments.preview(case_store, "C-1", att_id, columns=60, lines=20)
    assert shown.caption == "Crib" and (shown.width, shown.height) == (1200, 800)
    assert len(shown.rows) <= 20 and all(len(row) <= 60 for row in shown.rows)
    assert len(shown.rows[0]) == 60  # the width limits a 3:2 picture here
    (top, _), (_, bottom) = shown.rows[0][0], shown.rows[-1][-1]
    assert top[0] > 150 and top[2] < 60, top  # red above
    assert bottom[2] > 150 and bottom[0] < 60, bottom  # blue below


def test_only_an_image_has_a_preview(case_store: Store, tmp_path: Path) -> None:
    (att_id,) = attachments.attach(case_store, "C-1", _document(tmp_path / "scan.pdf", 0.2))
    with pytest.raises(AttachmentError, match="not an image"):
        attachments.preview(case_store, "C-1", att_id, 60, 20)
