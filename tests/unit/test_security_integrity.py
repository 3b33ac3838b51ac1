"""Integrity that does not trust clear rows: the plaintext flag and device keys are sealed.

Each test replays an attack by someone who can write the profile file (THREAT_MODEL.md,
"local user" and "thief of a powered-off laptop") and asserts it no longer succeeds.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fieldkit import services
from fieldkit.changelog import GENESIS, Op
from fieldkit.crypto import (
    SLOT_AAD,
    Ed25519PrivateKey,
    KeySlot,
    Sealer,
    b64,
    derive_passphrase_key,
)
from fieldkit.errors import StoreError
from fieldkit.integrity import RECORD_KEY
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, run_cli, sample_case, transfer_doc

MARKER = "QQSEALMARK"


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "home" / "default.fieldkit"
    s = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(s, transfer_doc(sample_case("C-1")))
    s.close()
    return path


def _sql(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    for sql, args in statements:
        conn.execute(sql, args)
    conn.commit()
    conn.close()


def _verify() -> tuple[int, str]:
    result = run_cli("verify", "--rebuild", env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_plaintext_flag_set_in_the_clear_changes_nothing_and_verify_names_it(
    tmp_path: Path,
) -> None:
    path = _profile(tmp_path)
    _sql(path, ("UPDATE meta SET value='1' WHERE key='plaintext'", ()))
    s = Store.open(path, PASSPHRASE)
    assert s.plaintext is False
    services.import_cases(s, transfer_doc(sample_case("C-2", MARKER)))
    s.checkpoint()
    s.close()
    for file in path.parent.iterdir():
        assert MARKER.encode() not in file.read_bytes(), f"content in the clear in {file}"
    code, err = _verify()
    assert code == 1
    assert "'plaintext'" in err and "changed outside fieldkit" in err


def test_zeroed_signatures_with_the_plaintext_flag_still_fail_verify(tmp_path: Path) -> None:
    path = _profile(tmp_path)
    _sql(
        path,
        ("UPDATE meta SET value='1' WHERE key='plaintext'", ()),
        ("UPDATE ops SET sig = X'00'", ()),
    )
    code, err = _verify()
    assert code == 1
    assert "forged" in err


def test_a_new_device_key_in_the_clear_devices_table_does_not_hide_a_deleted_visit(
    tmp_path: Path,
) -> None:
    """The attack: delete an op, re-chain and re-sign the rest, swap the device's key."""
    path = _profile(tmp_path)
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT op_id, device_id, seq, hlc, author, case_id, entity, entity_id, action,"
        " key_id, body, prev_hash, hash, sig FROM ops ORDER BY seq"
    ).fetchall()
    ops = [Op(*row) for row in rows]
    victim = next(op for op in ops if op.entity == "visit")
    forger = Ed25519PrivateKey.generate()
    conn.execute("DELETE FROM ops")
    prev, seq = GENESIS, 0
    for op in ops:
        if op.op_id == victim.op_id:
            continue
        seq += 1
        forged = replace(op, seq=seq, prev_hash=prev).with_hash()
        forged = replace(forged, sig=forger.sign(forged.hash.encode()))
        prev = forged.hash
        conn.execute(
            "INSERT INTO ops (op_id, device_id, seq, hlc, author, case_id, entity, entity_id,"
            " action, key_id, body, prev_hash, hash, sig) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                forged.op_id,
                forged.device_id,
                forged.seq,
                forged.hlc,
                forged.author,
                forged.case_id,
                forged.entity,
                forged.entity_id,
                forged.action,
                forged.key_id,
                forged.body,
                forged.prev_hash,
                forged.hash,
                forged.sig,
            ),
        )
    conn.execute("DELETE FROM entities WHERE entity='visit'")
    conn.execute("UPDATE devices SET sign_pub=?", (forger.public_key().public_bytes_raw(),))
    conn.commit()
    conn.close()
    code, err = _verify()
    assert code == 1
    assert "forged" in err
    assert "sign_pub changed outside fieldkit" in err


def test_a_deleted_sealed_record_refuses_to_open(tmp_path: Path) -> None:
    path = _profile(tmp_path)
    _sql(path, ("DELETE FROM meta WHERE key=?", (RECORD_KEY,)))
    with pytest.raises(StoreError, match="sealed settings record is missing"):
        Store.open(path, PASSPHRASE)
    result = run_cli("case", "list", env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "altered outside fieldkit" in result.stderr


def test_a_swapped_sealed_record_refuses_to_open(tmp_path: Path) -> None:
    """A record from another profile (another master key) does not open."""
    path = _profile(tmp_path)
    other = Store.create(tmp_path / "other.fieldkit", PASSPHRASE, "x", argon=FAST_ARGON)
    value = other._conn.execute("SELECT value FROM meta WHERE key=?", (RECORD_KEY,)).fetchone()[0]
    other.close()
    _sql(path, ("UPDATE meta SET value=? WHERE key=?", (value, RECORD_KEY)))
    with pytest.raises(StoreError, match="does not open"):
        Store.open(path, PASSPHRASE)


def test_a_v2_slot_relabelled_v1_does_not_open(tmp_path: Path) -> None:
    """Downgrading the slot to pass as a pre-record profile fails: its AAD differs."""
    path = _profile(tmp_path)
    conn = sqlite3.connect(path)
    data = json.loads(conn.execute("SELECT data FROM key_slots").fetchone()[0])
    data["params"]["v"] = 1
    conn.execute("UPDATE key_slots SET data=?", (json.dumps(data),))
    conn.execute("DELETE FROM meta WHERE key=?", (RECORD_KEY,))
    conn.commit()
    conn.close()
    with pytest.raises(Exception, match="wrong passphrase"):
        Store.open(path, PASSPHRASE)


def test_a_profile_made_before_the_record_gets_one_and_a_v2_slot(tmp_path: Path) -> None:
    path = _profile(tmp_path)
    s = Store.open(path, PASSPHRASE)
    master = s._require_master()
    s.close()
    salt = b"0123456789abcdef"
    kek = derive_passphrase_key(PASSPHRASE, salt, FAST_ARGON)
    old = KeySlot(
        "passphrase", {**FAST_ARGON, "salt": b64(salt)}, Sealer(kek).seal(master, SLOT_AAD)
    )
    _sql(
        path,
        ("DELETE FROM meta WHERE key=?", (RECORD_KEY,)),
        ("UPDATE key_slots SET data=? WHERE kind='passphrase'", (json.dumps(old.to_json()),)),
    )
    s = Store.open(path, PASSPHRASE)
    assert s.verify().ok
    s.close()
    conn = sqlite3.connect(path)
    data = json.loads(conn.execute("SELECT data FROM key_slots").fetchone()[0])
    has_record = conn.execute("SELECT 1 FROM meta WHERE key=?", (RECORD_KEY,)).fetchone()
    conn.close()
    assert data["params"]["v"] == 2 and has_record


def test_the_benchmark_plaintext_profile_fails_verify(tmp_path: Path) -> None:
    s = Store.create(
        tmp_path / "bench.fieldkit", PASSPHRASE, "b", argon=FAST_ARGON, benchmark_plaintext=True
    )
    report = s.verify()
    s.close()
    assert not report.ok
    assert "benchmark profile" in report.problems[0].message


def test_an_agencys_devices_are_sealed_in_one_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first sync learns every device of the agency; the sealed record is written once,
    not once per device (each write seals the whole growing list)."""
    writes: list[int] = []
    write = store._write_settings

    def counted(settings: Any) -> None:
        writes.append(len(settings.devices))
        write(settings)

    monkeypatch.setattr(store, "_write_settings", counted)
    store.add_devices((f"dev-{n}", "akhan", bytes([n % 256]) * 32, None) for n in range(300))
    store.add_devices([("dev-7", "akhan", b"\x07" * 32, None)])  # known: nothing to seal
    assert len(writes) == 1 and writes[0] >= 300
    assert store.verify().ok
    assert store.device_keys()["dev-299"] == bytes([299 % 256]) * 32


def test_settings_written_by_fieldkit_stay_consistent(store: Store) -> None:
    store.set_meta("server_sign_pub", "abc")
    store.add_device("dev-2", "akhan", b"\x01" * 32, None)
    assert store.verify().ok
    assert store.device_keys()["dev-2"] == b"\x01" * 32
