"""A push is authenticated and stored in one transaction: its nonce and its batch commit
together. A forged, replayed or revoked device's push stores nothing (a revoked device's
attempt is still audited); a signed push the server cannot read keeps no nonce either."""

from __future__ import annotations

import httpx
from fieldkit.sync import admin
from fieldkit.sync.client import run_sync
from fieldkit.sync.models import OPS, REQUEST_NONCES
from fieldkit.sync.protocol import push_body
from sqlalchemy import Table, func, select

from tests.sync.conftest import Agency, assigned_case, signed_headers


def _count(agency: Agency, table: Table) -> int:
    with agency.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_push_and_its_nonce_commit_together(agency: Agency) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    worker.record("C-1", "visit", "v1", {"date": "2026-11-04", "notes": "one push"})
    body = push_body(worker.ops("local"))
    url = agency.url + "/v1/push"
    ops_before = _count(agency, OPS)

    forged = httpx.post(
        url, content=body, headers=signed_headers(worker, "POST", "/v1/push", body, forged=True)
    )
    assert forged.status_code == 401
    assert _count(agency, OPS) == ops_before

    # Signed, but not a push the server can read: refused, and its nonce is rolled back
    # with the transaction (the same request again is refused as unreadable, not replayed).
    junk = b'{"ops": [{"op_id": 1}]}'
    nonces = _count(agency, REQUEST_NONCES)
    headers = signed_headers(worker, "POST", "/v1/push", junk)
    first = httpx.post(url, content=junk, headers=headers)
    assert first.status_code == 400
    assert _count(agency, REQUEST_NONCES) == nonces
    again = httpx.post(url, content=junk, headers=headers)
    assert again.status_code == 400, again.text
    assert _count(agency, OPS) == ops_before

    headers = signed_headers(worker, "POST", "/v1/push", body)
    taken = httpx.post(url, content=body, headers=headers)
    assert taken.status_code == 200, taken.text
    assert [r["status"] for r in taken.json()["results"]] == ["accepted"] * len(worker.ops("local"))
    stored = _count(agency, OPS)
    assert stored > ops_before
    assert _count(agency, REQUEST_NONCES) == nonces + 1
    replay = httpx.post(url, content=body, headers=headers)
    assert replay.status_code == 401
    assert _count(agency, OPS) == stored

    worker.record("C-1", "visit", "v2", {"date": "2026-11-05", "notes": "after revocation"})
    admin.revoke(agency.engine, worker.device_id)
    later = push_body(worker.ops("local"))
    revoked = httpx.post(
        url, content=later, headers=signed_headers(worker, "POST", "/v1/push", later)
    )
    assert revoked.status_code == 403
    assert _count(agency, OPS) == stored
    refused = [
        e for e in admin.audit_events(agency.engine) if e["action"] == "revoked device refused"
    ]
    assert refused and worker.device_id in refused[-1]["detail"]
