"""A case skipped for want of a key is pulled again once that key arrives, not on every
sync before it (SQLite and PostgreSQL servers)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fieldkit.sync import admin
from fieldkit.sync import transport as sync_transport
from fieldkit.sync.client import enroll, run_sync
from fieldkit.sync.pull_merge import BACKFILL_WANTS
from fieldkit.sync.userkey import grant, own_fingerprint

from fieldkit import services
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE
from tests.sync.conftest import Agency, own_ids, synced_team


def _pulls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every pull request a laptop sends from here on (its JSON body)."""
    sent: list[dict[str, Any]] = []
    real = sync_transport.SyncClient.post_raw

    def post_raw(self: sync_transport.SyncClient, path: str, value: Any) -> bytes:
        if path == "/v1/pull":
            sent.append(dict(value))
        return real(self, path, value)

    monkeypatch.setattr(sync_transport.SyncClient, "post_raw", post_raw)
    return sent


def _second_laptop(agency: Agency) -> Store:
    """A second laptop of jsmith's, enrolled but not granted the user key."""
    second = Store.create(agency.home / "second.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    agency.stores.append(second)
    code = admin.enroll_code(agency.engine, "jsmith").code
    enroll(second, agency.url, code, PASSPHRASE, argon=FAST_ARGON)
    return second


def test_a_laptop_waiting_for_its_key_does_not_pull_the_case_again_each_sync(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup, worker = synced_team(agency)
    second = _second_laptop(agency)
    # A visit written here seals C-1 with a key of this laptop's own: it holds "a key of
    # the case", just not the team's.
    second.record("C-1", "visit", "v-here", {"notes": "written before the grant"})
    first = run_sync(second)
    assert first.pulled == 0 and any("fieldkit grant" in p for p in first.team_problems)
    wanted = json.loads(second.meta(BACKFILL_WANTS) or "{}")
    assert wanted == {"C-1": [sup.case_key("C-1")[0]]}

    worker.record("C-1", "visit", "v-new", {"notes": "from the first laptop"})
    run_sync(worker)
    pulls = _pulls(monkeypatch)
    again = run_sync(second)
    assert again.pulled == 0
    # Only the main pull: the case's backfill waits for the team's key.
    assert [p.get("case_id") for p in pulls] == [None]

    pulls.clear()
    grant(worker, second.device_id, own_fingerprint(second))
    granted = run_sync(second)
    assert granted.keys_received == 1
    assert "C-1" in [p.get("case_id") for p in pulls]  # the key came: the case is backfilled
    expected = own_ids(sup) | own_ids(worker)
    assert {op.op_id for op in second.ops("remote")} == expected
    assert granted.pulled == len(expected)
    assert json.loads(second.meta(BACKFILL_WANTS) or "{}") == {}
    assert json.loads(second.meta("sync_backfill") or "{}") == {}
    assert len(services.load_cases(second)) == 1


def test_a_backfill_waiting_on_no_named_key_still_runs_every_sync(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case noted for backfill by an earlier fieldkit (no key named) is pulled again as
    before: nothing waits on a key it cannot name."""
    _sup, worker = synced_team(agency)
    with worker.transaction():
        worker.set_meta("sync_backfill", json.dumps({"C-1": 10**9}))
        worker.set_meta(BACKFILL_WANTS, "{}")
    pulls = _pulls(monkeypatch)
    run_sync(worker)
    assert [p.get("case_id") for p in pulls] == ["C-1", None]
    assert json.loads(worker.meta("sync_backfill") or "{}") == {}
