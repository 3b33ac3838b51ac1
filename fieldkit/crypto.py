"""Keys and sealing: key slots, AES-256-GCM with AAD bound to where a value lives, Ed25519.

A profile has one random master key, wrapped by key slots (passphrase via Argon2id, agency
recovery via X25519). Case content is sealed with a per-case key; the case key is wrapped by
the master key on the laptop and, for sync, to the X25519 keys of the case team.
"""

from __future__ import annotations

import binascii
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldkit.errors import FieldkitError
from fieldkit.kdf import COST_KEYS, derive_early, derive_passphrase_key

NONCE_BYTES = 12
KEY_BYTES = 32
# Argon2id cost: 64 MiB, 3 passes, 4 lanes; about 0.15 s on a field laptop (bench/store.py).
ARGON2_DEFAULTS: dict[str, int] = {"memory_kib": 65536, "iterations": 3, "lanes": 4}


class CryptoError(FieldkitError):
    """A value could not be opened: wrong key, or the ciphertext was altered or moved."""


class WrongPassphrase(CryptoError):
    """The passphrase does not open any key slot of this profile.

    Its message is an untranslated message id, said in the language chosen when it is
    shown: the unlock runs in a thread started before the app or CLI picks its language.
    """

    def __str__(self) -> str:
        from fieldkit.i18n import _  # noqa: PLC0415 - only when the message is shown

        text = super().__str__()
        return _(text) if text else text


# `base64.urlsafe_b64encode`/`decode` in one binascii call each: the same bytes, without
# the wrappers' four Python calls per value (a push decodes two values per op).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64(data: bytes) -> str:
    """Bytes as URL-safe base64 text, for JSON and TOML."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).decode("ascii")


def b64_bytes(data: bytes) -> bytes:
    """`b64(data)` as ASCII bytes (for bytes that are hashed, not kept as text)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE)


def unb64(text: str) -> bytes:
    """The inverse of `b64`."""
    return binascii.a2b_base64(text.encode("ascii").translate(_FROM_URLSAFE))


def random_key() -> bytes:
    """A fresh 256-bit key."""
    return os.urandom(KEY_BYTES)


def aad_for(table: str, column: str, row_id: str) -> bytes:
    """The associated data that binds a ciphertext to one table, column and row."""
    return f"fieldkit|{table}|{column}|{row_id}".encode()


class Sealer:
    """AES-256-GCM under one key; every value carries its own random nonce."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """The plaintext, or CryptoError if the value was altered or belongs elsewhere."""
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError) as exc:
            raise CryptoError("a sealed value failed to open (altered, or moved)") from exc


def hkdf(key: bytes, info: str, length: int = KEY_BYTES, salt: bytes | None = None) -> bytes:
    """A subkey of `key` for one purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info.encode()).derive(key)


@dataclass(frozen=True)
class KeySlot:
    """One way to open the master key: a passphrase or the agency recovery key."""

    kind: str  # "passphrase" | "recovery"
    params: dict[str, Any]
    wrapped: bytes

    def to_json(self) -> dict[str, Any]:
        """Stored form (no secret in it)."""
        return {"kind": self.kind, "params": self.params, "wrapped": b64(self.wrapped)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeySlot:
        """Inverse of `to_json`."""
        return cls(kind=data["kind"], params=data["params"], wrapped=unb64(data["wrapped"]))


SLOT_AAD = b"fieldkit|key_slot|master"
# Slots made since the sealed settings record (fieldkit/integrity.py) seal the master key
# under a different AAD, so a v2 slot cannot be passed off as an older one whose profile
# has no record to check: a slot's version is proven by its opening.
SLOT_VERSION = 2
SLOT_AAD_V2 = b"fieldkit|key_slot|master|v2"
RECOVERY_CONTEXT_V2 = "recovery-slot-v2"


def slot_version(slot: KeySlot) -> int:
    """1 for slots made before the sealed settings record, 2 after."""
    return 2 if str(slot.params.get("v", "1")) == "2" else 1


def passphrase_slot(
    master: bytes, passphrase: str, params: dict[str, int] | None = None
) -> KeySlot:
    """Wrap the master key under an Argon2id key from the passphrase."""
    cost = dict(params or ARGON2_DEFAULTS)
    salt = os.urandom(16)
    kek = derive_passphrase_key(passphrase, salt, cost)
    wrapped = Sealer(kek).seal(master, SLOT_AAD_V2)
    return KeySlot("passphrase", {**cost, "salt": b64(salt), "v": SLOT_VERSION}, wrapped)


def argon_params(slot: KeySlot) -> dict[str, int]:
    """The Argon2id cost a passphrase slot was made with."""
    return {k: int(v) for k, v in slot.params.items() if k in COST_KEYS}


def open_passphrase_slot(slot: KeySlot, passphrase: str) -> bytes:
    """The master key, or WrongPassphrase."""
    kek = derive_passphrase_key(passphrase, unb64(slot.params["salt"]), argon_params(slot))
    aad = SLOT_AAD_V2 if slot_version(slot) == 2 else SLOT_AAD
    try:
        return Sealer(kek).open(slot.wrapped, aad)
    except CryptoError as exc:
        raise WrongPassphrase("wrong passphrase") from exc


def wrap_to_public(secret: bytes, recipient: X25519PublicKey, context: str) -> bytes:
    """Seal `secret` so only the holder of the recipient's X25519 private key opens it."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(recipient)
    kek = hkdf(shared, f"fieldkit wrap {context}", salt=eph_pub)
    return eph_pub + Sealer(kek).seal(secret, context.encode())


def unwrap_with_private(wrapped: bytes, private: X25519PrivateKey, context: str) -> bytes:
    """Inverse of `wrap_to_public`."""
    eph_pub = wrapped[:32]
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    kek = hkdf(shared, f"fieldkit wrap {context}", salt=eph_pub)
    return Sealer(kek).open(wrapped[32:], context.encode())


def recovery_slot(master: bytes, recovery_public: X25519PublicKey) -> KeySlot:
    """Wrap the master key to the agency's recovery key (opened only with its private half)."""
    wrapped = wrap_to_public(master, recovery_public, RECOVERY_CONTEXT_V2)
    fingerprint = b64(hkdf(recovery_public.public_bytes_raw(), "fingerprint", length=8)).rstrip("=")
    return KeySlot("recovery", {"fingerprint": fingerprint, "v": SLOT_VERSION}, wrapped)


def open_recovery_slot(slot: KeySlot, recovery_private: X25519PrivateKey) -> bytes:
    """The master key, opened with the agency recovery private key."""
    context = RECOVERY_CONTEXT_V2 if slot_version(slot) == 2 else "recovery-slot"
    return unwrap_with_private(slot.wrapped, recovery_private, context)


def load_x25519_public(text: str) -> X25519PublicKey:
    """An X25519 public key from base64 text or a PEM block."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, X25519PublicKey):
            raise CryptoError("not an X25519 public key")
        return key
    return X25519PublicKey.from_public_bytes(unb64(text))


def load_x25519_private(text: str) -> X25519PrivateKey:
    """An X25519 private key from base64 text or a PEM block."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, X25519PrivateKey):
            raise CryptoError("not an X25519 private key")
        return key
    return X25519PrivateKey.from_private_bytes(unb64(text))


def ed25519_public_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """A device's signing public key."""
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when `signature` is the device's signature of `message`."""
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


__all__ = [
    "ARGON2_DEFAULTS",
    "CryptoError",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "KeySlot",
    "Sealer",
    "WrongPassphrase",
    "X25519PrivateKey",
    "X25519PublicKey",
    "aad_for",
    "argon_params",
    "b64",
    "derive_early",
    "derive_passphrase_key",
    "ed25519_public_from_bytes",
    "hkdf",
    "load_x25519_private",
    "load_x25519_public",
    "open_passphrase_slot",
    "open_recovery_slot",
    "passphrase_slot",
    "random_key",
    "recovery_slot",
    "slot_version",
    "unb64",
    "unwrap_with_private",
    "verify_signature",
    "wrap_to_public",
]
