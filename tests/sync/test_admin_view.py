"""The IT lead's view: the database named and never made unasked, typeable device ids,
the audit trail, one access line per request, enrollment checked before the code is
spent, and sync health after a run of syncs (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
import random
import uuid
from pathlib import Path

import pytest
from fieldkit.sync import admin
from fieldkit.sync.admin_view import short_ids, sync_health
from fieldkit.sync.client import enroll, run_sync
from fieldkit.sync.protocol import now_ms

from fieldkit.errors import FieldkitError
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, run_cli
from tests.sync.conftest import Agency, assigned_case, synced_team


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


def _short_ids_by_comparing_all(ids: list[str], minimum: int = 8) -> dict[str, str]:
    """The definition: lengthen each id's prefix until no other id starts with it."""
    shown = {}
    for one in ids:
        length = min(minimum, len(one))
        while length < len(one) and any(o != one and o.startswith(one[:length]) for o in ids):
            length += 1
        shown[one] = one[:length]
    return shown


def test_prefixes_found_by_sorting_are_those_of_comparing_every_pair() -> None:
    """Same-minute UUIDv7 ids, ids that are prefixes of others, and short ids."""
    rng = random.Random(7)
    ids = [f"019ac1f2-3b4c-7{rng.randrange(16**3):03x}-8000-{n:012x}" for n in range(300)]
    ids += ["short", "shorter", "019ac1f2", "019ac1f2-3b4c", "bulk-dev-1", "bulk-dev-10"]
    ids += [str(uuid.uuid4()) for _ in range(100)]
    rng.shuffle(ids)
    assert short_ids(ids) == _short_ids_by_comparing_all(ids)


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
    sup, worker = synced_team(agency)
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
    # One team's rows (a supervisor's sync) are those same rows, and no others.
    team = sync_health(agency.engine, now_ms(), 3, users={"jsmith", "bwong"})
    assert {r["device_id"] for r in team} == {worker.device_id, quiet.device_id}
    assert all(r == rows[r["device_id"]] for r in team)


def _ms(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_the_stale_threshold_comes_from_the_practice_profile(
    agency: Agency, db_url: str, tmp_path: Path
) -> None:
    """A laptop last synced 8 days ago: flagged under a 7-day profile, not a 10-day one.

    Worked by hand: last sync 2026-11-12 09:00 UTC, now 2026-11-20 09:00 UTC — 8 days;
    8 > 7 flags it, 8 ≤ 10 does not.
    """
    from fieldkit.sync.models import SYNC_REPORTS
    from sqlalchemy import insert

    from fieldkit.practice import load_profile

    ten = tmp_path / "agency.toml"
    ten.write_text('extends = "ontario-std7"\n[sync]\nstale_after_days = 10\n', encoding="utf-8")
    laptop = agency.laptop("jsmith")

    def report(at_ms: int) -> None:
        with agency.engine.begin() as conn:
            conn.execute(
                insert(SYNC_REPORTS).values(
                    device_id=laptop.device_id, at_ms=at_ms, outcome="ok", pushed=0,
                    pulled=0, refused=0, waiting=0, waiting_keys=0, duration_ms=5,
                    app_version="test",
                )
            )  # fmt: skip

    report(_ms("2026-11-12T09:00Z"))
    now = _ms("2026-11-20T09:00Z")

    def flagged(days: int) -> bool:
        rows = {r["device_id"]: r for r in sync_health(agency.engine, now, days)}
        return bool(rows[laptop.device_id]["stale"])

    assert flagged(load_profile("ontario-std7").stale_after_days)
    assert not flagged(load_profile(ten).stale_after_days)

    # The command reads the same setting (the laptop's report moved to 8 days before now).
    with agency.engine.begin() as conn:
        conn.execute(SYNC_REPORTS.delete())
    report(now_ms() - 8 * 86_400_000 - 60_000)
    env = {"FIELDKIT_SERVER_DB": db_url}
    for given, days, stale in (([], 7, True), (["--profile", str(ten)], 10, False)):
        shown = run_cli("admin", "sync-health", "--json", *given, env=env)
        assert shown.returncode == 0, shown.stderr
        out = json.loads(shown.stdout)
        assert out["stale_days"] == days
        row = next(r for r in out["devices"] if r["device_id"] == laptop.device_id)
        assert row["stale"] is stale
    # --days still overrides the profile.
    override = run_cli("admin", "sync-health", "--json", "--profile", str(ten), "--days", "3",
                       env=env)  # fmt: skip
    assert json.loads(override.stdout)["stale_days"] == 3
    bad = run_cli("admin", "sync-health", "--profile", "nowhere", env=env)
    assert bad.returncode == 1 and "no policy profile" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_supervisors_laptop_keeps_its_teams_sync_health(agency: Agency) -> None:
    """Pulled with each sync of a supervisor, sealed in the profile, no content; a worker
    is refused it."""
    from datetime import UTC, datetime

    from fieldkit.sync.client import TEAM_HEALTH, SyncClient, SyncRefused

    from fieldkit.services.sync import team_health

    sup, worker = assigned_case(agency, marker="HEALTHMARKER")
    run_sync(sup)
    run_sync(worker)
    worker.record("C-1", "visit", "w1", {"notes": "HEALTHMARKER"})
    worker.record("C-2", "visit", "x", {"notes": "not my case"})  # refused
    run_sync(worker)
    other = agency.laptop("bwong")  # enrolled, never synced
    run_sync(sup)
    as_of, rows = team_health(sup, datetime.now(UTC), 7)
    assert as_of is not None
    by_user = {(r.user, r.device): r for r in rows}
    mine = [r for (user, _d), r in by_user.items() if user == "jsmith"]
    assert len(mine) == 1 and mine[0].refused == 1 and mine[0].waiting == 0
    assert mine[0].last_sync is not None and not mine[0].stale
    quiet = [r for (user, _d), r in by_user.items() if user == "bwong"]
    assert len(quiet) == 1 and quiet[0].last_sync is None and quiet[0].stale
    assert any(user == "akhan" for user, _d in by_user)
    assert other.device_id.startswith(quiet[0].device)
    # Sealed: the profile file holds no clear copy.
    raw = sup.meta(TEAM_HEALTH) or ""
    assert "jsmith" not in raw and bytes.fromhex(raw)
    with SyncClient(worker) as client, pytest.raises(SyncRefused, match="only a supervisor"):
        client.get("/v1/team-health")
    assert worker.secret(TEAM_HEALTH) is None
