"""What a signature helper process runs (`fieldkit.sigcheck`): Ed25519 verifies of a packed
run of (hash, signature) pairs, and nothing else.

It imports the Ed25519 verifiers alone, not fieldkit's change log or crypto modules, so a
spawned helper is ready sooner. The pairs come as one bytes value, each pair the op hash's
64 hex characters then its 64-byte signature (one value to pickle, not a tuple per op);
a pair of any other length is never packed (the caller checks it in process).

Each signature is first verified with libsodium (PyNaCl), about twice as fast as OpenSSL's
Ed25519 on the machines measured; the verdict is OpenSSL's (`cryptography`, the one every
other check in fieldkit uses) all the same. libsodium accepts a subset of what OpenSSL
accepts: the same cofactorless equation (the encoded [S]B - [h]A compared byte for byte
with R, h from the same bytes), plus refusals OpenSSL does not make (a small-order R or
key, a key not canonically encoded). So a pair libsodium accepts, with S below the group
order checked here too (a libsodium built in its compatibility mode checks only S's top
bits), is one OpenSSL accepts; any pair libsodium refuses is verified again with OpenSSL,
whose answer stands. Without PyNaCl every pair is verified with OpenSSL alone.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_sodium_open: Callable[[bytes, bytes], bytes] | None
try:
    from nacl.bindings import crypto_sign_open as _sodium_open
    from nacl.exceptions import BadSignatureError as _SodiumRefused
except ImportError:  # pragma: no cover - PyNaCl is a dependency; OpenSSL alone then
    _sodium_open = None

HASH_HEX = 64
SIG_BYTES = 64
PUBLIC_BYTES = 32
PAIR = HASH_HEX + SIG_BYTES

# The order of the Ed25519 group: a signature's S must be below it (both libraries refuse
# any other; checked here in case libsodium was built to check S's top bits only).
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


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
    """`offset` + the index of each packed pair whose signature does not verify (OpenSSL's
    verdict; libsodium first where it is installed, see the module's note)."""
    verify = Ed25519PublicKey.from_public_bytes(sign_pub).verify
    sodium = _sodium_open if len(sign_pub) == PUBLIC_BYTES else None
    order, from_bytes = GROUP_ORDER, int.from_bytes
    bad = []
    for n, at in enumerate(range(0, len(packed), PAIR)):
        digest, sig = packed[at : at + HASH_HEX], packed[at + HASH_HEX : at + PAIR]
        if sodium is not None and from_bytes(sig[32:], "little") < order:
            try:
                sodium(sig + digest, sign_pub)
                continue  # libsodium accepts: so does OpenSSL
            except _SodiumRefused:
                pass  # OpenSSL's verdict decides
        try:
            verify(sig, digest)
        except InvalidSignature:
            bad.append(offset + n)
    return bad


def nothing() -> None:
    """Sent first so the helpers start (and import this module) while the caller works."""
