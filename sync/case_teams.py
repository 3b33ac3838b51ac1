"""A case's team on the laptop: assign a case to a worker, and send the team with the
case's keys wrapped to each member (and to the recovery key) at the next sync.

`fieldkit.sync.client.run_sync` calls `push_teams` before the push and
`complete_envelopes` once the server has said who still lacks a key.
"""

from __future__ import annotations

import json
from typing import Any

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.store import Store

from .outcome import SyncSummary
from .protocol import (
    KeysResponse,
)
from .rotation import recipients, wrapped_keys
from .transport import (
    SyncClient,
    SyncRefused,
)


def _pending_teams(store: Store) -> dict[str, dict[str, str | None]]:
    raw = store.meta("sync_pending_teams")
    teams: dict[str, dict[str, str | None]] = json.loads(raw) if raw else {}
    return teams


def assign_case(store: Store, case_id: str, worker: str, supervisor: str | None = None) -> None:
    """Give a case to a worker: a signed change now, the team and its key at the next sync."""
    supervisor = supervisor or store.user
    case = store.entity(case_id, "case", "case")
    if case is None:
        known = [e for e in store.entities(case_id) if e.entity == "case"]
        if not known:
            raise FieldkitError(
                _("no case {case_id} in this profile; `fieldkit case list`").format(case_id=case_id)
            )
        case = known[0]
    with store.transaction():
        changes = {k: v for k, v in (("worker", worker), ("supervisor", supervisor)) if v}
        if any(case.fields.get(k) != v for k, v in changes.items()):
            store.record(case_id, case.entity, case.entity_id, changes)
        teams = _pending_teams(store)
        teams[case_id] = {"worker": worker, "supervisor": supervisor}
        store.set_meta("sync_pending_teams", json.dumps(teams, sort_keys=True))


def _wrap_for(
    store: Store, client: SyncClient, case_id: str, members: list[str], recovery: str | None
) -> list[dict[str, Any]]:
    """Every key of the case this laptop holds (each generation, so a new member reads the
    earlier work too), wrapped to each enrolled member and to the recovery key."""
    generations = store.case_keys(case_id)
    return wrapped_keys(case_id, generations, recipients(client, members, recovery))


def _send_team(
    store: Store,
    client: SyncClient,
    case_id: str,
    worker: str,
    supervisor: str | None,
    recovery: str | None,
) -> set[str]:
    """Put the case's team with its key wrapped to each enrolled member; those wrapped to."""
    members = [worker] + ([supervisor] if supervisor and supervisor != worker else [])
    envelopes = _wrap_for(store, client, case_id, members, recovery)
    client.post(
        f"/v1/cases/{case_id}/team",
        {"worker": worker, "supervisor": supervisor, "envelopes": envelopes},
        method="PUT",
    )
    for key_id in {str(e["key_id"]) for e in envelopes}:
        store.mark_key_shared(case_id, key_id)
    return {str(e["recipient"]) for e in envelopes}


def push_teams(
    store: Store, client: SyncClient, recovery: str | None, summary: SyncSummary
) -> None:
    """Send each case team assigned on this laptop since the last sync, with its keys."""
    teams = _pending_teams(store)
    for case_id, team in sorted(teams.items()):
        try:
            _send_team(
                store, client, case_id, str(team["worker"]), team.get("supervisor"), recovery
            )
        except SyncRefused as exc:
            summary.team_problems.append(f"case {case_id}: {exc}")
            continue
        summary.teams_sent.append(case_id)
        remaining = _pending_teams(store)
        remaining.pop(case_id, None)
        store.set_meta("sync_pending_teams", json.dumps(remaining, sort_keys=True))


def complete_envelopes(
    store: Store,
    client: SyncClient,
    keys: KeysResponse,
    recovery: str | None,
    summary: SyncSummary,
) -> None:
    """Wrap a case key for a teammate who enrolled after the case was assigned."""
    for team in keys.teams:
        others = [name for name in team.without_key if name != keys.user]
        if not others or keys.role not in ("supervisor", "admin"):
            continue
        if not store.has_case_key(team.case_id, team.key_id):
            summary.keys_not_shared += [
                {"case_id": team.case_id, "user": name, "why": "this laptop has no key for it"}
                for name in others
            ]
            continue
        try:
            shared = _send_team(store, client, team.case_id, team.worker, team.supervisor, recovery)
        except SyncRefused as exc:
            summary.team_problems.append(f"case {team.case_id}: {exc}")
            continue
        for name in others:
            if name in shared:
                summary.keys_shared.append({"case_id": team.case_id, "user": name})
            else:
                summary.keys_not_shared.append(
                    {"case_id": team.case_id, "user": name, "why": "not enrolled yet"}
                )
