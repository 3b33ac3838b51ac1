"""`fieldkit verify` at scale: every signature on every core, and incremental from a sealed
mark without losing what a full check finds (fieldkit/store/verify.py, fieldkit/sigcheck.py)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature

from fieldkit import services, sigcheck, sigworker
from fieldkit.changelog import OP_SELECT, check_chain, signatures_failing, stored_chain_holds
from fieldkit.crypto import (
    Ed25519PrivateKey,
    aad_for,
    ed25519_public_from_bytes,
    verify_signature,
)
from fieldkit.sigcheck import MIN_PARALLEL, BackgroundCheck
from fieldkit.store import Store
from fieldkit.store.schema import ops_from_rows
from tests.conftest import FAST_ARGON, PASSPHRASE, sample_case, transfer_doc


def _store(tmp_path: Path) -> Store:
    store = Store.create(tmp_path / "p.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case("C-1"), sample_case("C-2")))
    return store


def _sql(path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_after_a_clean_verify_an_altered_op_below_the_mark_is_still_named(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.verify().ok
    victim = store.ops()[5]
    body = bytearray(victim.body)
    body[15] ^= 1
    path = store.path
    store.close()
    _sql(path, "UPDATE ops SET body=? WHERE op_id=?", bytes(body), victim.op_id)
    again = Store.open(path, PASSPHRASE)
    report = again.verify()
    assert [p.op_id for p in report.problems] == [victim.op_id]
    assert "does not match its hash" in report.problems[0].message
    again.close()


def test_a_rewritten_chain_below_the_mark_differs_from_the_sealed_mark(tmp_path: Path) -> None:
    """The newest op altered and hashed afresh: every hash and link checks, and only its
    signature (not re-checked below the mark) or the sealed mark can tell."""
    store = _store(tmp_path)
    assert store.verify().ok
    path = store.path
    last = store.ops()[-1]
    store.close()
    body = bytearray(last.body)
    body[15] ^= 1
    fake = last.__class__(**{**last.__dict__, "body": bytes(body), "hash": ""}).with_hash()
    _sql(path, "UPDATE ops SET body=?, hash=? WHERE op_id=?", fake.body, fake.hash, last.op_id)
    again = Store.open(path, PASSPHRASE)
    report = again.verify()
    assert not report.ok and report.problems[0].op_id == last.op_id
    again.close()


def test_a_replaced_signature_below_the_mark_is_named_by_a_full_verify(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.verify().ok
    victim = store.ops()[3]
    path = store.path
    store.close()
    forged = Ed25519PrivateKey.generate().sign(victim.hash.encode())
    _sql(path, "UPDATE ops SET sig=? WHERE op_id=?", forged, victim.op_id)
    again = Store.open(path, PASSPHRASE)
    # Its content is pinned by the sealed mark: the incremental check finds it unchanged.
    assert again.verify().ok
    full = again.verify(full=True)
    assert [p.op_id for p in full.problems] == [victim.op_id]
    assert "forged" in full.problems[0].message
    again.close()


def test_new_ops_after_the_mark_have_their_signatures_checked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.verify().ok
    op = store.record("C-1", "visit", "v1", {"notes": "after the mark"})
    path = store.path
    store.close()
    forged = Ed25519PrivateKey.generate().sign(op.hash.encode())
    _sql(path, "UPDATE ops SET sig=? WHERE op_id=?", forged, op.op_id)
    again = Store.open(path, PASSPHRASE)
    report = again.verify()
    assert [p.op_id for p in report.problems] == [op.op_id]
    again.close()


def test_the_process_pool_finds_the_same_bad_signatures_as_one_process() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    items = [(f"{n:064x}", key.sign(f"{n:064x}".encode())) for n in range(5000)]
    bad = {7, 2500, 4999}
    for n in bad:
        items[n] = (items[n][0], Ed25519PrivateKey.generate().sign(items[n][0].encode()))
    with BackgroundCheck(len(items), processes=2) as signatures:
        assert signatures._pool is not None
        signatures.start(public, items)
        assert signatures.check(public, items) == bad


def test_a_signature_the_helpers_were_not_given_is_still_checked() -> None:
    """Asked about items it was not started with (another key, a forged signature beside
    the started ones), the check verifies them here rather than passing them."""
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    items = [(f"{n:064x}", key.sign(f"{n:064x}".encode())) for n in range(4000)]
    forged = ("f" * 64, other.sign(b"f" * 64))
    with BackgroundCheck(len(items), processes=2) as signatures:
        signatures.start(public, items)
        assert signatures.check(public, [items[0], forged, items[1]]) == {1}
        assert signatures.check(other.public_key().public_bytes_raw(), [forged]) == set()
        assert signatures.check(other.public_key().public_bytes_raw(), [items[0]]) == {0}


def test_a_forged_signature_among_many_is_named_by_a_full_verify(tmp_path: Path) -> None:
    """Enough ops for the helper processes: a signature replaced anywhere is still named,
    and an op altered after it is not named in its place (the first problem of a chain)."""
    store = _store(tmp_path)
    with store.transaction():
        for n in range(4100):
            store.record("C-1", "visit", f"v{n % 7}", {"notes": f"visit {n}"})
    ops = store.ops()
    assert store.verify(full=True).ok
    victim, later = ops[2100], ops[3000]
    path = store.path
    store.close()
    forged = Ed25519PrivateKey.generate().sign(victim.hash.encode())
    _sql(path, "UPDATE ops SET sig=? WHERE op_id=?", forged, victim.op_id)
    body = bytearray(later.body)
    body[15] ^= 1
    _sql(path, "UPDATE ops SET body=? WHERE op_id=?", bytes(body), later.op_id)
    again = Store.open(path, PASSPHRASE)
    full = again.verify(full=True)
    assert [p.op_id for p in full.problems] == [victim.op_id]
    assert "forged" in full.problems[0].message
    again.close()


def test_fold_counts_read_the_head_and_a_doc_of_the_older_layout_alike(tmp_path: Path) -> None:
    """`verify` reads each entity's op count and newest op from the head of its sealed
    state; a state sealed with `n` and `l` last (before this layout) is parsed whole and
    gives the same."""
    store = _store(tmp_path)
    store.record("C-1", "visit", "v1", {"notes": "first"})
    store.record("C-1", "visit", "v1", {"notes": "second", "n": 9, "l": "not the op"})
    counts = {(c, e, i): (n, last) for c, e, i, n, last in store.fold_counts()}
    # `l` is the greatest op id of the entity's ops (the fold keeps max(op_id)); two saves
    # in one millisecond have random-ordered UUIDv7s, so it need not be the later save
    newest = max(op.op_id for op in store.ops() if op.entity_id == "v1")
    assert counts[("C-1", "visit", "v1")] == (2, newest)
    assert len(counts) == len(store.entities(include_deleted=True))
    with store.transaction():
        for cid, ent, eid, doc, key_id in store._conn.execute(
            "SELECT case_id, entity, entity_id, doc, key_id FROM entities"
        ).fetchall():
            sealer = store.key_sealer(cid, key_id)
            aad = aad_for("entities", "doc", f"{cid}/{ent}/{eid}")
            packed = json.loads(sealer.open(doc, aad))
            older = {k: v for k, v in packed.items() if k not in ("n", "l")}
            older |= {"n": packed["n"], "l": packed["l"]}
            store._conn.execute(
                "UPDATE entities SET doc=? WHERE case_id=? AND entity=? AND entity_id=?",
                (sealer.seal(json.dumps(older).encode(), aad), cid, ent, eid),
            )
    assert {(c, e, i): (n, last) for c, e, i, n, last in store.fold_counts()} == counts
    store.close()


def test_an_op_deleted_under_a_state_is_named_by_its_count(tmp_path: Path) -> None:
    """The fold count guards what the chain cannot: the earlier of an entity's two ops
    deleted leaves its newest op in place, and the state still says two."""
    store = _store(tmp_path)
    first = store.record("C-2", "visit", "v2", {"notes": "first"})
    store.record("C-2", "visit", "v2", {"notes": "second"})
    path = store.path
    store.close()
    _sql(path, "DELETE FROM ops WHERE op_id=?", first.op_id)
    again = Store.open(path, PASSPHRASE)
    messages = [p.message for p in again.verify(full=True).problems]
    assert any(
        "visit v2 of case C-2 was built from 2 ops but the log holds 1" in m for m in messages
    )
    again.close()


def _rows(store: Store) -> list[tuple[object, ...]]:
    with store._lock:
        return store._conn.execute(
            f"SELECT {OP_SELECT} FROM ops WHERE device_id=? ORDER BY seq", (store.device_id,)
        ).fetchall()


def test_the_stored_chain_loop_agrees_with_check_chain(tmp_path: Path) -> None:
    """`stored_chain_holds` (the clean-chain loop on raw rows) holds exactly where
    `check_chain` finds nothing, and fails on each thing `check_chain` names."""
    store = _store(tmp_path)
    rows = _rows(store)
    assert not check_chain(ops_from_rows(rows), None, signatures="none")
    assert stored_chain_holds(rows)
    body = bytearray(rows[4][10])
    body[3] ^= 1
    altered = [*rows[:4], (*rows[4][:10], bytes(body), *rows[4][11:]), *rows[5:]]
    reseq = [*rows[:4], (*rows[4][:2], 99, *rows[4][3:]), *rows[5:]]
    relinked = [*rows[:4], (*rows[4][:11], bytes(32), *rows[4][12:]), *rows[5:]]
    as_text = [*rows[:4], (*rows[4][:12], rows[4][12].hex(), rows[4][13]), *rows[5:]]
    for bad in (altered, reseq, relinked, rows[:3] + rows[4:]):
        assert check_chain(ops_from_rows(bad), None, signatures="none")
        assert not stored_chain_holds(bad)
    # A hash kept as hex text checks in `check_chain`; the loop leaves it to it.
    assert not check_chain(ops_from_rows(as_text), None, signatures="none")
    assert not stored_chain_holds(as_text)
    # Another device's chain may skip positions (`gaps`), and is still linked where not.
    assert stored_chain_holds(rows[:3] + rows[4:], gaps=False) is False
    assert stored_chain_holds(rows[:3] + rows[4:], gaps=True)
    store.close()


def test_the_helpers_get_packed_pairs_and_name_each_bad_one() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    items = [(f"{n:064x}", key.sign(f"{n:064x}".encode())) for n in range(20)]
    items[3] = (items[3][0], key.sign(b"something else"))
    assert sigworker.failing(public, sigworker.pack(items), 100) == [103]
    assert sigworker.all_packable(items)
    assert not sigworker.all_packable([*items, ("a" * 64, b"short")])
    assert not sigworker.all_packable([*items, ("é" * 64, items[0][1])])


def test_a_signature_that_cannot_be_packed_is_checked_in_process() -> None:
    """A stored signature of another length (altered) is never packed for the helpers
    (it would shift every pair after it): it is checked here, and named."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    items = [(f"{n:064x}", key.sign(f"{n:064x}".encode())) for n in range(4000)]
    items[10] = (items[10][0], items[10][1] + b"\0")
    with BackgroundCheck(len(items), processes=2) as signatures:
        assert signatures._pool is not None
        signatures.start(public, items)
        assert signatures.check(public, items) == {10}


def test_every_key_sealer_read_at_once_is_the_one_read_alone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    all_at_once = dict(store.key_sealers())
    store._key_sealers.clear()
    with store._lock:
        named = store._conn.execute("SELECT case_id, key_id FROM case_keys").fetchall()
    assert named and set(all_at_once) == {(c, k) for c, k in named}
    sealed = all_at_once[named[0]].seal(b"x", b"aad")
    assert store.key_sealer(*named[0]).open(sealed, b"aad") == b"x"
    # A wrapped key that does not open is left out, for `key_sealer` to refuse.
    with store.transaction():
        store._conn.execute(
            "UPDATE case_keys SET wrapped=? WHERE case_id=? AND key_id=?", (b"\0" * 60, *named[0])
        )
    store._key_sealers.clear()
    assert named[0] not in store.key_sealers()
    store.close()


def test_helpers_started_before_the_unlock_are_taken_by_the_check() -> None:
    sigcheck.start_early(MIN_PARALLEL, processes=2)
    early = sigcheck._early
    assert early is not None
    with BackgroundCheck(MIN_PARALLEL, processes=2) as signatures:
        assert signatures._pool is early and sigcheck._early is None


def test_helpers_started_for_a_check_that_needs_none_are_closed() -> None:
    sigcheck.start_early(MIN_PARALLEL, processes=2)
    early = sigcheck._early
    assert early is not None
    with BackgroundCheck(10, processes=2) as signatures:
        assert signatures._pool is None
    assert early._pool is None and sigcheck._early is None
    sigcheck.start_early(MIN_PARALLEL - 1, processes=2)
    assert sigcheck._early is None


def test_a_full_verify_with_helpers_started_early_names_a_forged_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fieldkit verify --full`'s order: the helpers start from the clear op count before
    the unlock, then the check uses them (few ops here: the threshold lowered)."""
    monkeypatch.setattr(sigcheck, "MIN_PARALLEL", 8)
    store = _store(tmp_path)
    victim = store.ops()[6]
    path = store.path
    store.close()
    _sql(path, "UPDATE ops SET sig=? WHERE op_id=?", b"\1" * 64, victim.op_id)
    services.start_signature_helpers(path)
    assert sigcheck._early is not None
    again = Store.open(path, PASSPHRASE)
    full = again.verify(full=True)
    assert sigcheck._early is None
    assert [p.op_id for p in full.problems] == [victim.op_id]
    assert "forged" in full.problems[0].message
    again.close()
    services.start_signature_helpers(tmp_path / "missing.fieldkit")
    assert sigcheck._early is None


@pytest.fixture(autouse=True)
def _no_early_helpers_left() -> Iterator[None]:
    """A test that fails half-way leaves no started helpers for the next one to take."""
    yield
    sigcheck.close_early()


def test_a_read_step_of_signatures_none_of_which_can_be_packed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signatures stripped from every op: nothing goes to the helpers, each is checked here
    and the first bad op is named (the helpers are never handed an empty set)."""
    monkeypatch.setattr(sigcheck, "MIN_PARALLEL", 8)
    store = _store(tmp_path)
    first = store.ops()[0]
    path = store.path
    store.close()
    _sql(path, "UPDATE ops SET sig=x''")
    again = Store.open(path, PASSPHRASE)
    full = again.verify(full=True)
    again.close()
    assert not full.ok and full.problems[0].op_id == first.op_id
    key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    items = [(f"{n:064x}", b"") for n in range(1000)]
    with BackgroundCheck(MIN_PARALLEL, processes=2) as signatures:
        signatures.start(key, items)
        assert signatures.check(key, items) == set(range(1000))


def test_verify_full_that_cannot_unlock_leaves_no_helpers_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fieldkit verify --full` with a wrong passphrase: the helpers started before the
    unlock are closed, not left idle until the process ends."""
    from typer.testing import CliRunner

    from fieldkit.cli import app

    monkeypatch.setattr(sigcheck, "MIN_PARALLEL", 8)
    home = tmp_path / "home"
    home.mkdir()
    Store.create(home / "default.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON).close()
    store = Store.open(home / "default.fieldkit", PASSPHRASE)
    services.import_cases(store, transfer_doc(sample_case("C-1"), sample_case("C-2")))
    store.close()
    started: list[sigcheck._Pool] = []
    real_start = sigcheck.start_early

    def start_early(count: int, processes: int | None = None) -> None:
        real_start(count, processes)
        if sigcheck._early is not None:
            started.append(sigcheck._early)

    monkeypatch.setattr(sigcheck, "start_early", start_early)
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(home), "verify", "--full"],
        env={"FIELDKIT_PASSPHRASE": "not the passphrase"},
    )
    assert result.exit_code != 0 and "wrong passphrase" in str(result.exception)
    assert started, "the helpers were started before the unlock"
    assert started[0]._pool is None and sigcheck._early is None


# --- libsodium first, OpenSSL's verdict (fieldkit/sigworker.py) --------------------------

_P = 2**255 - 19


def _scalar(seed: bytes) -> int:
    """The secret scalar Ed25519 derives from a 32-byte seed (RFC 8032 5.1.5)."""
    digest = bytearray(hashlib.sha512(seed).digest()[:32])
    digest[0] &= 248
    digest[31] = (digest[31] & 127) | 64
    return int.from_bytes(digest, "little")


def _public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def _crafted(message: bytes, torsion: bool) -> tuple[bytes, bytes]:
    """(public key, signature) made by hand: R = rB, or rB plus the point of order two
    when `torsion` (then S B - h A = rB differs from R by that point: a cofactorless
    verifier refuses it, a cofactored one would accept it)."""
    key_seed, nonce_seed = bytes(range(32)), bytes(range(32, 64))
    a, r, public = _scalar(key_seed), _scalar(nonce_seed), _public(key_seed)
    point = int.from_bytes(_public(nonce_seed), "little")  # rB: y, and x's sign bit on top
    if torsion:  # (x, y) + (0, -1) = (-x, -y): y becomes p - y, x's sign flips
        y, sign = point & (2**255 - 1), point >> 255
        point = ((_P - y) % _P) | ((1 - sign) << 255)
    big_r = point.to_bytes(32, "little")
    h = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little")
    s = (r + h * a) % sigworker.GROUP_ORDER
    return public, big_r + s.to_bytes(32, "little")


def test_the_helpers_check_with_libsodium_and_openssl_only_where_it_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sigworker._sodium_open is not None, "PyNaCl is a dependency"
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    items = [(f"{n:064x}", key.sign(f"{n:064x}".encode())) for n in range(50)]
    items[7] = (items[7][0], Ed25519PrivateKey.generate().sign(items[7][0].encode()))
    openssl: list[bytes] = []
    real = sigworker.Ed25519PublicKey.from_public_bytes

    class Counting:
        def __init__(self, raw: bytes) -> None:
            self._key = real(raw)

        def verify(self, sig: bytes, data: bytes) -> None:
            openssl.append(data)
            self._key.verify(sig, data)

    monkeypatch.setattr(sigworker.Ed25519PublicKey, "from_public_bytes", Counting)
    assert sigworker.failing(public, sigworker.pack(items), 0) == [7]
    assert openssl == [items[7][0].encode()]  # the forged one, confirmed by OpenSSL


def test_a_signature_whose_r_differs_by_a_small_order_point_is_forged() -> None:
    message = "ab" * 32
    public, good = _crafted(message.encode(), torsion=False)
    assert verify_signature(ed25519_public_from_bytes(public), good, message.encode())
    public, odd = _crafted(message.encode(), torsion=True)
    assert not verify_signature(ed25519_public_from_bytes(public), odd, message.encode())
    packed = sigworker.pack([(message, good), (message, odd)])
    assert sigworker.failing(public, packed, 0) == [1]


def test_a_signature_with_s_above_the_group_order_is_forged() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    digest = "cd" * 32
    sig = key.sign(digest.encode())
    s = int.from_bytes(sig[32:], "little") + sigworker.GROUP_ORDER
    malleated = sig[:32] + s.to_bytes(32, "little")
    assert not verify_signature(ed25519_public_from_bytes(public), malleated, digest.encode())
    assert sigworker.failing(public, sigworker.pack([(digest, sig), (digest, malleated)]), 0) == [1]


def test_what_libsodium_refuses_and_openssl_accepts_keeps_openssl_verdict() -> None:
    """The identity as the key, R the identity and S zero: OpenSSL accepts it for any
    message, libsodium refuses a small-order key. The helpers answer as OpenSSL does (and
    as the check in process does), neither stricter nor looser."""
    identity = (1).to_bytes(32, "little")
    sig = identity + bytes(32)
    digest = "ef" * 32
    in_process = signatures_failing(identity, [(digest, sig)])
    assert sigworker.failing(identity, sigworker.pack([(digest, sig)]), 0) == sorted(in_process)


def test_without_pynacl_the_helpers_verify_with_openssl_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sigworker, "_sodium_open", None)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    items = [(f"{n:064x}", key.sign(f"{n:064x}".encode())) for n in range(10)]
    items[4] = (items[4][0], key.sign(b"another hash"))
    assert sigworker.failing(public, sigworker.pack(items), 20) == [24]


# --- what reaches libsodium: fieldkit.sigworker.sodium_accepts -------------------------


def _openssl_alone(public: bytes, sig: bytes, message: bytes) -> bool:
    try:
        sigworker.Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
    except InvalidSignature:
        return False
    return True


def test_libsodium_accepts_only_what_openssl_accepts_and_sees_only_whole_signatures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    message = ("12" * 32).encode()
    good = key.sign(message)
    s_above = good[:32] + (int.from_bytes(good[32:], "little") + sigworker.GROUP_ORDER).to_bytes(
        32, "little"
    )
    crafted_public, torsion = _crafted(message, torsion=True)
    identity = (1).to_bytes(32, "little")
    # A 63-byte signature with the last byte moved to the message's front: libsodium reads
    # signature + message as one run, so it would find the genuine pair there.
    cases = [
        (public, good, message),
        (public, Ed25519PrivateKey.generate().sign(message), message),
        (public, s_above, message),
        (crafted_public, torsion, message),
        (identity, identity + bytes(32), message),
        (public, good[:63], good[63:] + message),
    ]
    calls: list[bytes] = []
    real = sigworker._sodium_open
    assert real is not None, "PyNaCl is a dependency"

    def counting(signed: bytes, key_bytes: bytes) -> bytes:
        calls.append(signed)
        return real(signed, key_bytes)

    monkeypatch.setattr(sigworker, "_sodium_open", counting)
    accepted = [sigworker.sodium_accepts(p, s, m) for p, s, m in cases]
    openssl = [_openssl_alone(p, s, m) for p, s, m in cases]
    assert openssl == [True, False, False, False, True, False]
    assert accepted == [True, False, False, False, False, False]  # never one OpenSSL refuses
    assert calls[0] == good + message
    # S above the order and the 63-byte signature never reach libsodium
    assert len(calls) == 4
