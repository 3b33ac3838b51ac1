"""Use cases the faces (CLI, screens) share, one module per group.

`profiles` (where a profile lives, its passphrase, unlocking), `cases` (import, export,
read), `caseload` (dashboard rows, their cache, the sync status line), `visits` (the
guided visit), `review` (supervisor decisions) and `sync` (enroll, run, assign). The
profile and case functions are re-exported here, so `services.open_store(...)` reads as
before, and `Store`: the open profile faces hold and hand back (they never call into it
for SQL or keys). Each loads on first use (`fieldkit.lazy`): a command imports only
the modules it calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldkit.lazy import package_getattr

if TYPE_CHECKING:
    from fieldkit.services import (  # noqa: F401 (submodules: attributes on first use)
        caseload,
        cases,
        casework,
        policies,
        profiles,
        review,
        summaries,
        sync,
        visits,
    )
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
        start_signature_helpers,
        stop_signature_helpers,
        take_pending_unlock,
    )
    from fieldkit.services.summaries import case_listing, rules_cases
    from fieldkit.store import Store

_FROM = {
    **dict.fromkeys(
        (
            "case_detail",
            "case_summary",
            "conflict_json",
            "export_case",
            "load_case",
            "load_cases",
            "read_transfer_file",
            "record_change",
        ),
        "fieldkit.services.cases",
    ),
    **dict.fromkeys(
        (
            "DEFAULT_PROFILE",
            "PendingUnlock",
            "app_options",
            "ask_passphrase",
            "ask_passphrase_new",
            "begin_early_unlock",
            "begin_unlock",
            "data_dir",
            "min_passphrase_score",
            "open_store",
            "passphrase_from_env",
            "profile_path",
            "start_signature_helpers",
            "stop_signature_helpers",
            "take_pending_unlock",
        ),
        "fieldkit.services.profiles",
    ),
    "case_listing": "fieldkit.services.summaries",
    "rules_cases": "fieldkit.services.summaries",
    "Store": "fieldkit.store",
}
"""Each re-exported name and the module it comes from (loaded on first use)."""
_SUBMODULES = frozenset(
    (
        "caseload",
        "cases",
        "casework",
        "policies",
        "profiles",
        "review",
        "summaries",
        "sync",
        "visits",
    )
)
if not TYPE_CHECKING:  # mypy reads the imports above; at run time names load on first use
    __getattr__ = package_getattr(globals(), _FROM, _SUBMODULES)

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
    "start_signature_helpers",
    "stop_signature_helpers",
]


def import_cases(store: Store, doc: Any) -> list[str]:
    """Check the whole document, write every case in one transaction, then seal the
    dashboard's rows, so the app's first start after an import is a cached start."""
    # local: the package loads its modules on first use (fieldkit.lazy); an import needs both
    from fieldkit.services import caseload, cases

    imported = cases.import_cases(store, doc)
    caseload.seal_rows(store)
    return imported
