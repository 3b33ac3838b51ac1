"""`fieldkit sync` claims only what happened: every exit code, with its JSON, on SQLite and
PostgreSQL; a damaged op never leaves the laptop; refused work comes back once assigned."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fieldkit.sync import admin
from fieldkit.sync.client import assign_case, run_sync
from fieldkit.sync.outcome import (
    EXIT_DEVICE_REFUSED,
    EXIT_INTEGRITY,
    EXIT_OFFLINE,
    EXIT_OK,
    EXIT_REFUSED,
    LocalIntegrityError,
    outbox_items,
)

from fieldkit import services
from fieldkit.services import caseload
from fieldkit.store import Store
from tests.conftest import PASSPHRASE, run_cli, sample_case, transfer_doc, write_json
from tests.sync.conftest import Agency, canonical, own_ids, server_op_ids, synced_team


def _tamper(path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def _flip_body(store: Store, op_id: str) -> None:
    body = bytearray(next(op for op in store.ops() if op.op_id == op_id).body)
    body[10] ^= 1
    _tamper(store.path, "UPDATE ops SET body=? WHERE op_id=?", bytes(body), op_id)


def _server_rows(agency: Agency, table: str) -> list[Any]:
    with agency.engine.connect() as conn:
        return list(conn.exec_driver_sql(f"SELECT op_id FROM {table}").all())


def _sync_json(env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any]]:
    """`fieldkit sync --json` as a script runs it: the exit code and the one JSON object."""
    result = run_cli(*(extra or ("sync",)), "--json", env=env)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)  # exactly one object, errors included
    assert isinstance(report, dict)
    assert report["exit_code"] == result.returncode
    return result.returncode, report


# --- a damaged op never leaves the laptop ----------------------------------------------


def test_a_tampered_outbox_op_never_leaves_the_laptop(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    good = worker.record("C-1", "visit", "v1", {"notes": "first"})
    bad = worker.record("C-1", "visit", "v2", {"notes": "second"})
    after = worker.record("C-1", "visit", "v3", {"notes": "third"})
    _flip_body(worker, bad.op_id)
    with pytest.raises(LocalIntegrityError) as raised:
        run_sync(worker)
    assert raised.value.exit_code == EXIT_INTEGRITY
    message = str(raised.value)
    assert bad.op_id in message and "case C-1 · visit" in message
    assert "nothing was sent" in message
    # The server's tables prove it: not the damaged op, not the ops around it.
    stored = set(server_op_ids(agency.engine))
    assert not {good.op_id, bad.op_id, after.op_id} & stored
    assert _server_rows(agency, "rejected_ops") == []
    assert worker.outbox_count() == 3  # nothing lost either


def test_tampering_with_an_op_synced_long_ago_is_caught_too(agency: Agency) -> None:
    """The check covers the whole chain, not only what changed since the last check."""
    sup, worker = synced_team(agency)
    old = worker.record("C-1", "visit", "v1", {"notes": "synced"})
    assert run_sync(worker).pushed == 1
    for n in range(3):
        worker.record("C-1", "visit", f"w{n}", {"notes": "later"})
    run_sync(worker)
    pending = worker.record("C-1", "visit", "v9", {"notes": "waiting"})
    _flip_body(worker, old.op_id)
    with pytest.raises(LocalIntegrityError, match=old.op_id):
        run_sync(worker)
    assert pending.op_id not in set(server_op_ids(agency.engine))


def test_an_acknowledged_op_rewritten_with_a_fresh_hash_is_caught_by_the_receipt(
    agency: Agency,
) -> None:
    """Hash and link alone would pass: the server's signed receipt names the true head."""
    sup, worker = synced_team(agency)
    last = worker.record("C-1", "visit", "v1", {"notes": "synced"})
    run_sync(worker)
    body = bytearray(last.body)
    body[10] ^= 1
    forged = type(last)(**{**last.__dict__, "body": bytes(body), "hash": ""}).with_hash()
    _tamper(
        worker.path,
        "UPDATE ops SET body=?, hash=? WHERE op_id=?",
        forged.body,
        forged.hash,
        last.op_id,
    )
    with pytest.raises(LocalIntegrityError, match="differs from what the server acknowledged"):
        run_sync(worker)


# --- refused work comes back -----------------------------------------------------------


def test_refused_then_assigned_work_arrives_after_the_assignment(agency: Agency) -> None:
    """The supervisor imports and syncs before assigning: every change is refused (the
    server holds no team for the case), kept, and sent again once the case is assigned."""
    sup = agency.laptop("akhan")
    worker = agency.laptop("jsmith")
    services.import_cases(sup, transfer_doc(sample_case("C-1", "Q")))
    sup.record("C-1", "visit", "v1", {"notes": "before assignment"})
    written = own_ids(sup)
    first = run_sync(sup)
    assert first.pushed == 0 and len(first.rejected) == len(written)
    assert {r["cause"] for r in first.rejected} == {"not_on_case"}
    assert first.exit_code == EXIT_REFUSED
    assert len(sup.quarantined()) == len(written)
    items = outbox_items(sup)
    assert {i.state for i in items} == {"refused"} and all(i.retryable for i in items)
    assert "not on case C-1" in items[0].reason
    # The status line never says "all changes synced" while anything is refused.
    line = caseload.sync_status(sup, date.today())
    assert "all changes synced" not in line and f"✗ {len(written)} refused" in line

    assign_case(sup, "C-1", "jsmith")
    second = run_sync(sup)
    assert second.retried == len(written)
    assert second.rejected == [] and second.quarantined_total == 0
    assert second.exit_code == EXIT_OK
    stored = server_op_ids(agency.engine)
    assert written <= set(stored) and len(stored) == len(set(stored))
    assert _server_rows(agency, "rejected_ops") == []
    # Nothing lost: the worker receives every one of them and the case reads the same.
    got = run_sync(worker)
    assert got.pulled == len(own_ids(sup))
    assert canonical(worker, "C-1") == canonical(sup, "C-1")
    assert "all changes synced" in caseload.sync_status(sup, date.today())
    trail = [e["action"] for e in admin.audit_events(agency.engine)]
    assert trail.count("quarantine") == len(written)
    assert trail.count("accepted after refusal") == len(written)


def test_forged_work_stays_refused_when_retried(agency: Agency) -> None:
    """A refusal for good is never sent again, not even by `outbox retry`."""
    from fieldkit.sync.client import SyncClient, SyncSummary, _push

    from fieldkit.crypto import Ed25519PrivateKey

    sup, worker = synced_team(agency)
    op = worker.record("C-1", "visit", "v1", {"notes": "x"})
    fake = Ed25519PrivateKey.generate().sign(op.hash.encode())
    _tamper(worker.path, "UPDATE ops SET sig=? WHERE op_id=?", fake, op.op_id)
    with SyncClient(worker) as client:  # a client that skips the laptop's own check
        client.hello()
        _push(worker, client, SyncSummary(), None, 1000)
    _tamper(worker.path, "UPDATE ops SET sig=? WHERE op_id=?", op.sig, op.op_id)
    again = run_sync(worker, retry_all=True)
    assert again.retried == 0 and again.quarantined_total == 1
    assert "forged" in dict(worker.quarantined())[op.op_id]
    assert op.op_id not in set(server_op_ids(agency.engine))


# --- cases waiting for their keys ------------------------------------------------------


def test_a_worker_enrolled_after_the_assignment_is_told_and_the_supervisor_shares(
    agency: Agency,
) -> None:
    sup = agency.laptop("akhan")
    case = sample_case("C-1")
    services.import_cases(sup, transfer_doc(case))
    assign_case(sup, "C-1", "bwong")  # bwong has not enrolled: no key to wrap to yet
    run_sync(sup)
    late = agency.laptop("bwong")
    first = run_sync(late)
    assert first.waiting_keys == ["C-1"] and first.pulled == 0
    line = caseload.sync_status(late, date.today())
    assert "1 case waiting for your supervisor's laptop to share their keys" in line
    assert "all changes synced" not in line
    shared = run_sync(sup)
    assert shared.keys_shared == [{"case_id": "C-1", "user": "bwong"}]
    second = run_sync(late)
    assert second.keys_received == 1 and second.waiting_keys == []
    assert second.pulled == len(own_ids(sup))
    assert "all changes synced" in caseload.sync_status(late, date.today())


# --- every exit code of the command, with its JSON ---------------------------------------


def test_every_sync_exit_code_with_its_json(agency: Agency, tmp_path: Path) -> None:
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(tmp_path / "cli")}
    assert run_cli("init", "--user", "akhan", env=env).returncode == 0
    code = admin.enroll_code(agency.engine, "akhan")
    assert run_cli("enroll", agency.url, code.code, env=env).returncode == 0
    src = write_json(tmp_path / "case.json", transfer_doc(sample_case("C-7")))
    assert run_cli("case", "import", str(src), env=env).returncode == 0

    # 3: imported but not assigned: the server refuses every change; the outbox names them.
    rc, report = _sync_json(env)
    assert (rc, report["outcome"]) == (EXIT_REFUSED, "refused")
    assert report["pushed"] == 0 and report["quarantined_total"] > 0
    listed = json.loads(run_cli("outbox", "--json", env=env).stdout)
    assert listed["refused"] == report["quarantined_total"] and listed["waiting"] == 0
    first = listed["items"][0]
    assert first["state"] == "refused" and first["retryable"] is True
    assert first["case_id"] == "C-7" and "not on case C-7" in first["reason"]
    profile = tmp_path / "cli" / "default.fieldkit"
    store = Store.open(profile, PASSPHRASE)
    op = next(o for o in store.ops() if o.op_id == first["op_id"])
    store.close()
    # The date a person reads is the UTC day of the op's clock (13-digit milliseconds).
    day = datetime.fromtimestamp(int(op.hlc[:13]) / 1000, UTC).date().isoformat()
    assert first["label"] == f"case C-7 · {op.entity} · {day}"
    shown = run_cli("outbox", env=env)
    assert "refused" in shown.stdout and "case C-7 ·" in shown.stdout

    # 0: assigned now, `outbox retry` sends them again and the server accepts every one.
    assert run_cli("case", "assign", "C-7", "bwong", env=env).returncode == 0
    rc, report = _sync_json(env, "outbox", "retry")
    assert (rc, report["outcome"]) == (EXIT_OK, "ok")
    assert report["retried"] == listed["refused"] and report["quarantined_total"] == 0
    rc, report = _sync_json(env)
    assert (rc, report["outcome"], report["waiting"]) == (EXIT_OK, "ok", 0)

    store = Store.open(profile, PASSPHRASE)
    url = store.meta("sync_url") or ""
    pending = store.record("C-7", "visit", "v1", {"notes": "offline"})
    store.set_meta("sync_url", "http://127.0.0.1:9")
    store.close()

    # 2: offline; nothing lost.
    rc, report = _sync_json(env)
    assert (rc, report["outcome"], report["waiting"]) == (EXIT_OFFLINE, "offline", 1)
    assert "1 change waiting to sync; nothing lost" in report["message"]

    # 4: the waiting op is altered on disk: named, nothing sent.
    store = Store.open(profile, PASSPHRASE)
    store.set_meta("sync_url", url)
    store.close()
    body = bytearray(pending.body)
    body[5] ^= 1
    _tamper(profile, "UPDATE ops SET body=? WHERE op_id=?", bytes(body), pending.op_id)
    rc, report = _sync_json(env)
    assert (rc, report["outcome"]) == (EXIT_INTEGRITY, "integrity")
    assert pending.op_id in report["message"] and report["waiting"] == 1
    assert pending.op_id not in set(server_op_ids(agency.engine))
    _tamper(profile, "UPDATE ops SET body=? WHERE op_id=?", pending.body, pending.op_id)

    # 5: the laptop is revoked.
    store = Store.open(profile, PASSPHRASE)
    device = store.device_id
    store.close()
    admin.revoke(agency.engine, device)
    rc, report = _sync_json(env)
    assert (rc, report["outcome"]) == (EXIT_DEVICE_REFUSED, "device_refused")
    assert "revoked" in report["message"] and report["waiting"] == 1
    trail = admin.audit_events(agency.engine)
    assert any(e["action"] == "revoked device refused" for e in trail)

    # 1: not a profile at all: still one JSON object.
    env_none = {**env, "FIELDKIT_HOME": str(tmp_path / "nobody")}
    rc, report = _sync_json(env_none)
    assert (rc, report["outcome"]) == (1, "error")
    helped = run_cli("sync", "--help", env=env)
    assert "Exit codes" in helped.stdout and "local integrity failure" in helped.stdout


def test_a_worker_importing_cases_on_an_enrolled_laptop_is_refused_at_import(
    agency: Agency, tmp_path: Path
) -> None:
    """Not at sync, 18 changes later: the server could never accept them from a worker."""
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_HOME": str(tmp_path / "w")}
    assert run_cli("init", "--user", "jsmith", env=env).returncode == 0
    code = admin.enroll_code(agency.engine, "jsmith")
    assert run_cli("enroll", agency.url, code.code, env=env).returncode == 0
    src = write_json(tmp_path / "case.json", transfer_doc(sample_case("C-8")))
    refused = run_cli("case", "import", str(src), env=env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "jsmith is a worker" in refused.stderr and "--assign jsmith" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    listed = json.loads(run_cli("case", "list", "--json", env=env).stdout)
    assert listed == []
    outbox = json.loads(run_cli("outbox", "--json", env=env).stdout)
    assert outbox["waiting"] == 0 and outbox["items"] == []


def test_a_seeded_laptops_refusals_are_one_line_per_reason_and_case(
    agency: Agency, tmp_path: Path
) -> None:
    """The first sync of a demo-seeded, enrolled laptop: every change is refused, and the
    summary says so in a line per (reason, case) with its count, at most ten, then how many
    more cases; the exit code is still 3, and `--json` keeps every op id."""
    env = {
        "FIELDKIT_PASSPHRASE": PASSPHRASE,
        "FIELDKIT_HOME": str(tmp_path / "cli"),
        "COLUMNS": "200",
    }
    assert run_cli("init", "--user", "jsmith", env=env).returncode == 0
    code = admin.enroll_code(agency.engine, "jsmith")
    assert run_cli("enroll", agency.url, code.code, env=env).returncode == 0
    seeded = run_cli("demo-seed", "--cases", "14", "--today", "2026-11-26", env=env)
    assert seeded.returncode == 0, seeded.stderr

    first = run_cli("sync", env=env)
    assert first.returncode == EXIT_REFUSED, first.stderr
    listed = json.loads(run_cli("outbox", "--json", env=env).stdout)
    refused = listed["refused"]
    assert refused > 100 and listed["waiting"] == 0
    out = first.stdout
    assert f"{refused} changes refused by the server (kept, quarantined):" in out
    grouped = [line for line in out.splitlines() if "is not on case" in line]
    assert len(grouped) == 10, out
    for line in grouped:
        assert line.strip().startswith("jsmith is not on case ")
        assert line.endswith("; sent again once that changes)")
    assert "  … and 4 more cases (`fieldkit outbox` lists them)" in out
    assert not any(item["op_id"] in out for item in listed["items"])
    assert len(out.splitlines()) < 40, out

    rc, report = _sync_json(env, "outbox", "retry")  # sent again, refused again
    assert rc == EXIT_REFUSED and report["quarantined_total"] == refused
    assert {r["op_id"] for r in report["rejected"]} == {i["op_id"] for i in listed["items"]}
    assert {r["case_id"] for r in report["rejected"]} == {i["case_id"] for i in listed["items"]}


def test_counts_meet_their_nouns_in_every_language() -> None:
    """ "1 change waiting", never "1 changes waiting", in English, French and Spanish."""
    from fieldkit import i18n
    from fieldkit.i18n import ngettext

    one, many = (
        "{waiting} change waiting to sync; nothing lost ({reason})",
        "{waiting} changes waiting to sync; nothing lost ({reason})",
    )
    expected = {
        "en": ("1 change waiting", "2 changes waiting"),
        "fr": ("1 modification en attente", "2 modifications en attente"),
        "es": ("1 cambio esperando", "2 cambios esperando"),
    }
    previous = i18n.language()
    try:
        for lang, (single, plural) in expected.items():
            i18n.set_language(lang)
            assert ngettext(one, many, 1).format(waiting=1, reason="x").startswith(single)
            assert ngettext(one, many, 2).format(waiting=2, reason="x").startswith(plural)
    finally:
        i18n.set_language(previous)
