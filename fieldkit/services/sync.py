"""Use cases of sync on the laptop: enroll, run a sync, assign a case to a team.

The faces call these; `fieldkit.sync.client` speaks the protocol.
"""

from __future__ import annotations

from fieldkit.sync.client import SyncSummary, assign_case, enroll, run_sync

__all__ = ["SyncSummary", "assign_case", "enroll", "run_sync"]
