"""`fieldkit admin revoke DEVICE --wipe`: the laptop's pending work arrives first, then its
keys and profile are gone; a plain revoke still refuses and keeps everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fieldkit.sync import admin
from fieldkit.sync.client import SyncRefused, run_sync
from fieldkit.sync.wipe import LaptopWiped

from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli
from tests.sync.conftest import Agency, own_ids, server_op_ids, synced_team


def test_revoke_with_wipe_sends_the_pending_work_then_erases(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    pending = [worker.record("C-1", "visit", f"v{n}", {"notes": "unsent"}) for n in range(3)]
    assert worker.outbox_count() == 3
    written = own_ids(worker)
    path = Path(worker.path)
    admin.revoke(agency.engine, worker.device_id, wipe=True)
    with pytest.raises(LaptopWiped, match="3 changes were sent") as raised:
        run_sync(worker)
    assert raised.value.exit_code == 5
    # The work arrived, exactly once ...
    stored = server_op_ids(agency.engine)
    assert {op.op_id for op in pending} <= set(stored) and written <= set(stored)
    assert len(stored) == len(set(stored))
    # ... and then the keys and the profile were gone.
    assert not path.exists() and not Path(f"{path}-wal").exists()
    with pytest.raises(Exception):  # noqa: B017 - whatever the store says, it cannot open
        Store.open(path, PASSPHRASE)
    events = [e["action"] for e in admin.audit_events(agency.engine)]
    assert "revoke with wipe" in events and "wiped" in events
    # The supervisor receives the work of the retired laptop.
    assert run_sync(sup).pulled == len(written)


def test_a_wiped_laptop_restored_from_a_copy_is_refused(agency: Agency, tmp_path: Path) -> None:
    sup, worker = synced_team(agency)
    worker.record("C-1", "visit", "v1", {"notes": "x"})
    worker.checkpoint()
    copy = tmp_path / "copy.fieldkit"
    copy.write_bytes(Path(worker.path).read_bytes())
    admin.revoke(agency.engine, worker.device_id, wipe=True)
    with pytest.raises(LaptopWiped):
        run_sync(worker)
    restored = Store.open(copy, PASSPHRASE)
    with pytest.raises(SyncRefused, match="revoked by the agency") as raised:
        run_sync(restored)
    assert raised.value.exit_code == 5
    assert copy.exists()  # only a wipe the agency asked for erases, and this one is done
    restored.close()


def test_a_plain_revoke_refuses_and_erases_nothing(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    worker.record("C-1", "visit", "v1", {"notes": "x"})
    admin.revoke(agency.engine, worker.device_id)
    with pytest.raises(SyncRefused, match="revoked by the agency"):
        run_sync(worker)
    assert Path(worker.path).exists() and worker.outbox_count() == 1


def test_the_cli_reports_the_wipe_as_one_json_object(agency: Agency, tmp_path: Path) -> None:
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(tmp_path / "cli")}
    assert run_cli("init", "--user", "bwong", env=env).returncode == 0
    code = admin.enroll_code(agency.engine, "bwong")
    assert run_cli("enroll", agency.url, code.code, env=env).returncode == 0
    profile = tmp_path / "cli" / "default.fieldkit"
    store = Store.open(profile, PASSPHRASE)
    device = store.device_id
    store.close()
    revoked = run_cli("admin", "revoke", device[:13], "--wipe", env={"FIELDKIT_SERVER_DB": ""})
    assert revoked.returncode == 1  # no database named: nothing created, nothing revoked
    admin.revoke(agency.engine, device, wipe=True)
    result = run_cli("sync", "--json", env=env)
    report = json.loads(result.stdout)
    assert result.returncode == 5 and report["exit_code"] == 5
    assert "retired" in report["message"] and not profile.exists()
