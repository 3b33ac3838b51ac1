"""Agency recovery key files, and how strong a new passphrase must be.

`fieldkit recovery-keygen` writes both halves with a label on the first word, so `init`
can refuse the private half (a slot wrapped to it opens for nobody, and the private key
does not belong on a laptop) and anything else that is not a recovery public key.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from fieldkit.crypto import CryptoError, X25519PrivateKey, X25519PublicKey, b64
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _

PUBLIC_LABEL = "fieldkit-recovery-public-v1"
PRIVATE_LABEL = "fieldkit-recovery-private-v1"
MIN_LENGTH = 8


def new_recovery_key() -> X25519PrivateKey:
    """A fresh agency recovery key pair (`fieldkit recovery-keygen`)."""
    return X25519PrivateKey.generate()


def public_text(key: X25519PublicKey) -> str:
    """The .pub file's content."""
    return f"{PUBLIC_LABEL} {b64(key.public_bytes_raw())}\n"


def private_text(key: X25519PrivateKey) -> str:
    """The private file's content."""
    return f"{PRIVATE_LABEL} {b64(key.private_bytes_raw())}\n"


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise FieldkitError(_("no such key file: {path}").format(path=path)) from None
    except (OSError, UnicodeDecodeError):
        raise FieldkitError(_("{path} cannot be read as a key file").format(path=path)) from None
    if not text:
        raise FieldkitError(_("{path} is empty: it holds no key").format(path=path))
    return text


def _raw32(value: str, path: Path) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise FieldkitError(
            _("{path} is damaged: its key is not 32 bytes of base64").format(path=path)
        )
    return raw


def read_recovery_public(path: Path) -> X25519PublicKey:
    """The agency recovery public key from a file `recovery-keygen` wrote, or one line why not."""
    text = _read(path)
    label, _sep, value = text.partition(" ")
    if label == PRIVATE_LABEL or "PRIVATE KEY" in text:
        raise FieldkitError(
            _(
                "{path} is the agency's PRIVATE recovery key: give `init` the .pub "
                "file, and keep the private key offline"
            ).format(path=path)
        )
    if label != PUBLIC_LABEL:
        raise FieldkitError(
            _(
                "{path} is not a recovery public key made by `fieldkit "
                "recovery-keygen` (its first word should be {public_label})"
            ).format(path=path, public_label=PUBLIC_LABEL)
        )
    return X25519PublicKey.from_public_bytes(_raw32(value.strip(), path))


def read_recovery_private(path: Path) -> X25519PrivateKey:
    """The agency recovery private key (labelled, or a bare key from before labels)."""
    text = _read(path)
    label, _sep, value = text.partition(" ")
    if label == PUBLIC_LABEL:
        raise FieldkitError(
            _(
                "{path} is the recovery PUBLIC key: a reset needs the private key kept offline"
            ).format(path=path)
        )
    if label == PRIVATE_LABEL:
        return X25519PrivateKey.from_private_bytes(_raw32(value.strip(), path))
    if " " not in text and "\n" not in text:  # a key file written before labels
        return X25519PrivateKey.from_private_bytes(_raw32(text, path))
    raise FieldkitError(
        _("{path} is not a recovery private key made by `fieldkit recovery-keygen`").format(
            path=path
        )
    )


def check_strength(
    passphrase: str, min_score: int = 3, user_inputs: list[str] | None = None
) -> None:
    """Refuse a passphrase shorter than 8 characters or weaker than zxcvbn `min_score`."""
    if len(passphrase) < MIN_LENGTH:
        raise FieldkitError(
            _("the passphrase is too short: use at least {min_length} characters").format(
                min_length=MIN_LENGTH
            )
        )
    # local: zxcvbn adds ~30 ms to every command's start (-X importtime); only a new
    # passphrase needs it
    from zxcvbn import zxcvbn

    result = zxcvbn(passphrase[:100], user_inputs=user_inputs or [])
    if int(result["score"]) < min_score:
        hint = result["feedback"].get("warning") or "it is easy to guess"
        raise FieldkitError(
            _(
                "the passphrase is too weak ({feedback}); nothing was changed. Use "
                "four or more unrelated words"
            ).format(feedback=hint.rstrip("."))
        )


__all__ = [
    "CryptoError",
    "PRIVATE_LABEL",
    "PUBLIC_LABEL",
    "check_strength",
    "private_text",
    "public_text",
    "read_recovery_private",
    "read_recovery_public",
]
