"""Replacing a case's key on the laptop: when the server asks (the case was reassigned, or
a device of its team was revoked), a laptop of the team that holds the current key makes
the next generation, wraps it to the team's enrolled members and the recovery key, and
sends only the envelopes. The server never sees the key; a member who left the case, or
a revoked laptop, never receives it. Everything sealed from then on names the new key;
what was sealed before keeps naming the key it was sealed with.
"""

from __future__ import annotations

from typing import Any

from fieldkit.crypto import b64, load_x25519_public, random_key, wrap_to_public
from fieldkit.i18n import _
from fieldkit.store import Store
from fieldkit.store.case_keys import new_key_id

from .outcome import SyncSummary
from .protocol import (
    RECOVERY_RECIPIENT,
    KeysResponse,
    RotateResponse,
    UserKey,
    envelope_context,
)
from .transport import SyncClient, SyncRefused


def recipients(
    client: SyncClient, members: list[str], recovery: str | None
) -> list[tuple[str, Any]]:
    """The public box key of each enrolled member (one not yet enrolled has none), then the
    agency's recovery key: whom a case key is wrapped to."""
    publics: list[tuple[str, Any]] = []
    for name in members:
        info = UserKey.model_validate(client.get(f"/v1/users/{name}"))
        if info.box_pub is not None:
            publics.append((name, load_x25519_public(info.box_pub)))
    if recovery:
        publics.append((RECOVERY_RECIPIENT, load_x25519_public(recovery)))
    return publics


def wrapped_keys(
    case_id: str, keys: list[tuple[str, int, bytes]], publics: list[tuple[str, Any]]
) -> list[dict[str, Any]]:
    """Each (key_id, generation, key) of the case wrapped to each recipient: the envelopes."""
    return [
        {
            "case_id": case_id,
            "key_id": key_id,
            "generation": generation,
            "recipient": name,
            "wrapped": b64(wrap_to_public(key, public, envelope_context(case_id, key_id))),
        }
        for key_id, generation, key in keys
        for name, public in publics
    ]


def rotate_keys(
    store: Store,
    client: SyncClient,
    keys: KeysResponse,
    recovery: str | None,
    summary: SyncSummary,
) -> None:
    """Make the next key of each case the server asks this user's team to re-key."""
    if not keys.rotate or store.secret("sync_user_box_key") is None:
        return
    teams = {team.case_id: team for team in keys.teams}
    for case_id in keys.rotate:
        team = teams.get(case_id)
        # Only a laptop up to date with the team's current key re-keys the case.
        if team is None or not store.has_case_key(case_id, team.key_id):
            continue
        members = [team.worker] + (
            [team.supervisor] if team.supervisor and team.supervisor != team.worker else []
        )
        key, key_id, generation = random_key(), new_key_id(case_id), team.generation + 1
        envelopes = wrapped_keys(
            case_id, [(key_id, generation, key)], recipients(client, members, recovery)
        )
        try:
            reply = RotateResponse.model_validate(
                client.post(
                    f"/v1/cases/{case_id}/keys",
                    {"key_id": key_id, "generation": generation, "envelopes": envelopes},
                )
            )
        except SyncRefused as exc:
            # Another laptop of the team re-keyed it first: its key arrives next sync.
            summary.team_problems.append(
                _("case {case_id}: the new key was not taken ({problem})").format(
                    case_id=case_id, problem=exc
                )
            )
            continue
        store.put_case_key(case_id, reply.key_id, key, reply.generation, shared=True)
        summary.keys_rotated.append(case_id)
