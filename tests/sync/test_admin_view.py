"""The IT lead's view: the database named and never made unasked, typeable device ids,
the audit trail, one access line per request, enrollment checked before the code is
spent, and sync health after a run of syncs (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fieldkit.sync import admin
from fieldkit.sync.admin_view import short_ids, sync_health
from fieldkit.sync.client import enroll, run_sync
from fieldkit.sync.protocol import now_ms

from fieldkit.errors import FieldkitError
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, run_cli
from tests.sync.conftest import Agency, assigned_case


def test_admin_commands_name_their_database_and_never_create_one_unasked(
    tmp_path: Path,
) -> None:
    db = tmp_path / "elsewhere" / "server.sqlite"
    env = {"FIELDKIT_SERVER_DB": f"sqlite:///{db}"}
    listed = run_cli("admin", "user", "list", env=env)
    assert listed.returncode == 1 and "Traceback" not in listed.stderr
    assert f"no fieldkit server database at sqlite:///{db}" in listed.stderr
    assert not db.exists() and not db.parent.exists()
    made = run_cli("admin", "user", "add", "akhan", "--role", "supervisor", "--create", env=env)
    assert made.returncode == 0, made.stderr
    assert f"database: sqlite:///{db}" in made.stderr
    again = run_cli("admin", "user", "list", "--json", env=env)
    assert again.returncode == 0 and f"database: sqlite:///{db}" in again.stderr
    assert [u["name"] for u in json.loads(again.stdout)] == ["akhan"]


def test_a_postgres_url_hides_its_password_and_an_empty_schema_is_not_used(
    pg_url: str,
) -> None:
    refused = run_cli("admin", "devices", env={"FIELDKIT_SERVER_DB": pg_url})
    assert refused.returncode == 1 and "add --create" in refused.stderr
    secret = pg_url.replace("postgres@", "postgres:s3cret@")
    shown = run_cli("admin", "devices", env={"FIELDKIT_SERVER_DB": secret})
    assert "s3cret" not in shown.stderr and "***" in shown.stderr


def test_device_ids_are_cut_to_unique_prefixes_of_at_least_eight() -> None:
    # Three laptops enrolled in the same millisecond share 13 characters of UUIDv7.
    ids = [
        "019ac1f2-3b4c-7aaa-8000-000000000001",
        "019ac1f2-3b4c-7bbb-8000-000000000002",
        "019ac1f2-3b4c-7bbc-8000-000000000003",
        "11111111-0000-7000-8000-000000000000",
    ]
    shown = short_ids(ids)
    assert shown[ids[0]] == "019ac1f2-3b4c-7a"
    assert shown[ids[1]] == "019ac1f2-3b4c-7bbb"
    assert shown[ids[2]] == "019ac1f2-3b4c-7bbc"
    assert shown[ids[3]] == "11111111"
    assert len(set(shown.values())) == len(ids)


def test_a_shown_prefix_is_what_revoke_accepts(agency: Agency, tmp_path: Path) -> None:
    one, two = agency.laptop("jsmith"), agency.laptop("jsmith")
    prefixes = short_ids([one.device_id, two.device_id])
    assert prefixes[one.device_id] != prefixes[two.device_id]
    assert admin.revoke(agency.engine, prefixes[two.device_id]) == two.device_id
    listed = {d["device_id"]: d for d in admin.devices(agency.engine)}
    assert listed[two.device_id]["revoked"] and not listed[one.device_id]["revoked"]


def test_the_audit_lists_enrollments_refusals_revocations_and_quarantined_ops(
    agency: Agency, tmp_path: Path
) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    stranger = Store.create(tmp_path / "x.fieldkit", PASSPHRASE, "bwong", argon=FAST_ARGON)
    code = admin.enroll_code(agency.engine, "jsmith")  # a code for someone else
    with pytest.raises(FieldkitError, match="this code is for jsmith"):
        enroll(stranger, agency.url, code.code, PASSPHRASE, argon=FAST_ARGON)
    stranger.close()
    admin.revoke(agency.engine, worker.device_id)
    with pytest.raises(FieldkitError, match="revoked"):
        run_sync(worker)
    events = admin.audit_events(agency.engine)
    actions = [e["action"] for e in events]
    assert actions.count("enroll") == 2
    refused = [e for e in events if e["action"] == "enroll refused"]
    assert len(refused) == 1 and "this code is for jsmith" in refused[0]["detail"]
    assert refused[0]["actor"] == "bwong"
    assert "revoke" in actions and "revoked device refused" in actions


def test_the_audit_command_prints_the_trail(agency: Agency, db_url: str) -> None:
    agency.laptop("jsmith")
    listed = run_cli("admin", "audit", "--json", env={"FIELDKIT_SERVER_DB": db_url})
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert any(e["action"] == "enroll" and "device" in e["detail"] for e in events)
    shown = run_cli("admin", "audit", env={"FIELDKIT_SERVER_DB": db_url})
    assert "enroll" in shown.stdout and "jsmith" in shown.stdout


def test_each_request_is_one_access_line_without_content(
    agency: Agency, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fieldkit.server.access")
    sup, _worker = assigned_case(agency, marker="SECRET")
    run_sync(sup)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert lines, "no access lines"
    for line in lines:
        assert set(line) == {"event", "method", "route", "status", "device", "ms"}
        assert "C-1" not in json.dumps(line) and "SECRET" not in json.dumps(line)
    routes = {(line["method"], line["route"], line["status"]) for line in lines}
    assert ("PUT", "/v1/cases/{case_id}/team", 200) in routes
    assert ("POST", "/v1/push", 200) in routes
    assert ("GET", "/v1/hello", 200) in routes
    signed = [line for line in lines if line["route"] == "/v1/push"]
    assert all(line["device"] == sup.device_id for line in signed)


def test_enroll_checks_what_it_can_before_spending_the_code(agency: Agency, tmp_path: Path) -> None:
    store = Store.create(tmp_path / "j.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    code = admin.enroll_code(agency.engine, "jsmith")
    port = agency.url.rsplit(":", 1)[1]
    with pytest.raises(FieldkitError, match="plain http"):
        enroll(store, f"http://sync.agency.example:{port}", code.code, PASSPHRASE)
    with pytest.raises(FieldkitError, match="not an enrollment code"):
        enroll(store, agency.url, "ABCD-0000-I1", PASSPHRASE)
    with pytest.raises(FieldkitError, match="not a server address"):
        enroll(store, "sync.agency.example", code.code, PASSPHRASE)
    # The code was not spent: it still enrolls this laptop.
    reply = enroll(store, agency.url, code.code, PASSPHRASE, argon=FAST_ARGON)
    assert reply.user == "jsmith"
    with pytest.raises(FieldkitError, match="already enrolled with"):
        enroll(store, "https://other.example", code.code, PASSPHRASE)
    store.close()


def test_sync_health_after_a_run_of_syncs(agency: Agency) -> None:
    sup, worker = assigned_case(agency)
    run_sync(sup)
    run_sync(worker)
    for n in range(3):
        worker.record("C-1", "visit", f"v{n}", {"notes": "x"})
        run_sync(worker)
    quiet = agency.laptop("bwong")  # enrolled, never synced
    rows = {r["device_id"]: r for r in sync_health(agency.engine, now_ms(), 3)}
    mine = rows[worker.device_id]
    assert mine["syncs"] == 4 and mine["outcome"] == "ok"
    assert (mine["waiting"], mine["refused"], mine["waiting_keys"]) == (0, 0, 0)
    assert mine["app_version"] and mine["last_sync_ms"] is not None and not mine["stale"]
    assert rows[sup.device_id]["syncs"] == 1
    assert rows[quiet.device_id]["syncs"] == 0 and rows[quiet.device_id]["stale"]
    # Four days on, the worker's laptop is flagged too.
    later = sync_health(agency.engine, now_ms() + 4 * 86_400_000, 3)
    assert {r["device_id"] for r in later if r["stale"]} >= {worker.device_id, sup.device_id}
    # A sync that leaves work refused says so.
    worker.record("C-2", "visit", "x", {"notes": "not my case"})
    run_sync(worker)
    rows = {r["device_id"]: r for r in sync_health(agency.engine, now_ms(), 3)}
    assert rows[worker.device_id]["outcome"] == "refused"
    assert rows[worker.device_id]["refused"] == 1
