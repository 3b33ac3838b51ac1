"""The caseload as the dashboard shows it: one row per case with its most urgent due item,
the sealed rows of the last computation (read again only for the cases changed since),
the search filter and the sync status line.

No Textual here; the dashboard and status bar call these from worker threads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from fieldkit import i18n
from fieldkit.domain import Case
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.practice import STATUSES, PolicyProfile, load_profile, next_due
from fieldkit.prefs import load_prefs
from fieldkit.services.cases import cases_of
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


def case_rows(cases: list[Case], profile: PolicyProfile, as_of: date) -> list[DashboardRow]:
    """Each case's row with its next due item (VI-1, SA-2, RV-1, …), in the order given."""
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
    return rows


_RANK = {status: n for n, status in enumerate(STATUSES)}


def sort_rows(rows: list[DashboardRow]) -> list[DashboardRow]:
    """Most urgent first: by status, then due date, then case id."""
    return sorted(rows, key=lambda r: (_RANK.get(r.status, 5), r.due or date.max, r.case_id))


def dashboard_rows(cases: list[Case], profile: PolicyProfile, as_of: date) -> list[DashboardRow]:
    """Every case with its next due item, most urgent first (VI-1, SA-2, RV-1, …)."""
    return sort_rows(case_rows(cases, profile, as_of))


CACHE_KEY = "dashboard_cache"
CACHE_FORMAT = 2
CHUNK = 200
"""Cases decrypted at once while computing rows: memory stays at rows, not cases."""

Progress = Callable[[int, int], None]


@dataclass
class Caseload:
    """The dashboard's rows as of a day and a point of the change log — only the rows:
    a case is read again when it is opened."""

    as_of: date
    mark: int
    policy: str
    rows: list[DashboardRow]


def policy_key(profile: PolicyProfile) -> str:
    """A fingerprint of every number of the policy profile and of the worker's language
    (rows computed under another profile, or worded in another language, are not reused)."""

    def default(value: Any) -> Any:
        if isinstance(value, set | frozenset):
            return sorted(map(str, value))
        return str(value)

    text = json.dumps(asdict(profile), sort_keys=True, default=default) + i18n.language()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compute_rows(
    store: Store,
    profile: PolicyProfile,
    as_of: date,
    case_ids: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> list[DashboardRow]:
    """The rows of these cases (default: every case), unsorted, read `CHUNK` cases at a
    time so no more than a slice of the caseload is ever decrypted in memory."""
    ids = store.case_ids() if case_ids is None else sorted(case_ids)
    rows: list[DashboardRow] = []
    for start in range(0, len(ids), CHUNK):
        rows += case_rows(cases_of(store, ids[start : start + CHUNK]), profile, as_of)
        if progress is not None:
            progress(min(start + CHUNK, len(ids)), len(ids))
    return rows


def seal_rows(store: Store) -> None:
    """Bring the dashboard's sealed rows up to date now (only new cases are read when rows
    of today are sealed already), so the app's next start draws them at once. A failure
    here loses nothing: the app computes the rows instead."""
    try:
        policy = policy_of(store)
        load_caseload(store, policy, policy.today())
    except FieldkitError:
        pass


def cases_by_id(store: Store, case_ids: Iterable[str]) -> dict[str, Case]:
    """A few cases by id (those with unfinished visits), read when they are needed."""
    ids = sorted(case_ids)
    return {case.id: case for case in cases_of(store, ids)} if ids else {}


def load_caseload(
    store: Store, profile: PolicyProfile, as_of: date, progress: Progress | None = None
) -> Caseload:
    """The caseload for the dashboard: the sealed rows of the last start with only the
    cases changed since read again, or — another day, another policy, no cache — every
    case. The result is sealed for the next start."""
    cached = read_cache(store)
    if cached is not None:
        fresher = refresh_caseload(store, profile, cached, as_of, progress)
        return cached if fresher is None else fresher
    mark = store.change_mark()
    rows = compute_rows(store, profile, as_of, progress=progress)
    caseload = Caseload(as_of, mark, policy_key(profile), sort_rows(rows))
    write_cache(store, caseload)
    return caseload


def quick_caseload(store: Store, profile: PolicyProfile, as_of: date) -> Caseload | None:
    """The sealed rows brought up to date when that is quick — the same day and policy,
    at most `CHUNK` cases changed since — else None (the full read shows its progress).
    Read right after the unlock, so the dashboard draws its rows in its first frame."""
    cached = read_cache(store)
    if cached is None or cached.as_of != as_of or cached.policy != policy_key(profile):
        return None
    if store.change_mark() == cached.mark:
        return cached
    if len(store.cases_changed_since(cached.mark)) > CHUNK:
        return None
    return refresh_caseload(store, profile, cached, as_of) or cached


@dataclass(frozen=True)
class StartRead:
    """What the field app's first frame reads once the store is open (`start_read`)."""

    policy: PolicyProfile
    as_of: date
    """The day the rows are for (the policy's today when they were read)."""
    caseload: Caseload | None
    """The sealed rows brought up to date when that is quick (`quick_caseload`); None for
    a supervisor's profile, or when the dashboard must read every case."""


def start_read(store: Store) -> StartRead:
    """The policy, the dashboard's rows when quick, and the locale data of the title's date,
    read on the unlock's own thread the moment the store opens (`begin_unlock(then=…)`)
    while the app's modules still load on the main thread: the main thread's share of a
    start is what the worker waits for, and this was a third of its own work before the
    first frame (the first read of the sealed rows, the policy's TOML, Babel's data)."""
    # local: review imports the practice rules this module does not need at import
    from fieldkit.services.review import is_supervisor

    policy = policy_of(store)
    as_of = policy.today()
    rows = None if is_supervisor(store) else quick_caseload(store, policy, as_of)
    i18n.warm(i18n.choose(load_prefs(store.path).get("language")))
    return StartRead(policy, as_of, rows)


def refresh_caseload(
    store: Store,
    profile: PolicyProfile,
    caseload: Caseload,
    as_of: date,
    progress: Progress | None = None,
) -> Caseload | None:
    """The caseload with the cases changed since its mark read again (a save here, a sync,
    another fieldkit on the same profile); None when nothing changed. Another day or
    another policy profile reads every case."""
    key = policy_key(profile)
    mark = store.change_mark()  # before reading: a change after it is read next time
    if caseload.as_of != as_of or caseload.policy != key:
        rows = sort_rows(compute_rows(store, profile, as_of, progress=progress))
    elif mark == caseload.mark:
        return None
    else:
        changed = store.cases_changed_since(caseload.mark)
        fresh = compute_rows(store, profile, as_of, changed, progress)
        kept = [r for r in caseload.rows if r.case_id not in changed]
        rows = sort_rows(kept + fresh)
    fresher = Caseload(as_of, mark, key, rows)
    write_cache(store, fresher)
    return fresher


def _row_out(r: DashboardRow) -> list[Any]:
    due = r.due.isoformat() if r.due else None
    return [r.case_id, r.family, r.children, r.kind, r.status, r.what, due, r.rule]


def write_cache(store: Store, caseload: Caseload) -> None:
    """Seal the rows as one BLOB for the next start (never a clear byte of case content)."""
    doc = {
        "format": CACHE_FORMAT,
        "as_of": caseload.as_of.isoformat(),
        "mark": caseload.mark,
        "policy": caseload.policy,
        "rows": [[*_row_out(r), r.needs_resolution, r.names] for r in caseload.rows],
    }
    store.set_sealed_blob(CACHE_KEY, json.dumps(doc, separators=(",", ":")).encode())


def read_cache(store: Store) -> Caseload | None:
    """The rows sealed by the last computation, whatever their day or mark; None if there
    are none or they do not open."""
    try:
        raw = store.sealed_blob(CACHE_KEY)
    except FieldkitError:
        return None
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        if doc.get("format") != CACHE_FORMAT:
            return None
        rows = []
        for cid, fam, children, kind, status, what, due, rule, needs, names in doc["rows"]:
            rows.append(
                DashboardRow(
                    cid,
                    fam,
                    children,
                    kind,
                    status,
                    what,
                    date.fromisoformat(due) if due else None,
                    rule,
                    needs,
                    " ".join([cid, *names]).casefold(),
                    names,
                )
            )
        return Caseload(date.fromisoformat(doc["as_of"]), doc["mark"], doc["policy"], rows)
    except (ValueError, KeyError, TypeError):
        return None


def cached_rows(store: Store, as_of: date) -> list[DashboardRow] | None:
    """The caseload as last computed, if nothing changed since and the day is the same."""
    cached = read_cache(store)
    if cached is None or cached.as_of != as_of or cached.mark != store.change_mark():
        return None
    if cached.policy != policy_key(policy_of(store)):
        return None
    return cached.rows


def cache_rows(store: Store, as_of: date, rows: list[DashboardRow]) -> None:
    """Keep rows computed from the profile as it is now, sealed, for the next start."""
    write_cache(store, Caseload(as_of, store.change_mark(), policy_key(policy_of(store)), rows))


def filter_rows(
    rows: list[DashboardRow], query: str, status: str | None = None
) -> list[DashboardRow]:
    """Rows whose case id or any person's name contains every word of `query`."""
    if status is not None:
        rows = [r for r in rows if r.status == status]
    for word in query.casefold().split():  # each word narrows what the last one left
        rows = [r for r in rows if word in r.search_key]
    return rows


def sync_status(store: Store, today: date) -> str:
    """ "14 changes waiting to sync · last sync today 17:42", or "… · never synced".

    Never "all changes synced" while a change waits, was refused, or a case waits for
    its key (`fieldkit.sync.outcome.status_line_head`).
    """
    head = status_line_head(store)
    last = store.meta("last_sync")
    if not last:
        return _("{head} · never synced").format(head=head)
    try:
        when = datetime.fromisoformat(last)
    except ValueError:
        return _("{head} · last sync {when}").format(head=head, when=last)
    if when.tzinfo is not None:
        when = when.astimezone()
    if when.date() == today:
        day = _("today")
    elif (today - when.date()).days == 1:
        day = _("yesterday")
    else:
        day = when.date().isoformat()
    return _("{head} · last sync {when}").format(head=head, when=f"{day} {when:%H:%M}")
