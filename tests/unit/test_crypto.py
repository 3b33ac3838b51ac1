"""Sealing, key slots and signatures."""

from __future__ import annotations

import pytest

from fieldkit import crypto
from fieldkit.crypto import CryptoError, Sealer, WrongPassphrase


def test_sealed_value_opens_only_where_it_was_sealed() -> None:
    sealer = Sealer(crypto.random_key())
    aad = crypto.aad_for("entities", "doc", "C-1/person/p1")
    sealed = sealer.seal(b"Maya Ortiz", aad)
    assert b"Maya" not in sealed
    assert sealer.open(sealed, aad) == b"Maya Ortiz"
    with pytest.raises(CryptoError):
        sealer.open(sealed, crypto.aad_for("entities", "doc", "C-1/person/p2"))
    with pytest.raises(CryptoError):
        sealer.open(sealed, crypto.aad_for("drafts", "doc", "C-1/person/p1"))
    flipped = bytearray(sealed)
    flipped[20] ^= 1
    with pytest.raises(CryptoError):
        sealer.open(bytes(flipped), aad)


def test_passphrase_slot_opens_with_the_passphrase_only() -> None:
    master = crypto.random_key()
    slot = crypto.passphrase_slot(
        master, "s3cret pass", {"memory_kib": 1024, "iterations": 1, "lanes": 1}
    )
    assert crypto.open_passphrase_slot(slot, "s3cret pass") == master
    with pytest.raises(WrongPassphrase):
        crypto.open_passphrase_slot(slot, "s3cret pasS")


def test_shipped_argon2_cost_is_at_least_64_mib() -> None:
    assert crypto.ARGON2_DEFAULTS["memory_kib"] >= 64 * 1024
    slot = crypto.passphrase_slot(crypto.random_key(), "pw")
    assert slot.params["memory_kib"] >= 65536 and slot.params["iterations"] >= 1


def test_recovery_slot_opens_with_the_agency_private_key() -> None:
    agency = crypto.X25519PrivateKey.generate()
    master = crypto.random_key()
    slot = crypto.recovery_slot(master, agency.public_key())
    assert crypto.open_recovery_slot(slot, agency) == master
    with pytest.raises(CryptoError):
        crypto.open_recovery_slot(slot, crypto.X25519PrivateKey.generate())
