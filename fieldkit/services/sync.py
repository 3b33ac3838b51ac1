"""Use cases of sync on the laptop: enroll, run a sync, assign a case to a team.

The faces call these; `fieldkit.sync.client` speaks the protocol.
"""

from __future__ import annotations

from typing import Any

from fieldkit.practice import load_profile
from fieldkit.practice.profile import ProfileError
from fieldkit.store import Store
from fieldkit.sync import client
from fieldkit.sync.client import assign_case, enroll
from fieldkit.sync.outcome import SyncSummary

__all__ = ["SyncSummary", "assign_case", "enroll", "run_sync"]


def run_sync(store: Store, progress: Any = None, **options: Any) -> SyncSummary:
    """One end-of-day sync, pulling every attachment when the profile's `[evidence]
    pull_attachments` says "always"."""
    try:
        pull_all = load_profile(store.meta("policy") or None).pull_attachments == "always"
    except ProfileError:
        pull_all = False
    return client.run_sync(store, progress, pull_all_attachments=pull_all, **options)
