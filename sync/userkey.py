"""The laptop side of user-key grants (see sync/grants.py for the server's).

The first laptop of a user creates the user's X25519 key and keeps it sealed in its own
profile; the server gets only the public half. A second laptop gets the private half from
the first, wrapped to the second laptop's device key, after the worker has compared the
new laptop's fingerprint (`fieldkit grant DEVICE --fingerprint XXXX-XXXX`).
"""

from __future__ import annotations

import hashlib

import httpx

from fieldkit.crypto import (
    CryptoError,
    X25519PrivateKey,
    b64,
    load_x25519_public,
    unb64,
    unwrap_with_private,
    wrap_to_public,
)
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.store import Store

from .protocol import KeysResponse, grant_context
from .transport import SyncClient, fetch_keys

SECRET = "sync_user_box_key"


def fingerprint(sign_pub: bytes, box_pub: bytes) -> str:
    """A device's keys in eight characters a person can compare across two screens."""
    digest = hashlib.sha256(b"fieldkit-device|" + sign_pub + box_pub).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}"


def own_fingerprint(store: Store) -> str:
    """This laptop's fingerprint, shown at enrollment for the worker to compare."""
    return fingerprint(
        bytes.fromhex(store.meta("device_sign_pub") or ""),
        bytes.fromhex(store.meta("device_box_pub") or ""),
    )


def install_grant(store: Store, keys: KeysResponse) -> str | None:
    """Keep the user key if it was granted to this laptop; a line for the worker if not."""
    if store.secret(SECRET) is not None:
        return None
    if keys.user_key_grant is None:
        return (
            "this laptop does not hold your user key yet, so it cannot open your cases: on a "
            f"laptop of yours that does, run `fieldkit grant {store.device_id} "
            f"--fingerprint {own_fingerprint(store)}`"
        )
    try:
        private = unwrap_with_private(
            unb64(keys.user_key_grant),
            store.device_box_key,
            grant_context(keys.user, store.device_id),
        )
    except (CryptoError, ValueError):
        return "the user key granted to this laptop does not open; ask your IT lead"
    public = X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()
    if b64(public) != store.meta("user_box_pub"):
        return "the user key granted to this laptop is not your user key; ask your IT lead"
    store.set_secret(SECRET, private)
    return None


def waiting_note(store: Store, keys: KeysResponse) -> str | None:
    """A line naming the user's other laptops that wait for this one to grant the key."""
    others = [d for d in keys.waiting_for_grant if d != store.device_id]
    if not others or store.secret(SECRET) is None:
        return None
    return (
        f"{len(others)} other laptop(s) of yours wait for your user key: compare the "
        "fingerprint shown on it, then run `fieldkit grant DEVICE --fingerprint XXXX-XXXX` "
        f"({', '.join(others)})"
    )


def grant(
    store: Store,
    device_id: str,
    expected_fingerprint: str,
    url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Wrap this laptop's user key to another laptop of the same user, after a fingerprint
    check (a device the server lists is not trusted on the server's word alone)."""
    raw = store.secret(SECRET)
    if raw is None:
        raise FieldkitError(_("this laptop does not hold your user key, so it cannot grant it"))
    with SyncClient(store, url, transport) as client:
        client.hello()
        keys = fetch_keys(store, client, every_device=True)
        device = next((d for d in keys.devices if d.device_id == device_id), None)
        if device is None or device.user != store.user:
            raise FieldkitError(
                _("{device_id} is not one of {user}'s enrolled laptops").format(
                    device_id=device_id, user=store.user
                )
            )
        if device.revoked:
            raise FieldkitError(
                _("{device_id} was revoked; nothing was granted").format(device_id=device_id)
            )
        shown = fingerprint(unb64(device.sign_pub), unb64(device.box_pub))
        if shown != expected_fingerprint.strip().upper():
            raise FieldkitError(
                _(
                    "the fingerprint of {device_id} is {shown}, not "
                    "{expected_fingerprint}: it is not the laptop in front of you; "
                    "nothing was granted"
                ).format(
                    device_id=device_id, shown=shown, expected_fingerprint=expected_fingerprint
                )
            )
        wrapped = wrap_to_public(
            raw, load_x25519_public(device.box_pub), grant_context(store.user, device_id)
        )
        client.post(f"/v1/devices/{device_id}/user-key", {"wrapped": b64(wrapped)}, method="PUT")


__all__ = ["fingerprint", "grant", "install_grant", "own_fingerprint", "waiting_note"]
