"""Time evidence through the server: every op is stamped on receipt; both laptops learn it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fieldkit.sync.client import run_sync

from fieldkit import evidence
from tests.sync.conftest import Agency, synced_team
from tests.sync.test_review_sync import _signed_visit


def test_the_server_receipt_time_reaches_the_worker_and_the_supervisor(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _signed_visit(worker, "v1")
    assert evidence.visit_received_at(worker, "C-1", "v1") is None
    before = datetime.now(UTC) - timedelta(seconds=2)
    run_sync(worker)
    after = datetime.now(UTC) + timedelta(seconds=2)
    on_worker = evidence.visit_received_at(worker, "C-1", "v1")
    assert on_worker is not None and before <= on_worker <= after
    run_sync(sup)
    on_supervisor = evidence.visit_received_at(sup, "C-1", "v1")
    assert on_supervisor is not None and before <= on_supervisor <= after
    # The server's stamp, not the supervisor's pull time: the very one the worker keeps
    # (the signed push receipt carries the stamp the ops were stored with).
    assert on_supervisor == on_worker
