"""The sealed settings record: the profile's clear settings that decide trust, kept sealed.

The `meta` and `devices` tables are clear so a locked profile can be inspected, but anyone
who can write the file can change them. The values that decide how the profile protects
itself (the plaintext flag, this device's ids and keys, the pinned server key) and every
device public key used to check the laptop's own chain are also kept in one record sealed
under a subkey of the master key. The store reads those values from the sealed record only;
`fieldkit verify` names every clear row that no longer matches it (THREAT_MODEL.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# The meta row that holds the sealed record.
RECORD_KEY = "sealed_settings"

# Clear meta rows whose authoritative value lives in the sealed record.
AUTHENTICATED_META = frozenset(
    {
        "schema_version",
        "profile_id",
        "user",
        "device_id",
        "policy",
        "plaintext",
        "device_sign_pub",
        "device_box_pub",
        "role",
        "sync_url",
        "sync_role",
        "sync_supervisor",
        "server_sign_pub",
        "user_box_pub",
        "recovery_pub",
    }
)


def _hex(raw: bytes | None) -> str | None:
    return raw.hex() if raw is not None else None


@dataclass
class SealedSettings:
    """The authoritative copy of the settings that decide trust, and of every device key."""

    meta: dict[str, str] = field(default_factory=dict)
    """Authenticated meta key → value."""
    devices: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """device_id → {user, sign_pub (hex), box_pub (hex or None)}."""

    def to_bytes(self) -> bytes:
        """Canonical JSON, to be sealed."""
        return json.dumps(
            {"meta": self.meta, "devices": self.devices}, sort_keys=True, separators=(",", ":")
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> SealedSettings:
        """Inverse of `to_bytes`."""
        data: dict[str, Any] = json.loads(raw)
        return cls(dict(data["meta"]), {k: dict(v) for k, v in data["devices"].items()})

    @classmethod
    def from_clear(
        cls, meta: dict[str, str], devices: list[tuple[str, str, bytes, bytes | None]]
    ) -> SealedSettings:
        """A record built from the clear rows (a new profile, or one made before records)."""
        return cls(
            {k: v for k, v in meta.items() if k in AUTHENTICATED_META},
            {dev: device_entry(user, sign, box) for dev, user, sign, box in devices},
        )

    def differences(
        self, meta: dict[str, str], devices: list[tuple[str, str, bytes, bytes | None]]
    ) -> list[str]:
        """Every clear row that no longer says what the sealed record says, named."""
        found = []
        for key in sorted(AUTHENTICATED_META):
            sealed, clear = self.meta.get(key), meta.get(key)
            if sealed != clear:
                found.append(
                    f"the clear setting {key!r} was changed outside fieldkit "
                    f"(sealed {sealed!r}, clear {clear!r}); fieldkit uses the sealed value"
                )
        clear_devices = {dev: device_entry(user, sign, box) for dev, user, sign, box in devices}
        for dev in sorted(set(self.devices) | set(clear_devices)):
            sealed_dev, clear_dev = self.devices.get(dev), clear_devices.get(dev)
            if sealed_dev == clear_dev:
                continue
            if sealed_dev is None:
                what = "was added outside fieldkit"
            elif clear_dev is None:
                what = "was deleted outside fieldkit"
            else:
                changed = sorted(k for k in sealed_dev if sealed_dev[k] != clear_dev.get(k))
                what = f"had its {', '.join(changed)} changed outside fieldkit"
            found.append(
                f"device {dev} in the clear devices table {what}; "
                "fieldkit checks signatures with the sealed keys"
            )
        return found


def device_entry(user: str, sign_pub: bytes, box_pub: bytes | None) -> dict[str, str | None]:
    """One device as the record keeps it."""
    return {"user": user, "sign_pub": sign_pub.hex(), "box_pub": _hex(box_pub)}
