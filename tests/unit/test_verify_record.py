"""A printed visit record checked against the signed log: unchanged, amended, forged."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from fieldkit import services
from fieldkit.pdf import visit_pdf
from fieldkit.record_verify import read_stamp, verify_record
from fieldkit.services import review
from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli, sample_case, signed_visit, transfer_doc


@pytest.fixture
def approved(store: Store, tmp_path: Path) -> Path:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    store.set_meta("role", "supervisor")
    signed_visit(store)
    review.approve(store, "C-1", "visit", "v1")
    out = tmp_path / "visit.pdf"
    visit_pdf(store, "v1", out)
    return out


def test_the_pdf_prints_its_hashes_and_a_qr_code(store: Store, approved: Path) -> None:
    stamp = read_stamp(approved)
    content = review.visit_content(store, "C-1", "v1")
    from fieldkit import changelog

    assert stamp.content_hash == changelog.content_hash(content)
    assert stamp.approval_hash is not None
    reader = PdfReader(str(approved))
    text = " ".join((p.extract_text() or "") for p in reader.pages)
    assert f"Approval SHA-256: {stamp.approval_hash}" in " ".join(text.split())
    assert any(
        "/Image" in str(p.get("/Resources", {}).get("/XObject", {})) or p.images
        for p in reader.pages
    ), "the QR code is on the page"


def test_unchanged_record_verifies(store: Store, approved: Path) -> None:
    verdict = verify_record(store, approved)
    assert verdict.status == "unchanged" and verdict.approved_by == "jsmith"


def test_amended_record_lists_its_addenda(store: Store, approved: Path) -> None:
    store.record(
        "C-1",
        "addendum",
        "a1",
        {"visit": "v1", "text": "Leo also said grandma stays", "date": "2026-11-22"},
    )
    verdict = verify_record(store, approved)
    assert verdict.status == "amended"
    assert [a["text"] for a in verdict.addenda] == ["Leo also said grandma stays"]


def test_forged_pdfs_are_unknown(store: Store, approved: Path, tmp_path: Path) -> None:
    data = approved.read_bytes()
    stamp = read_stamp(approved)
    assert stamp.approval_hash
    forged_content = tmp_path / "forged.pdf"
    forged_content.write_bytes(data.replace(stamp.content_hash.encode(), b"0" * 64))
    assert verify_record(store, forged_content).status == "unknown"
    forged_approval = tmp_path / "forged-approval.pdf"
    forged_approval.write_bytes(data.replace(stamp.approval_hash.encode(), b"1" * 64))
    verdict = verify_record(store, forged_approval)
    assert verdict.status == "unknown" and "approval" in verdict.message
    other = tmp_path / "other-visit.pdf"
    other.write_bytes(data.replace(b"visit=v1 ", b"visit=v7 "))
    assert verify_record(store, other).status == "unknown"


def test_verify_record_command(store: Store, approved: Path, tmp_path: Path) -> None:
    path = store.path
    store.close()
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(path.parent)}
    ok = run_cli("verify-record", str(approved), env=env)
    assert ok.returncode == 0, ok.stderr
    assert "unchanged" in ok.stdout
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(
        approved.read_bytes().replace(read_stamp(approved).content_hash.encode(), b"a" * 64)
    )
    bad = run_cli("verify-record", str(forged), env=env)
    assert bad.returncode == 1 and "unknown" in bad.stdout
    junk = tmp_path / "note.pdf"
    junk.write_bytes(b"%PDF-1.4 nothing here")
    none = run_cli("verify-record", str(junk), env=env)
    assert none.returncode == 1 and "no fieldkit record stamp" in none.stderr
