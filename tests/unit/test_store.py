"""The encrypted store and the signed change log: leaks, tampering, crashes, round trips."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fieldkit import services
from fieldkit.crypto import CryptoError, Ed25519PrivateKey
from fieldkit.errors import StoreError
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, run_cli, sample_case, transfer_doc, write_json

MARKER = "ZQXMARK7"
SENSITIVE_SUFFIXES = [
    "ADDR",
    "UNANN",
    "NAME1",
    "NAME2",
    "NAME3",
    "PLACE",
    "PHONE",
    "THREAT",
    "PLAN",
    "WHO",
    "DRAFT",
]


def _all_bytes(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def _assert_no_marker(directory: Path) -> None:
    files = _all_bytes(directory)
    assert files, "the data dir should hold the profile"
    for name, data in files.items():
        for suffix in SENSITIVE_SUFFIXES:
            for encoding in ("utf-8", "utf-16-le"):
                needle = f"{MARKER}{suffix}".encode(encoding)
                assert needle not in data, f"{MARKER}{suffix} in plaintext in {name}"
        assert MARKER.encode() not in data, f"marker bytes in {name}"


def test_no_plaintext_on_disk_without_and_with_checkpoint(tmp_path: Path) -> None:
    """Import marker-tagged cases, die without closing (WAL left behind), scan every file."""
    home = tmp_path / "home"
    path = home / "default.fieldkit"
    child = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from fieldkit.store import Store
        from fieldkit import services
        from tests.conftest import sample_case, transfer_doc, FAST_ARGON
        s = Store.create(Path({str(path)!r}), "pw for test", "jsmith", argon=FAST_ARGON)
        s._conn.execute("PRAGMA wal_autocheckpoint=0")
        services.import_cases(s, transfer_doc(sample_case("C-1", "{MARKER}"),
                                               sample_case("C-2", "{MARKER}")))
        s.save_draft("d1", "C-1", {{"notes": "child said {MARKER}DRAFT"}})
        sys.stdout.flush()
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", child], check=True, cwd=Path(__file__).parents[2])
    assert Path(str(path) + "-wal").exists(), "the WAL must be left un-checkpointed"
    assert Path(str(path) + "-wal").stat().st_size > 0
    _assert_no_marker(home)
    s = Store.open(path, "pw for test")
    assert len(s.case_ids()) == 2
    assert services.load_case(s, "C-1").people[0].name == f"Maya Ortiz {MARKER}NAME1"
    s.checkpoint()
    s.close()
    _assert_no_marker(home)


def test_ciphertext_moved_to_another_row_or_column_fails_to_open(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    conn = sqlite3.connect(store.path)
    doc = conn.execute(
        "SELECT doc FROM entities WHERE case_id='C-1' AND entity='person' AND entity_id='p1'"
    ).fetchone()[0]
    conn.execute(
        "UPDATE entities SET doc=? WHERE case_id='C-1' AND entity='person' AND entity_id='p2'",
        (doc,),
    )
    conn.commit()
    with pytest.raises(CryptoError):
        store.entity("C-1", "person", "p2")
    assert store.entity("C-1", "person", "p1") is not None
    # An op body moved into another op's row does not open either.
    body = conn.execute("SELECT body FROM ops ORDER BY seq LIMIT 1").fetchone()[0]
    conn.execute("UPDATE ops SET body=? WHERE seq=2", (body,))
    conn.commit()
    conn.close()
    second = [op for op in store.ops() if op.seq == 2][0]
    with pytest.raises(CryptoError):
        store.open_body(second)
    # A drafts ciphertext moved into an entity doc column does not open.
    store.save_draft("d1", "C-1", {"notes": "x"})
    conn = sqlite3.connect(store.path)
    draft = conn.execute("SELECT doc FROM drafts").fetchone()[0]
    conn.execute("UPDATE entities SET doc=? WHERE entity='threat'", (draft,))
    conn.commit()
    conn.close()
    with pytest.raises(CryptoError):
        store.entity("C-1", "threat", "t1")


def _profile_with_cases(tmp_path: Path) -> Path:
    path = tmp_path / "home" / "default.fieldkit"
    s = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(s, transfer_doc(sample_case("C-1"), sample_case("C-2")))
    s.close()
    return path


def test_wrong_passphrase_is_one_line_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    path = _profile_with_cases(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run_cli("case", "list", env={"FIELDKIT_PASSPHRASE": "not the passphrase"})
    assert result.returncode == 1
    assert "wrong passphrase" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    wal = Path(str(path) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def _tamper(path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def _ops(path: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT op_id, seq FROM ops ORDER BY seq").fetchall()
    conn.close()
    return rows


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("verify", env={"FIELDKIT_PASSPHRASE": PASSPHRASE})


def test_verify_passes_on_an_untouched_log_and_rebuild_matches(tmp_path: Path) -> None:
    _profile_with_cases(tmp_path)
    result = run_cli("verify", "--rebuild", env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout and "matches" in result.stdout


def test_verify_names_a_flipped_byte(tmp_path: Path) -> None:
    path = _profile_with_cases(tmp_path)
    op_id, _ = _ops(path)[4]
    conn = sqlite3.connect(path)
    body = bytearray(conn.execute("SELECT body FROM ops WHERE op_id=?", (op_id,)).fetchone()[0])
    body[15] ^= 0x01
    conn.execute("UPDATE ops SET body=? WHERE op_id=?", (bytes(body), op_id))
    conn.commit()
    conn.close()
    result = _verify(path)
    assert result.returncode == 1
    assert op_id in result.stderr and "altered" in result.stderr
    assert "Traceback" not in result.stderr


def test_verify_names_a_deleted_op(tmp_path: Path) -> None:
    path = _profile_with_cases(tmp_path)
    ops = _ops(path)
    deleted, after = ops[6][0], ops[7][0]
    _tamper(path, "DELETE FROM ops WHERE op_id=?", deleted)
    result = _verify(path)
    assert result.returncode == 1
    assert after in result.stderr and "deleted" in result.stderr
    assert deleted not in {op for op, _ in _ops(path)}


def test_verify_catches_the_last_op_deleted(tmp_path: Path) -> None:
    """No op follows it in the chain; the state it built still counts it."""
    path = _profile_with_cases(tmp_path)
    last = _ops(path)[-1][0]
    _tamper(path, "DELETE FROM ops WHERE op_id=?", last)
    result = _verify(path)
    assert result.returncode == 1
    assert last in result.stderr and "deleted" in result.stderr


def test_verify_names_a_reordered_op(tmp_path: Path) -> None:
    path = _profile_with_cases(tmp_path)
    ops = _ops(path)
    (a, seq_a), (b, seq_b) = ops[3], ops[4]
    conn = sqlite3.connect(path)
    conn.execute("UPDATE ops SET seq=-1 WHERE op_id=?", (a,))
    conn.execute("UPDATE ops SET seq=? WHERE op_id=?", (seq_a, b))
    conn.execute("UPDATE ops SET seq=? WHERE op_id=?", (seq_b, a))
    conn.commit()
    conn.close()
    result = _verify(path)
    assert result.returncode == 1
    assert b in result.stderr
    assert "order" in result.stderr


def test_verify_names_a_forged_signature(tmp_path: Path) -> None:
    path = _profile_with_cases(tmp_path)
    op_id, _ = _ops(path)[9]
    conn = sqlite3.connect(path)
    digest = conn.execute("SELECT hash FROM ops WHERE op_id=?", (op_id,)).fetchone()[0]
    forged = Ed25519PrivateKey.generate().sign(digest.hex().encode())  # raw bytes: schema 5
    conn.execute("UPDATE ops SET sig=? WHERE op_id=?", (forged, op_id))
    conn.commit()
    conn.close()
    result = _verify(path)
    assert result.returncode == 1
    assert op_id in result.stderr and "forged" in result.stderr


def test_crash_mid_write_leaves_a_verifiable_store_with_every_returned_op(
    tmp_path: Path,
) -> None:
    path = tmp_path / "home" / "default.fieldkit"
    s = Store.create(path, PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(s, transfer_doc(sample_case("C-1")))
    s.close()
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from fieldkit.store import Store
        s = Store.open(Path({str(path)!r}), {PASSPHRASE!r})
        n = 0
        while True:
            n += 1
            op = s.record("C-1", "visit", f"v{{n % 7}}", {{"notes": "x" * 900, "n": n}})
            sys.stdout.write(op.op_id + "\\n")
            sys.stdout.flush()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout is not None
    returned = []
    for line in proc.stdout:
        returned.append(line.strip())
        if len(returned) >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reopened = Store.open(path, PASSPHRASE)
    report = reopened.verify()
    assert report.ok, [p.message for p in report.problems]
    present = {op.op_id for op in reopened.ops()}
    assert set(returned) <= present
    assert reopened.rebuild_differences() == []
    reopened.close()
    assert _verify(path).returncode == 0


def test_import_then_export_gives_the_same_document(store: Store) -> None:
    doc = transfer_doc(sample_case("C-1"), sample_case("C-2"))
    services.import_cases(store, doc)
    for case in doc["cases"]:
        assert services.export_case(store, case["id"]) == transfer_doc(case)


def test_round_trip_through_the_cli(tmp_path: Path) -> None:
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    assert run_cli("init", "--user", "jsmith", env=env).returncode == 0
    original = transfer_doc(sample_case("C-9"))
    src = write_json(tmp_path / "in.json", original)
    result = run_cli("case", "import", str(src), env=env)
    assert result.returncode == 0, result.stderr
    exported = run_cli("case", "export", "C-9", env=env)
    assert json.loads(exported.stdout) == original
    listed = json.loads(run_cli("case", "list", "--json", env=env).stdout)
    assert [c["id"] for c in listed] == ["C-9"]
    shown = json.loads(run_cli("case", "show", "C-9", "--json", env=env).stdout)
    assert shown["people"][1]["name"] == "Leo Ortiz NAME2"


def _bad(mutate: str) -> dict[str, object]:
    good, bad = sample_case("C-GOOD"), sample_case("C-BAD")
    if mutate == "date":
        bad["people"][0]["dob"] = "2025-02-30"  # type: ignore[index]
    elif mutate == "missing":
        del bad["opened"]
    elif mutate == "person":
        bad["history"]["visits"][0]["seen"] = ["p1", "p9"]  # type: ignore[index]
    elif mutate == "kind":
        bad["kind"] = "investigation"
    doc = transfer_doc(good, bad)
    if mutate == "format":
        doc["format"] = "other/2"
    return doc


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        ("date", "case C-BAD, key people[0].dob"),
        ("missing", "case C-BAD, key opened"),
        ("person", "case C-BAD, key history.visits[0].seen"),
        ("kind", "case C-BAD, key kind"),
        ("format", "key format"),
    ],
)
def test_a_malformed_file_imports_nothing(tmp_path: Path, mutate: str, expected: str) -> None:
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    assert run_cli("init", env=env).returncode == 0
    src = write_json(tmp_path / "bad.json", _bad(mutate))
    result = run_cli("case", "import", str(src), env=env)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(run_cli("case", "list", "--json", env=env).stdout) == []


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    run_cli("init", env=env)
    src = tmp_path / "broken.json"
    src.write_text('{"format": "fieldkit.case-transfer/1",\n "cases": [,]}')
    result = run_cli("case", "import", str(src), env=env)
    assert result.returncode == 1
    assert "broken.json line 2" in result.stderr


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    missing = run_cli("case", "list", env=env)
    assert missing.returncode == 1
    assert "no fieldkit profile" in missing.stderr and "fieldkit init" in missing.stderr
    path = _profile_with_cases(tmp_path)
    # Another fieldkit holds a write transaction: the CLI says so.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    src = write_json(tmp_path / "in.json", transfer_doc(sample_case("C-3")))
    locked = run_cli("case", "import", str(src), env=env)
    holder.execute("ROLLBACK")
    holder.close()
    assert locked.returncode == 1
    assert "in use by another fieldkit" in locked.stderr
    no_file = run_cli("case", "import", str(tmp_path / "nope.json"), env=env)
    assert no_file.returncode == 1 and "no such file" in no_file.stderr
    unknown = run_cli("case", "show", "C-404", env=env)
    assert unknown.returncode == 1 and "no case C-404" in unknown.stderr
    path.write_bytes(b"this is not a database at all" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    damaged = run_cli("case", "list", env=env)
    assert damaged.returncode == 1
    assert "damaged" in damaged.stderr
    for result in (missing, locked, no_file, unknown, damaged):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_passphrase_change_rewraps_without_reencrypting(tmp_path: Path) -> None:
    path = _profile_with_cases(tmp_path)
    conn = sqlite3.connect(path)
    docs_before = conn.execute("SELECT doc FROM entities ORDER BY rowid").fetchall()
    conn.close()
    result = run_cli(
        "passphrase",
        "change",
        env={"FIELDKIT_PASSPHRASE": PASSPHRASE, "FIELDKIT_NEW_PASSPHRASE": "a new passphrase"},
    )
    assert result.returncode == 0, result.stderr
    with pytest.raises(CryptoError):
        Store.open(path, PASSPHRASE)
    s = Store.open(path, "a new passphrase")
    assert len(s.case_ids()) == 2
    s.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT doc FROM entities ORDER BY rowid").fetchall() == docs_before
    conn.close()


def test_passphrase_change_without_a_terminal_refuses_and_never_echoes(tmp_path: Path) -> None:
    """`passphrase change` with stdin piped and no terminal: the new passphrase is not read
    from stdin with echo (getpass's fallback, which printed its GetPassWarning and changed
    the passphrase); one line names FIELDKIT_NEW_PASSPHRASE, exit 1, the profile unchanged.
    The unlock prompt refuses the same way, naming FIELDKIT_PASSPHRASE."""
    path = _profile_with_cases(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    piped = "typed new passphrase\ntyped new passphrase\n"
    for env, named in (
        ({"FIELDKIT_PASSPHRASE": PASSPHRASE}, "FIELDKIT_NEW_PASSPHRASE"),
        ({}, "FIELDKIT_PASSPHRASE"),
    ):
        result = run_cli("passphrase", "change", env=env, input=piped)
        assert result.returncode == 1, (result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert named in result.stderr
        assert "GetPassWarning" not in result.stderr and "echoed" not in result.stderr
        assert "typed new passphrase" not in result.stdout + result.stderr
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    Store.open(path, PASSPHRASE).close()


def test_recovery_key_opens_a_profile_whose_passphrase_is_forgotten(tmp_path: Path) -> None:
    from fieldkit.crypto import X25519PrivateKey

    agency = X25519PrivateKey.generate()
    path = tmp_path / "p.fieldkit"
    s = Store.create(
        path, PASSPHRASE, "jsmith", recovery_public=agency.public_key(), argon=FAST_ARGON
    )
    services.import_cases(s, transfer_doc(sample_case("C-1")))
    s.close()
    recovered = Store.open_with_recovery(path, agency)
    recovered.change_passphrase("new passphrase!", FAST_ARGON)
    recovered.close()
    assert Store.open(path, "new passphrase!").case_ids() == ["C-1"]


def test_signed_record_cannot_change(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    store.record("C-1", "visit", "v1", {"date": "2026-11-02", "notes": "first"})
    store.record("C-1", "visit", "v1", action="sign", extra={"content_hash": "abc"})
    from fieldkit.errors import StoreError

    with pytest.raises(StoreError, match="addendum"):
        services.record_change(store, "C-1", "visit", "v1", {"notes": "changed"})


def test_an_op_delivered_twice_is_folded_once(store: Store) -> None:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    first = store.record("C-1", "visit", "v1", {"notes": "one"})
    store.record("C-1", "visit", "v1", {"notes": "two"})
    assert store.ingest(first) is False
    visit = store.entity("C-1", "visit", "v1")
    assert visit is not None and visit.fields["notes"] == "two" and visit.conflicts() == []


def test_recovery_through_the_cli(tmp_path: Path) -> None:
    key = tmp_path / "agency.key"
    assert run_cli("recovery-keygen", str(key)).returncode == 0
    env = {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    assert run_cli("init", "--recovery-key", f"{key}.pub", env=env).returncode == 0
    reset = run_cli(
        "passphrase",
        "reset",
        "--recovery-private-key",
        str(key),
        env={"FIELDKIT_NEW_PASSPHRASE": "brand new passphrase"},
    )
    assert reset.returncode == 0, reset.stderr
    listed = run_cli("case", "list", "--json", env={"FIELDKIT_PASSPHRASE": "brand new passphrase"})
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    wrong = tmp_path / "other.key"
    run_cli("recovery-keygen", str(wrong))
    refused = run_cli(
        "passphrase",
        "reset",
        "--recovery-private-key",
        str(wrong),
        env={"FIELDKIT_NEW_PASSPHRASE": "another passphrase"},
    )
    assert refused.returncode == 1 and "does not open" in refused.stderr


def test_a_failed_transaction_writes_nothing_and_the_next_save_chains_on(store: Store) -> None:
    """A failure inside a transaction (or a nested one) rolls back every op it wrote, the
    device's chain head, and the states kept from its saves; listeners hear only commits."""
    heard: list[int] = []
    store.outbox_listeners.append(lambda: heard.append(store.outbox_count()))
    first = store.record("C-1", "visit", "v1", {"notes": "kept"})
    assert heard == [1]
    with pytest.raises(RuntimeError), store.transaction():
        store.record("C-1", "visit", "v1", {"notes": "undone"})
        with store.transaction():
            store.record("C-1", "visit", "v2", {"notes": "undone too"})
        raise RuntimeError("the caller failed")
    assert heard == [1]
    assert [op.op_id for op in store.ops()] == [first.op_id]
    entity = store.entity("C-1", "visit", "v1")
    assert entity is not None and entity.fields == {"notes": "kept"}
    assert store.entity("C-1", "visit", "v2") is None
    with pytest.raises(StoreError), store.transaction():
        store._conn.execute("INSERT INTO ops (op_id) VALUES ('not an op')")  # NOT NULL fails
    after = store.record("C-1", "visit", "v1", {"notes": "again"})
    assert (after.seq, after.prev_hash) == (first.seq + 1, first.hash)
    assert heard == [1, 2]
    entity = store.entity("C-1", "visit", "v1")
    assert entity is not None and entity.fields == {"notes": "again"}
    assert [h["op"] for h in entity.state["heads"]["notes"]] == [after.op_id]
    assert store.verify().ok


def test_wrong_passphrase_promises_a_recovery_only_where_there_is_one(tmp_path: Path) -> None:
    """A wrong passphrase sent the worker to the IT lead "to recover the profile" even for
    a profile made without the agency's recovery key (`init` says it cannot be
    recovered): the worker would be told of a way out that does not exist."""
    from fieldkit.crypto import WrongPassphrase, X25519PrivateKey

    bare = tmp_path / "bare.fieldkit"
    Store.create(bare, PASSPHRASE, "jsmith", argon=FAST_ARGON).close()
    with pytest.raises(WrongPassphrase) as refused:
        Store.open(bare, "not the passphrase")
    assert "wrong passphrase" in str(refused.value)
    assert "IT lead" not in str(refused.value)
    assert "no agency recovery key" in str(refused.value)
    covered = tmp_path / "covered.fieldkit"
    agency = X25519PrivateKey.generate()
    Store.create(
        covered, PASSPHRASE, "jsmith", recovery_public=agency.public_key(), argon=FAST_ARGON
    ).close()
    with pytest.raises(WrongPassphrase) as refused:
        Store.open(covered, "not the passphrase")
    assert "IT lead" in str(refused.value)
