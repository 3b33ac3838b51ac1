"""Everything a laptop can check before it spends its one-time enrollment code."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from fieldkit.errors import FieldkitError
from fieldkit.store import Store

from .protocol import normalize_code

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as sync.admin issues them
CODE_LENGTH = 12


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_enrollment(store: Store, url: str, code: str, insecure: bool = False) -> str:
    """The server URL to enroll with, or a one-line refusal before anything is sent.

    Plain http:// would hand the enrollment (and every later sync) to anyone on the path,
    so it is refused except to this machine (loopback) or with `--insecure`.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FieldkitError(
            f"{url!r} is not a server address; write it as https://sync.agency.example"
        )
    if parts.scheme == "http" and not _loopback(parts.hostname) and not insecure:
        raise FieldkitError(
            f"{url} is plain http: the enrollment would cross the network unencrypted; use "
            "https://, or --insecure on a network you trust (the code was not used)"
        )
    typed = normalize_code(code)
    if len(typed) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in typed):
        raise FieldkitError(
            f"{code!r} is not an enrollment code (12 letters and digits, like ABCD-EFGH-JK23); "
            "the code was not used"
        )
    current = store.meta("sync_url")
    wanted = url.strip().rstrip("/")
    if current and current.rstrip("/") != wanted:
        raise FieldkitError(
            f"this laptop is already enrolled with {current}; it cannot enroll with another "
            "server (the code was not used)"
        )
    return wanted
