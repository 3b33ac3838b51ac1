"""Use cases the faces (CLI, screens) share, one module per group.

`profiles` (where a profile lives, its passphrase, unlocking), `cases` (import, export,
read), `caseload` (dashboard rows, their cache, the sync status line), `visits` (the
guided visit), `review` (supervisor decisions) and `sync` (enroll, run, assign). The
profile and case functions are re-exported here, so `services.open_store(...)` reads as
before, and `Store`: the open profile faces hold and hand back (they never call into it
for SQL or keys).
"""

from __future__ import annotations

from typing import Any

from fieldkit.services import caseload
from fieldkit.services.cases import (
    case_detail,
    case_summary,
    conflict_json,
    export_case,
    load_case,
    load_cases,
    read_transfer_file,
    record_change,
)
from fieldkit.services.cases import import_cases as _import_cases
from fieldkit.services.profiles import (
    DEFAULT_PROFILE,
    PendingUnlock,
    app_options,
    ask_passphrase,
    ask_passphrase_new,
    begin_early_unlock,
    begin_unlock,
    data_dir,
    min_passphrase_score,
    open_store,
    passphrase_from_env,
    profile_path,
    take_pending_unlock,
)
from fieldkit.services.summaries import case_listing, rules_cases
from fieldkit.store import Store

__all__ = [
    "PendingUnlock",
    "Store",
    "begin_early_unlock",
    "app_options",
    "begin_unlock",
    "take_pending_unlock",
    "DEFAULT_PROFILE",
    "ask_passphrase",
    "ask_passphrase_new",
    "min_passphrase_score",
    "case_detail",
    "case_listing",
    "case_summary",
    "conflict_json",
    "data_dir",
    "export_case",
    "import_cases",
    "load_case",
    "load_cases",
    "open_store",
    "passphrase_from_env",
    "profile_path",
    "read_transfer_file",
    "record_change",
    "rules_cases",
]


def import_cases(store: Store, doc: Any) -> list[str]:
    """Check the whole document, write every case in one transaction, then seal the
    dashboard's rows, so the app's first start after an import is a cached start."""
    imported = _import_cases(store, doc)
    caseload.seal_rows(store)
    return imported
