"""The caseload as the dashboard shows it: one row per case with its most urgent due item,
the cached rows of the last computation, the search filter and the sync status line.

No Textual here; the dashboard and status bar call these from worker threads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from fieldkit.domain import Case, parse_date
from fieldkit.errors import FieldkitError
from fieldkit.practice import STATUSES, PolicyProfile, load_profile, next_due
from fieldkit.store import Store
from fieldkit.sync.outcome import status_line_head


@dataclass
class DashboardRow:
    """One line of the caseload: the case, its most urgent due item, and what search matches."""

    case_id: str
    family: str
    children: int
    kind: str
    status: str
    what: str
    due: date | None
    rule: str
    needs_resolution: int
    search_key: str = ""
    names: list[str] = field(default_factory=list)


def policy_of(store: Store) -> PolicyProfile:
    """The policy profile this worker's profile was created with."""
    return load_profile(store.meta("policy") or None)


def dashboard_rows(cases: list[Case], profile: PolicyProfile, as_of: date) -> list[DashboardRow]:
    """Every case with its next due item, most urgent first (VI-1, SA-2, RV-1, …)."""
    rows: list[DashboardRow] = []
    for case in cases:
        item = next_due(case, profile, as_of)
        names = [p.name for p in case.people]
        rows.append(
            DashboardRow(
                case_id=case.id,
                family=case.family_name,
                children=len(case.children),
                kind=case.kind.value,
                status=item.status if item else "done",
                what=item.what if item else "nothing due",
                due=item.due if item else None,
                rule=item.rule if item else "",
                needs_resolution=case.needs_resolution,
                search_key=" ".join([case.id, *names]).casefold(),
                names=names,
            )
        )
    rank = {status: n for n, status in enumerate(STATUSES)}
    rows.sort(key=lambda r: (rank.get(r.status, 5), r.due or date.max, r.case_id))
    return rows


CACHE_KEY = "dashboard_cache"


def cached_rows(store: Store, as_of: date) -> list[DashboardRow] | None:
    """The caseload as last computed, if nothing changed since and the day is the same.

    Sealed like every other profile secret; it lets the dashboard appear before the whole
    caseload is decrypted again (the full read follows in the background).
    """
    try:
        raw = store.secret(CACHE_KEY)
    except FieldkitError:
        return None
    if raw is None:
        return None
    doc = json.loads(raw)
    if doc.get("as_of") != as_of.isoformat() or doc.get("mark") != store.log_mark():
        return None
    rows = []
    for r in doc["rows"]:
        r["due"] = parse_date(r["due"])
        rows.append(DashboardRow(**r))
    return rows


def cache_rows(store: Store, as_of: date, rows: list[DashboardRow]) -> None:
    """Keep the computed caseload, sealed, for the next start."""
    doc = {
        "as_of": as_of.isoformat(),
        "mark": store.log_mark(),
        "rows": [asdict(r) for r in rows],
    }
    store.set_secret(CACHE_KEY, json.dumps(doc, default=str).encode())


def filter_rows(
    rows: list[DashboardRow], query: str, status: str | None = None
) -> list[DashboardRow]:
    """Rows whose case id or any person's name contains every word of `query`."""
    words = query.casefold().split()
    if not words and status is None:
        return rows
    return [
        r
        for r in rows
        if (status is None or r.status == status) and all(w in r.search_key for w in words)
    ]


def sync_status(store: Store, today: date) -> str:
    """ "14 changes waiting to sync · last sync today 17:42", or "… · never synced".

    Never "all changes synced" while a change waits, was refused, or a case waits for
    its key (`fieldkit.sync.outcome.status_line_head`).
    """
    head = status_line_head(store)
    last = store.meta("last_sync")
    if not last:
        return f"{head} · never synced"
    try:
        when = datetime.fromisoformat(last)
    except ValueError:
        return f"{head} · last sync {last}"
    if when.tzinfo is not None:
        when = when.astimezone()
    if when.date() == today:
        day = "today"
    elif (today - when.date()).days == 1:
        day = "yesterday"
    else:
        day = when.date().isoformat()
    return f"{head} · last sync {day} {when:%H:%M}"
