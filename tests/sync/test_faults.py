"""Faults: every one ends with no op lost and none duplicated, and says what happened."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from fieldkit.sync import admin
from fieldkit.sync.client import SyncClient, SyncRefused, assign_case, run_sync
from fieldkit.sync.db import open_database
from fieldkit.sync.protocol import PushResponse, auth_header, new_nonce, now_ms, request_message

from fieldkit import services
from fieldkit.crypto import Ed25519PrivateKey
from fieldkit.errors import OfflineError
from fieldkit.store import Store
from tests.conftest import PASSPHRASE, sample_case, transfer_doc
from tests.sync.conftest import (
    ROOT,
    Agency,
    ProcessServer,
    canonical,
    make_agency,
    own_ids,
    server_op_ids,
)


def _setup(agency: Agency, visits: int = 0) -> tuple[Store, Store]:
    sup, worker = agency.laptop("akhan"), agency.laptop("jsmith")
    services.import_cases(sup, transfer_doc(sample_case("C-1")))
    assign_case(sup, "C-1", "jsmith")
    run_sync(sup)
    run_sync(worker)
    for n in range(visits):
        worker.record("C-1", "visit", f"v{n % 9}", {"notes": f"note {n}", "n": n})
    return sup, worker


def _assert_exactly_once(agency: Agency, *stores: Store) -> None:
    ids = server_op_ids(agency.engine)
    assert len(ids) == len(set(ids)), "an op is stored twice on the server"
    expected: set[str] = set()
    for store in stores:
        expected |= own_ids(store)
        assert store.outbox_count() == 0
    assert set(ids) == expected, "an op is missing from the server"


@pytest.fixture
def process_agency(sqlite_url: str, tmp_path: Path) -> Any:
    """An agency whose server runs in a child process that a test can kill."""
    engine = open_database(sqlite_url)
    server = ProcessServer(sqlite_url).start()
    agency = make_agency(engine, server.url, tmp_path / "laptops")
    yield agency, server
    server.kill()
    for store in agency.stores:
        store.close()
    engine.dispose()


def test_server_killed_mid_push(process_agency: Any) -> None:
    agency, server = process_agency
    sup, worker = _setup(agency, visits=400)
    pushed: list[int] = []

    def kill_after_two_batches(phase: str, done: int, total: int | None) -> None:
        if phase == "push":
            pushed.append(done)
            if done >= 100:
                server.kill()

    with pytest.raises(OfflineError, match=r"changes waiting to sync; nothing lost"):
        run_sync(worker, kill_after_two_batches, batch_size=50)
    waiting = worker.outbox_count()
    assert 0 < waiting <= 300
    server = ProcessServer(server.db, server.port).start()
    try:
        result = run_sync(worker, batch_size=50)
        assert result.waiting == 0 and not result.rejected
        _assert_exactly_once(agency, sup, worker)
        run_sync(sup)
        assert canonical(sup, "C-1") == canonical(worker, "C-1")
    finally:
        server.kill()


class LoseAnswers(httpx.HTTPTransport):
    """Delivers requests to the server but loses the answer to the Nth push (and more)."""

    def __init__(self, lose: set[int]) -> None:
        super().__init__()
        self.lose, self.pushes = lose, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/v1/push":
            self.pushes += 1
            if self.pushes in self.lose:
                response.read()
                raise httpx.ReadError("connection reset by peer")
        return response


def test_acknowledgement_lost_after_the_server_stored_the_batch(agency: Agency) -> None:
    sup, worker = _setup(agency, visits=120)
    with pytest.raises(OfflineError):
        run_sync(worker, transport=LoseAnswers({2}), batch_size=50)
    # The second batch is stored on the server but not acknowledged: still in the outbox.
    assert worker.outbox_count() == 70
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed) == (50, 20)
    _assert_exactly_once(agency, sup, worker)


def test_client_killed_mid_pull(agency: Agency, tmp_path: Path) -> None:
    sup, worker = _setup(agency, visits=300)
    run_sync(worker)
    path = sup.path
    sup.close()
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from fieldkit.store import Store
        from fieldkit.sync.client import run_sync
        s = Store.open(Path({str(path)!r}), {PASSPHRASE!r})
        def progress(phase, done, total):
            if phase == "pull":
                print(done, flush=True)
        run_sync(s, progress, page_size=20)
        print("finished", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().isdigit() and int(line) >= 100:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
    reopened = Store.open(path, PASSPHRASE)
    agency.stores.append(reopened)
    partial = sum(1 for op in reopened.ops() if op.device_id == worker.device_id)
    assert 100 <= partial < 300
    result = run_sync(reopened)
    assert result.pulled == 300 - partial
    assert sum(1 for op in reopened.ops() if op.device_id == worker.device_id) == 300
    assert canonical(reopened, "C-1") == canonical(worker, "C-1")
    assert reopened.verify().ok and reopened.rebuild_differences() == []


def test_the_same_batch_delivered_twice(agency: Agency) -> None:
    sup, worker = _setup(agency, visits=30)
    body = {"ops": [op.to_wire() for op in worker.ops("local")]}
    with SyncClient(worker) as client:
        client.hello()
        first = PushResponse.model_validate(client.post("/v1/push", body))
        second = PushResponse.model_validate(client.post("/v1/push", body))
    assert {r.status for r in first.results} == {"accepted"}
    assert {r.status for r in second.results} == {"duplicate"}
    assert first.receipt.head == second.receipt.head
    result = run_sync(worker)
    assert result.duplicates == 30 and result.pushed == 0
    _assert_exactly_once(agency, sup, worker)


def test_batches_reordered(agency: Agency) -> None:
    sup, worker = _setup(agency, visits=40)
    outbox = worker.ops("local")
    early, late = outbox[:20], outbox[20:]
    with SyncClient(worker) as client:
        client.hello()
        reply = PushResponse.model_validate(
            client.post("/v1/push", {"ops": [op.to_wire() for op in reversed(late)]})
        )
        assert {r.status for r in reply.results} == {"deferred"}
        assert reply.expected_seq == early[0].seq
        reply = PushResponse.model_validate(
            client.post("/v1/push", {"ops": [op.to_wire() for op in early]})
        )
        assert {r.status for r in reply.results} == {"accepted"}
    result = run_sync(worker)
    assert result.pushed + result.duplicates == 40 and not result.rejected
    _assert_exactly_once(agency, sup, worker)


def test_server_restored_from_an_old_backup_gets_the_chain_again(agency: Agency) -> None:
    sup, worker = _setup(agency, visits=10)
    run_sync(worker)
    mine = [op for op in worker.ops() if op.device_id == worker.device_id]
    kept = mine[-6]  # the server's backup ends here: it lost the last 5 ops
    with agency.engine.begin() as conn:
        conn.exec_driver_sql(
            f"DELETE FROM ops WHERE device_id='{worker.device_id}' AND seq > {kept.seq}"
        )
        conn.exec_driver_sql(
            f"UPDATE devices SET last_seq={kept.seq}, head_hash='{kept.hash}' "
            f"WHERE device_id='{worker.device_id}'"
        )
    worker.record("C-1", "visit", "v-new", {"notes": "after the restore"})
    result = run_sync(worker)
    assert result.pushed == 6 and not result.rejected
    _assert_exactly_once(agency, sup, worker)


def test_a_device_clock_three_days_fast(agency: Agency, monkeypatch: pytest.MonkeyPatch) -> None:
    import fieldkit.sync.transport as client_module  # signs with its clock

    from fieldkit.changelog import HybridClock, parse_hlc

    sup, worker = _setup(agency)
    three_days = 3 * 24 * 3600 * 1000

    class FastClock(HybridClock):
        def now(self) -> str:
            import time as _time

            real = _time.time_ns
            monkeypatch.setattr(_time, "time_ns", lambda: real() + three_days * 1_000_000)
            try:
                return super().now()
            finally:
                monkeypatch.setattr(_time, "time_ns", real)

    worker.clock = FastClock()
    real_now = client_module.now_ms
    monkeypatch.setattr(client_module, "now_ms", lambda: real_now() + three_days)
    fast = worker.record("C-1", "person", "p3", {"phone": "555-0199"})
    result = run_sync(worker)  # signed with the server's time: not refused as stale
    assert result.pushed == 1
    assert result.clock_offset_ms < -three_days + 60_000
    monkeypatch.setattr(client_module, "now_ms", real_now)
    run_sync(sup)
    # The supervisor, with a right clock, corrects the phone after seeing the fast edit:
    # the correction wins everywhere though its wall clock is three days "earlier".
    fix = sup.record("C-1", "person", "p3", {"phone": "555-0100"})
    assert parse_hlc(fix.hlc) > parse_hlc(fast.hlc)
    run_sync(sup)
    run_sync(worker)
    for store in (sup, worker):
        person = store.entity("C-1", "person", "p3")
        assert person is not None
        assert person.fields["phone"] == "555-0100" and not person.conflicts()
    _assert_exactly_once(agency, sup, worker)


def test_a_revoked_device_is_refused_and_keeps_its_work(agency: Agency) -> None:
    sup, worker = _setup(agency, visits=5)
    admin.revoke(agency.engine, worker.device_id[:13])
    with pytest.raises(SyncRefused, match="revoked"):
        run_sync(worker)
    assert worker.outbox_count() == 5
    listed = {d["device_id"]: d for d in admin.devices(agency.engine)}
    assert listed[worker.device_id]["revoked"]
    assert not listed[sup.device_id]["revoked"]


def _tamper(path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_tampered_and_forged_ops_are_rejected_and_quarantined_with_the_reason(
    agency: Agency,
) -> None:
    """A client that skips the laptop's own check (`run_sync` never does; see
    test_truthful_sync.py) still meets the server's: refused for good, audited."""
    from fieldkit.sync.client import SyncSummary, _push

    sup, worker = _setup(agency, visits=6)
    local = worker.ops("local")
    # The forged op is the newest: a wrong signature on an op with a later linked op
    # cannot change what it says (tests/sync/test_chain_check.py, docs/decisions.md).
    altered, forged = local[1], local[-1]
    body = bytearray(altered.body)
    body[20] ^= 1
    _tamper(worker.path, "UPDATE ops SET body=? WHERE op_id=?", bytes(body), altered.op_id)
    fake = Ed25519PrivateKey.generate().sign(forged.hash.encode())
    _tamper(worker.path, "UPDATE ops SET sig=? WHERE op_id=?", fake, forged.op_id)
    result = SyncSummary()
    with SyncClient(worker) as client:
        client.hello()
        _push(worker, client, result, None, 1000)
    reasons = {r["op_id"]: r for r in result.rejected}
    assert "altered" in reasons[altered.op_id]["reason"]
    assert reasons[altered.op_id]["cause"] == "tampered"
    assert "forged" in reasons[forged.op_id]["reason"]
    assert reasons[forged.op_id]["retryable"] == "no"
    assert result.pushed == 4  # the ops behind them were not blocked
    quarantined = dict(worker.quarantined())
    assert set(quarantined) == {altered.op_id, forged.op_id}
    assert "forged" in quarantined[forged.op_id]
    with agency.engine.connect() as conn:
        refused = conn.exec_driver_sql("SELECT op_id, cause FROM rejected_ops").all()
    assert dict(refused) == {altered.op_id: "tampered", forged.op_id: "forged"}
    ids = set(server_op_ids(agency.engine))
    assert altered.op_id not in ids and forged.op_id not in ids
    assert len(ids) == len(own_ids(sup)) + 4
    trail = [e for e in admin.audit_events(agency.engine) if e["action"] == "quarantine"]
    assert {altered.op_id, forged.op_id} <= {e["detail"].split()[1] for e in trail}


class Recorder(httpx.HTTPTransport):
    """Keeps every request, to replay one."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests.append(
            (request.method, str(request.url), body, dict(request.headers.items()))
        )
        return super().handle_request(request)


def test_a_replayed_request_is_refused(agency: Agency) -> None:
    sup, worker = _setup(agency, visits=3)
    recorder = Recorder()
    run_sync(worker, transport=recorder)
    method, url, body, headers = next(
        r for r in recorder.requests if httpx.URL(r[1]).path == "/v1/push"
    )
    # The push asked for the keys and the first pull page besides: its query is signed too.
    assert "keys=true" in url and "pull_cursor=" in url
    replay = httpx.request(method, url, content=body, headers=headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]
    # Changing the body of a captured request breaks its signature.
    headers = {k: v for k, v in headers.items() if k != "content-length"}
    altered = httpx.request(method, url, content=body.replace(b'"seq"', b'"seq" '), headers=headers)
    assert altered.status_code == 401
    # An unsigned request is refused.
    assert httpx.post(url, json={"ops": []}).status_code == 401
    _assert_exactly_once(agency, sup, worker)


def test_a_forged_request_leaves_no_nonce_behind(agency: Agency) -> None:
    """The nonce is recorded with the device look-up (one statement on PostgreSQL): a
    request whose signature fails is refused and its nonce is not kept, so it neither
    fills the table nor spends the nonce the genuine request carries."""
    _sup, worker = _setup(agency)
    path, nonce, ts = "/v1/keys", new_nonce(), now_ms()
    message = request_message("GET", path, ts, nonce, b"")
    forged = Ed25519PrivateKey.generate().sign(message)
    url = agency.url + path
    refused = httpx.get(
        url, headers={"authorization": auth_header(worker.device_id, ts, nonce, forged)}
    )
    assert refused.status_code == 401 and "does not verify" in refused.json()["detail"]
    with agency.engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT count(*) FROM request_nonces WHERE nonce = ?"
            if agency.engine.dialect.name == "sqlite"
            else "SELECT count(*) FROM request_nonces WHERE nonce = %(n)s",
            (nonce,) if agency.engine.dialect.name == "sqlite" else {"n": nonce},
        ).scalar()
    assert kept == 0
    genuine = worker.device_sign_key.sign(message)
    headers = {"authorization": auth_header(worker.device_id, ts, nonce, genuine)}
    assert httpx.get(url, headers=headers).status_code == 200
    again = httpx.get(url, headers=headers)
    assert again.status_code == 401 and "replay" in again.json()["detail"]


def test_a_stale_timestamp_is_refused(agency: Agency, monkeypatch: pytest.MonkeyPatch) -> None:

    _sup, worker = _setup(agency)
    with SyncClient(worker) as client:
        client.offset_ms = -10 * 60 * 1000  # as if the request were captured 10 minutes ago
        with pytest.raises(SyncRefused, match="too old"):
            client.get("/v1/keys")


def test_offline_says_how_many_changes_wait(tmp_path: Path) -> None:
    from tests.conftest import FAST_ARGON

    store = Store.create(tmp_path / "p.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    store.set_meta("sync_url", "http://127.0.0.1:9")  # nothing listens on the discard port
    waiting = store.outbox_count()
    with pytest.raises(OfflineError) as raised:
        run_sync(store)
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith(f"{waiting} changes waiting to sync; nothing lost")
    assert store.outbox_count() == waiting
    store.close()


def test_the_cli_sync_round_and_offline_exit(agency: Agency, tmp_path: Path) -> None:
    from tests.conftest import run_cli, write_json

    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(tmp_path / "cli")}
    assert run_cli("init", "--user", "akhan", env=env).returncode == 0
    code = admin.enroll_code(agency.engine, "akhan")
    enrolled = run_cli("enroll", agency.url, code.code, env=env)
    assert enrolled.returncode == 0, enrolled.stderr
    src = write_json(tmp_path / "case.json", transfer_doc(sample_case("C-7")))
    imported = run_cli("case", "import", str(src), "--assign", "bwong", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "assigned to bwong" in imported.stdout
    synced = run_cli("sync", "--json", env=env)
    assert synced.returncode == 0, synced.stderr
    summary = json.loads(synced.stdout)
    assert summary["pushed"] > 0 and summary["waiting"] == 0 and summary["teams_sent"] == ["C-7"]
    table = run_cli("sync", env=env)
    assert table.returncode == 0 and "pushed" in table.stdout
    shown = json.loads(run_cli("case", "show", "C-7", "--json", env=env).stdout)
    assert shown["worker"] == "bwong" and shown["supervisor"] == "akhan"
    # Server gone: exit 2, one line, nothing lost.
    agency.url = "http://127.0.0.1:9"
    profile = tmp_path / "cli" / "default.fieldkit"
    s = Store.open(profile, PASSPHRASE)
    s.record("C-7", "visit", "v1", {"notes": "offline"})
    s.set_meta("sync_url", "http://127.0.0.1:9")
    s.close()
    offline = run_cli("sync", env=env)
    assert offline.returncode == 2
    assert "1 change waiting to sync; nothing lost" in offline.stderr
    assert "Traceback" not in offline.stderr
    outbox = json.loads(run_cli("outbox", "--json", env=env).stdout)
    assert outbox["waiting"] == 1


def test_admin_commands_through_the_cli(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    db = f"sqlite:///{tmp_path / 'admin.sqlite'}"
    env = {"FIELDKIT_SERVER_DB": db}
    refused = run_cli("admin", "user", "add", "akhan", "--role", "supervisor", env=env)
    assert refused.returncode == 1 and "add --create" in refused.stderr
    assert not (tmp_path / "admin.sqlite").exists()
    first = ["admin", "user", "add", "akhan", "--role", "supervisor", "--create"]
    assert run_cli(*first, env=env).returncode == 0
    added = run_cli("admin", "user", "add", "jsmith", "--supervisor", "akhan", env=env)
    assert added.returncode == 0, added.stderr
    again = run_cli("admin", "user", "add", "jsmith", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    bad = run_cli("admin", "user", "add", "x", "--role", "boss", env=env)
    assert bad.returncode == 1 and "not one of" in bad.stderr
    code = run_cli("admin", "enroll-code", "jsmith", env=env)
    assert code.returncode == 0 and "Enrollment code for jsmith" in code.stdout
    nobody = run_cli("admin", "enroll-code", "nobody", env=env)
    assert nobody.returncode == 1 and "no user nobody" in nobody.stderr
    listed = json.loads(run_cli("admin", "devices", "--json", env=env).stdout)
    assert listed == []
    missing = run_cli("admin", "revoke", "0192", env=env)
    assert missing.returncode == 1 and "no device 0192" in missing.stderr


def test_a_pulled_op_this_laptop_cannot_open_is_reported_not_a_crash(agency: Agency) -> None:
    """The worker's laptop holds, under the team key's id, bytes that are not that key."""
    from fieldkit.sync.client import assign_case, run_sync

    from fieldkit import services
    from tests.conftest import sample_case, transfer_doc

    sup = agency.laptop("akhan")
    worker = agency.laptop("jsmith")
    case = sample_case("C-1")
    case["worker"], case["supervisor"] = "jsmith", "akhan"
    services.import_cases(sup, transfer_doc(case))
    assign_case(sup, "C-1", "jsmith")
    run_sync(sup)
    team_key_id, _ = sup.case_key("C-1")
    worker.put_case_key("C-1", team_key_id, b"\x01" * 32)  # not the team's key
    summary = run_sync(worker)
    assert any("cannot open the team's changes" in p for p in summary.local_problems)
    assert summary.pulled == 0
    assert services.load_cases(worker) == []
