"""The sync report is authenticated and kept in one transaction: a forged, replayed or
revoked device's report keeps nothing (a revoked device's attempt is still audited)."""

from __future__ import annotations

import json

import httpx
from fieldkit.sync import admin
from fieldkit.sync.models import SYNC_REPORTS
from sqlalchemy import func, select

from tests.sync.conftest import Agency, signed_headers

REPORT = json.dumps(
    {
        "outcome": "ok",
        "pushed": 1,
        "pulled": 2,
        "refused": 0,
        "waiting": 0,
        "waiting_keys": 0,
        "duration_ms": 5,
        "app_version": "test",
    }
).encode()


def _reports(agency: Agency) -> int:
    with agency.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SYNC_REPORTS)).scalar_one())


def test_only_a_genuine_fresh_report_of_a_live_device_is_kept(agency: Agency) -> None:
    laptop = agency.laptop("jsmith")
    url = agency.url + "/v1/sync-report"
    before = _reports(agency)

    forged = httpx.post(
        url,
        content=REPORT,
        headers=signed_headers(laptop, "POST", "/v1/sync-report", REPORT, forged=True),
    )
    assert forged.status_code == 401
    assert _reports(agency) == before

    headers = signed_headers(laptop, "POST", "/v1/sync-report", REPORT)
    assert httpx.post(url, content=REPORT, headers=headers).status_code == 204
    assert _reports(agency) == before + 1
    replay = httpx.post(url, content=REPORT, headers=headers)
    assert replay.status_code == 401
    assert _reports(agency) == before + 1

    admin.revoke(agency.engine, laptop.device_id)
    revoked = httpx.post(
        url, content=REPORT, headers=signed_headers(laptop, "POST", "/v1/sync-report", REPORT)
    )
    assert revoked.status_code == 403
    assert _reports(agency) == before + 1
    refused = [
        e for e in admin.audit_events(agency.engine) if e["action"] == "revoked device refused"
    ]
    assert refused and laptop.device_id in refused[-1]["detail"]
