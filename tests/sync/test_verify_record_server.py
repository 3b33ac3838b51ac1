"""An auditor with an account asks the server about a printed visit record (POST
/v1/verify-record): unchanged, amended with the changes received since, or unknown for a
forged paper. The server answers from op hashes and metadata only (docs/server.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fieldkit.sync.client import SyncRefused

from fieldkit.pdf import visit_pdf
from fieldkit.record_verify import Stamp, read_stamp
from fieldkit.services import review, visits
from fieldkit.services.sync import run_sync, verify_record_on_server
from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli, signed_visit
from tests.sync.conftest import Agency, synced_team


def _printed(agency: Agency, tmp_path: Path) -> tuple[Store, Store, Path]:
    """jsmith signs v1, akhan approves it and prints the record; both have synced."""
    sup, worker = synced_team(agency)
    signed_visit(worker, "v1")
    run_sync(worker)
    run_sync(sup)
    review.approve(sup, "C-1", "visit", "v1")
    run_sync(sup)
    out = tmp_path / "v1.pdf"
    visit_pdf(sup, "v1", out)
    return sup, worker, out


def test_unchanged_amended_and_forged_as_the_server_sees_them(
    agency: Agency, tmp_path: Path
) -> None:
    agency.person("audrey", "auditor")
    sup, worker, pdf = _printed(agency, tmp_path)
    auditor = agency.laptop("audrey")
    stamp = read_stamp(pdf)
    assert stamp.chain_hash is not None and stamp.approval_hash is not None

    unchanged = verify_record_on_server(auditor, stamp)
    assert unchanged.status == "unchanged", unchanged.message
    assert unchanged.approved_by == "akhan" and unchanged.addenda == []

    # A changed content hash breaks the chain hash it is bound to.
    forged = Stamp(stamp.case_id, "v1", "0" * 64, stamp.approval_hash, stamp.chain_hash)
    assert verify_record_on_server(auditor, forged).status == "unknown"
    # An approval that was never made, or an op that is not an approval.
    visit_op = next(op.hash for op in worker.ops() if op.entity == "visit")
    for bad in ("1" * 64, visit_op):
        fake = Stamp(stamp.case_id, "v1", stamp.content_hash, bad, stamp.chain_hash)
        verdict = verify_record_on_server(auditor, fake)
        assert verdict.status == "unknown" and "approval" in verdict.message
    # A visit the server never received.
    ghost = Stamp("C-1", "v9", stamp.content_hash, None, stamp.chain_hash)
    assert verify_record_on_server(auditor, ghost).status == "unknown"
    # A wholly invented chain.
    invented = Stamp("C-1", "v1", stamp.content_hash, None, "2" * 64)
    assert verify_record_on_server(auditor, invented).status == "unknown"

    # The worker answers with an addendum after the paper was printed.
    addendum = visits.add_addendum(
        worker, "C-1", "v1", "Leo's school called", "jsmith", date.today()
    )
    assert addendum.endswith("@v1")
    run_sync(worker)
    amended = verify_record_on_server(auditor, stamp)
    assert amended.status == "amended", amended.message
    assert [(a["kind"], a["id"], a["author"]) for a in amended.addenda] == [
        ("addendum", addendum, "jsmith")
    ]
    # The server saw ids and times, never the addendum's text.
    assert "school" not in repr(amended.to_json())

    # A paper printed now (with the addendum) is unchanged again.
    run_sync(sup)
    again = tmp_path / "v1-again.pdf"
    visit_pdf(sup, "v1", again)
    assert verify_record_on_server(auditor, read_stamp(again)).status == "unchanged"


def test_the_command_asks_the_server(agency: Agency, tmp_path: Path) -> None:
    agency.person("audrey", "auditor")
    _sup, worker, pdf = _printed(agency, tmp_path)
    auditor = agency.laptop("audrey")
    visits.add_addendum(worker, "C-1", "v1", "a correction", "jsmith", date.today())
    run_sync(worker)
    path = auditor.path
    auditor.close()
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    base = ("--data-dir", str(path.parent), "--profile", path.stem, "verify-record", str(pdf))
    amended = run_cli(*base, "--server", env=env)
    assert amended.returncode == 0, amended.stderr
    assert "amended" in amended.stdout and "addendum add-" in amended.stdout
    forged = tmp_path / "forged.pdf"
    stamp = read_stamp(pdf)
    forged.write_bytes(pdf.read_bytes().replace(stamp.content_hash.encode(), b"a" * 64))
    base = ("--data-dir", str(path.parent), "--profile", path.stem, "verify-record", str(forged))
    bad = run_cli(*base, "--server", env=env)
    assert bad.returncode == 1 and "unknown" in bad.stdout, bad.stdout + bad.stderr


def test_who_may_ask(agency: Agency, tmp_path: Path) -> None:
    """A worker may not ask; a supervisor only about their team's cases; an admin may."""
    sup, worker, pdf = _printed(agency, tmp_path)
    stamp = read_stamp(pdf)
    with pytest.raises(SyncRefused, match="jsmith is a worker"):
        verify_record_on_server(worker, stamp)
    assert verify_record_on_server(sup, stamp).status == "unchanged"
    agency.person("bkim", "supervisor")
    with pytest.raises(SyncRefused, match="bkim does not supervise case C-1"):
        verify_record_on_server(agency.laptop("bkim"), stamp)
    agency.person("root", "admin")
    assert verify_record_on_server(agency.laptop("root"), stamp).status == "unchanged"
