"""Use cases the faces (CLI, screens) share, one module per group.

`profiles` (where a profile lives, its passphrase, unlocking), `cases` (import, export,
read), `caseload` (dashboard rows, their cache, the sync status line), `visits` (the
guided visit), `review` (supervisor decisions) and `sync` (enroll, run, assign). The
profile and case functions are re-exported here, so `services.open_store(...)` reads as
before, and `Store`: the open profile faces hold and hand back (they never call into it
for SQL or keys).
"""

from __future__ import annotations

from fieldkit.services.cases import (
    case_detail,
    case_summary,
    conflict_json,
    export_case,
    import_cases,
    load_case,
    load_cases,
    read_transfer_file,
    record_change,
)
from fieldkit.services.profiles import (
    DEFAULT_PROFILE,
    ask_passphrase,
    ask_passphrase_new,
    data_dir,
    min_passphrase_score,
    open_store,
    passphrase_from_env,
    profile_path,
)
from fieldkit.services.summaries import case_listing, rules_cases
from fieldkit.store import Store

__all__ = [
    "Store",
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
