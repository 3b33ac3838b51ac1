"""What a signature helper process runs (`fieldkit.sigcheck`): Ed25519 verifies of a packed
run of (hash, signature) pairs, and nothing else.

It imports `cryptography`'s Ed25519 alone, not fieldkit's change log or crypto modules, so a
spawned helper is ready sooner. The pairs come as one bytes value, each pair the op hash's
64 hex characters then its 64-byte signature (one value to pickle, not a tuple per op);
a pair of any other length is never packed (the caller checks it in process).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HASH_HEX = 64
SIG_BYTES = 64
PAIR = HASH_HEX + SIG_BYTES


def pack(items: list[tuple[str, bytes]]) -> bytes:
    """(hash hex, signature) pairs as one value; each must be packable (`packable`)."""
    return b"".join([digest.encode() + sig for digest, sig in items])


def packable(item: tuple[str, bytes]) -> bool:
    """The pair has the lengths `pack` relies on (ASCII hex of 64, a 64-byte signature)."""
    digest, sig = item
    return len(sig) == SIG_BYTES and len(digest) == HASH_HEX and digest.isascii()


def all_packable(items: list[tuple[str, bytes]]) -> bool:
    """Every pair is `packable` (looked at a column at a time, without a call per pair)."""
    if not items:
        return True
    digests, sigs = zip(*items, strict=True)
    return (
        set(map(len, sigs)) == {SIG_BYTES}
        and set(map(len, digests)) == {HASH_HEX}
        and all(map(str.isascii, digests))
    )


def failing(sign_pub: bytes, packed: bytes, offset: int) -> list[int]:
    """`offset` + the index of each packed pair whose signature does not verify."""
    verify = Ed25519PublicKey.from_public_bytes(sign_pub).verify
    bad = []
    for n, at in enumerate(range(0, len(packed), PAIR)):
        try:
            verify(packed[at + HASH_HEX : at + PAIR], packed[at : at + HASH_HEX])
        except InvalidSignature:
            bad.append(offset + n)
    return bad


def nothing() -> None:
    """Sent first so the helpers start (and import this module) while the caller works."""
