"""A laptop revoked with `fieldkit admin revoke DEVICE --wipe`: at its next contact it sends
every pending op first, tells the server, then erases its keys and its profile.

Erasure is cryptographic first (the key slots, case keys and sealed secrets are deleted
and the database checkpointed, so the master key can never be unwrapped again), then the
files are overwritten and removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.store import Store

from .outcome import EXIT_DEVICE_REFUSED, SyncSummary
from .transport import SyncClient, SyncRefused


class LaptopWiped(FieldkitError):
    """The agency retired this laptop: its work was sent and its profile erased."""

    exit_code = EXIT_DEVICE_REFUSED


def wipe_after_drain(store: Store, client: SyncClient, summary: SyncSummary) -> None:
    """Once the client has pushed everything pending, erase; raises LaptopWiped (or, if
    work could not be sent, a refusal that leaves the laptop untouched)."""
    left = store.outbox_count()
    if left:
        raise SyncRefused(
            _(
                "the agency retired this laptop, but {left} changes could not be "
                "sent yet; nothing was erased; sync again or ask your IT lead"
            ).format(left=left)
        )
    refused = len(store.quarantined())
    report = {
        "outcome": "wiped",
        "pushed": summary.pushed,
        "pulled": 0,
        "refused": refused,
        "waiting": 0,
        "waiting_keys": 0,
        "duration_ms": 0,
        "app_version": "-",
    }
    client._send("POST", "/v1/wiped", json.dumps(report).encode(), True)
    path = store.path
    erase(store)
    raise LaptopWiped(
        f"the agency retired this laptop: {summary.pushed} changes were sent, then its keys "
        f"and profile {path.name} were erased"
        + (f" ({refused} changes the server had refused went with it)" if refused else "")
    )


def erase(store: Store) -> None:
    """Delete every key, then overwrite and remove the profile's files."""
    path = Path(store.path)
    with store.transaction() as conn:
        conn.execute("DELETE FROM key_slots")
        conn.execute("DELETE FROM case_keys")
        conn.execute("DELETE FROM meta")
    store.checkpoint()
    store.close()
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if not name.exists():
            continue
        size = name.stat().st_size
        with open(name, "r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        name.unlink()
