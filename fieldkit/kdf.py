"""Argon2id, the passphrase's key derivation, and its head start: lean on purpose.

`fieldkit.launch` starts the derivation here before anything else of fieldkit loads (this
module imports Argon2id alone, not the rest of `cryptography` that `fieldkit.crypto`
needs): the sooner it starts, the less the app's start waits for the key when the machine
is busy. `fieldkit.crypto` re-exports `derive_passphrase_key` and `derive_early`.
"""

from __future__ import annotations

import hmac
import threading

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

KEK_BYTES = 32
COST_KEYS = ("memory_kib", "iterations", "lanes")
"""The Argon2id cost a passphrase slot records (beside its salt)."""

_EARLY: dict[tuple[bytes, tuple[int, int, int]], tuple[bytes, threading.Thread, list[bytes]]] = {}
_EARLY_LOCK = threading.Lock()


def _cost(params: dict[str, int]) -> tuple[int, int, int]:
    return (int(params["memory_kib"]), int(params["iterations"]), int(params["lanes"]))


def derive_early(passphrase: str, salt: bytes, params: dict[str, int]) -> None:
    """Start deriving a passphrase key in a thread, as soon as the passphrase is known.

    Argon2id releases the GIL, so it runs while the command's modules import; the unlock
    then takes the key (`derive_passphrase_key` with the same passphrase, salt and cost)
    instead of deriving it again. Nothing else can read it.
    """
    out: list[bytes] = []

    def work() -> None:
        out.append(_derive(passphrase, salt, params))

    thread = threading.Thread(target=work, name="fieldkit-argon2id", daemon=True)
    with _EARLY_LOCK:
        _EARLY[(salt, _cost(params))] = (passphrase.encode("utf-8"), thread, out)
    thread.start()


def derive_passphrase_key(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    """Argon2id key-encryption key from the worker's passphrase."""
    with _EARLY_LOCK:
        early = _EARLY.pop((salt, _cost(params)), None)
    if early is not None:
        secret, thread, out = early
        thread.join()
        if out and hmac.compare_digest(secret, passphrase.encode("utf-8")):
            return out[0]
    return _derive(passphrase, salt, params)


def _derive(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Argon2id(
        salt=salt,
        length=KEK_BYTES,
        iterations=params["iterations"],
        lanes=params["lanes"],
        memory_cost=params["memory_kib"],
    ).derive(passphrase.encode("utf-8"))
