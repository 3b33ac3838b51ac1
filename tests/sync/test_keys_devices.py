"""The device list of `/v1/keys` is incremental, and a laptop never calls an op
unverifiable for want of a device it was not sent."""

from __future__ import annotations

from fieldkit.sync.client import SyncClient, run_sync
from fieldkit.sync.transport import DEVICES_AS_OF

from tests.sync.conftest import Agency, assigned_case


def test_keys_lists_only_devices_enrolled_since_the_last_answer(agency: Agency) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    since = worker.meta(DEVICES_AS_OF)
    assert since
    with SyncClient(worker) as client:
        client.hello()
        full = client.get("/v1/keys")
        later = client.get(f"/v1/keys?devices_since={int(since) + 20 * 60_000}")
    assert {d["device_id"] for d in full["devices"]} >= {sup.device_id, worker.device_id}
    assert later["devices"] == []
    assert later["envelopes"] == full["envelopes"]


def test_an_op_from_a_device_not_yet_listed_is_verified_after_asking_for_all(
    agency: Agency,
) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    # This laptop believes it has every device up to far in the future: the server's
    # incremental list leaves out the supervisor's second laptop.
    worker.set_meta(DEVICES_AS_OF, str(10**15))
    run_sync(worker)
    second = agency.laptop("akhan")
    run_sync(second)
    second.record("C-1", "visit", "v7", {"date": "2026-11-04", "notes": "second laptop"})
    assert run_sync(second).pushed == 1
    assert second.device_id not in worker.device_keys()
    got = run_sync(worker)
    assert got.refused_from_server == []
    assert got.pulled == 1
    assert second.device_id in worker.device_keys()
