"""The laptop side of sync: enroll, then a sync: push the outbox (`push_outbox`), pull
the team's ops and merge them (`pull_merge`), send case teams and their keys
(`case_teams`), attachments last.

Nothing leaves the outbox until the server has acknowledged that exact op; a refused op
is quarantined with the server's reason; a pulled page and its cursor are written in one
transaction, so an interrupted sync resumes with no loss and no duplicate.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from fieldkit import __version__
from fieldkit.crypto import (
    X25519PrivateKey,
    b64,
    wrap_to_public,
)
from fieldkit.errors import OfflineError
from fieldkit.store import SYNC_QUARANTINED, EntityState, Store

from . import outcome
from .attachment_sync import ProgressFn, sync_attachments
from .case_teams import assign_case as assign_case  # re-exported: tests assign cases here
from .case_teams import complete_envelopes, push_teams
from .enroll_check import check_enrollment
from .outcome import SyncSummary
from .protocol import (
    EnrollResponse,
    KeysResponse,
    TeamHealthResponse,
    VerifyRecordRequest,
    VerifyRecordResponse,
    enroll_message,
    grant_context,
    normalize_code,
)
from .pull_merge import (
    MAIN_CURSOR,
    PULL_PAGE,
    cycles_paused,
    has_key,
    install_keys,
    note_backfill,
    pull,
)
from .push_outbox import PUSH_BATCH as PUSH_BATCH  # re-exported: the batch a sync sends
from .push_outbox import push as _push  # tests send an outbox unchecked through it
from .rotation import rotate_keys
from .transport import (
    DEVICES_AS_OF,
    SyncClient,
    SyncRefused,
    WipeRequested,
    fetch_keys,
)
from .wipe import wipe_after_drain

# --- enrollment ------------------------------------------------------------------------


def enroll(
    store: Store,
    url: str,
    code: str,
    passphrase: str,
    argon: dict[str, int] | None = None,
    transport: httpx.BaseTransport | None = None,
    insecure: bool = False,
) -> EnrollResponse:
    """Register this laptop's keys; fetch (or create) the user's agency key pair.

    Everything that can be checked first is (`enroll_check`), before the code is sent."""
    url = check_enrollment(store, url, code, insecure)
    with SyncClient(store, url, transport) as client:
        hello = client.hello()
        candidate = X25519PrivateKey.generate()
        sign_pub = b64(bytes.fromhex(store.meta("device_sign_pub") or ""))
        box_pub = b64(bytes.fromhex(store.meta("device_box_pub") or ""))
        proof = store.device_sign_key.sign(
            enroll_message(normalize_code(code), store.device_id, sign_pub, box_pub)
        )
        request = {
            "code": code,
            "device_id": store.device_id,
            "user": store.user,
            "sign_pub": sign_pub,
            "box_pub": box_pub,
            "user_box_pub": b64(candidate.public_key().public_bytes_raw()),
            "proof": b64(proof),
        }
        reply = EnrollResponse.model_validate(client.post("/v1/enroll", request, signed=False))
    created = reply.holds_user_key and reply.user_box_pub == request["user_box_pub"]
    with store.transaction():
        if created:  # this laptop made the user's key: it stays here, sealed, and nowhere else
            store.set_secret("sync_user_box_key", candidate.private_bytes_raw())
        store.set_meta("sync_url", client.url)
        store.set_meta("sync_role", reply.role)
        store.set_meta("sync_supervisor", reply.supervisor or "")
        store.set_meta("server_sign_pub", hello.server_sign_pub)
        store.set_meta("user_box_pub", reply.user_box_pub)
        if reply.recovery_pub:
            store.set_meta("recovery_pub", reply.recovery_pub)
    held = store.secret("sync_user_box_key")
    if not reply.holds_user_key and held is not None:
        # A laptop re-enrolled under a new device id still holds the user key: it says so
        # (a grant to itself), so the user's other laptops do not list it as waiting.

        own = wrap_to_public(
            held, store.device_box_key.public_key(), grant_context(store.user, store.device_id)
        )
        with SyncClient(store, url, transport) as client:
            client.hello()
            client.post(
                f"/v1/devices/{store.device_id}/user-key", {"wrapped": b64(own)}, method="PUT"
            )
    return reply


# --- push ------------------------------------------------------------------------------


# --- the whole sync --------------------------------------------------------------------


def run_sync(
    store: Store,
    progress: ProgressFn | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    batch_size: int = PUSH_BATCH,
    page_size: int = PULL_PAGE,
    retry_all: bool = False,
    pull_all_attachments: bool = False,
) -> SyncSummary:
    """Verify, push, pull, merge; OfflineError (exit 2) when the server cannot be reached.

    The laptop's whole chain is checked first: an op that fails stops the sync before
    anything is sent (`outcome.LocalIntegrityError`, exit 4). Refused ops whose cause has
    gone (the case is now assigned to this user) are sent again; with `retry_all`, every
    refused op whose cause can go away is.
    """
    started = time.monotonic()
    summary = SyncSummary()
    if progress:
        progress("verify", 0, None)
    with contextlib.ExitStack() as paused:
        # The chain read for the check and the push's batches are tens of thousands of
        # short-lived containers: no full collection of the heap for them (as a pulled
        # page, `cycles_paused`); the collector runs again once the push is done.
        paused.enter_context(cycles_paused())
        checked = outcome.checked_own_chain(store)
        summary.ops_checked = checked.count
        with SyncClient(store, transport=transport) as client:
            try:
                return _run(
                    store,
                    client,
                    summary,
                    progress,
                    batch_size,
                    page_size,
                    retry_all,
                    started,
                    pull_all_attachments,
                    checked,
                    paused.close,
                )
            except WipeRequested:
                paused.close()
                # Send every pending op first; only then is the laptop erased.
                _push(store, client, summary, None, PUSH_BATCH)
                wipe_after_drain(store, client, summary)
                raise


def _run(
    store: Store,
    client: SyncClient,
    summary: SyncSummary,
    progress: ProgressFn | None,
    batch_size: int,
    page_size: int,
    retry_all: bool,
    started: float,
    pull_all_attachments: bool = False,
    checked: outcome.CheckedChain | None = None,
    pushed: Callable[[], None] | None = None,
) -> SyncSummary:
    """The sync proper, over an open client (see `run_sync`); `checked` is the own chain
    `run_sync` has just checked, `pushed` is called once the outbox is sent."""
    hello = client.hello()
    summary.clock_offset_ms = client.offset_ms
    recovery = hello.recovery_pub or store.meta("recovery_pub")
    push_teams(store, client, recovery, summary)
    # The push's last batch asks to be answered with the keys and the main pull's first
    # page besides (read once the batch has committed): one request, not three, in most
    # syncs. What it does not bring (nothing to push, an older server) is asked for on
    # its own route, as before (docs/decisions.md "A push answers the keys and the first
    # pull page").
    cursor = int(store.meta(MAIN_CURSOR) or 0)
    answer = _push(
        store, client, summary, progress, batch_size, checked, _besides(store, cursor, page_size)
    )
    first = [(cursor, answer.page)] if answer is not None and answer.page is not None else []
    prefetched = bool(first)
    if answer is not None:
        answer.page = None  # held by `first` alone: the pull frees it once read
    if checked is not None:
        checked.outbox.clear()  # not held through the pull
    if pushed is not None and not prefetched:
        pushed()  # else once the pull has freed the page (`first_done`)
    keys = answer.keys if answer is not None and answer.keys is not None else None
    keys = keys or fetch_keys(store, client)
    if _requeue_refused(store, keys, summary, retry_all):
        _push(store, client, summary, progress, batch_size)
    fresh = install_keys(store, keys, summary)
    if fresh:
        note_backfill(store, fresh)
    complete_envelopes(store, client, keys, recovery, summary)
    rotate_keys(store, client, keys, recovery, summary)
    touched = pull(
        store, client, keys, summary, progress, page_size, first, pushed if prefetched else None
    )
    # Attachments go after the text, so a slow or broken upload never holds it up.
    sync_attachments(store, client, summary, progress, pull_all_attachments)
    summary.waiting = store.outbox_count()
    summary.quarantined_total = len(store.quarantined())
    summary.waiting_keys = _waiting_keys(store, keys)
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    _report(client, summary)
    if keys.role in ("supervisor", "admin"):
        _keep_team_health(store, client)
    for (case_id, entity, entity_id), folded in sorted(touched.items()):
        # The state the pull folded, in hand: not read and decrypted again.
        state = EntityState(case_id, entity, entity_id, folded)
        for conflict in state.conflicts():
            summary.conflicts.append(
                {
                    "case_id": case_id,
                    "entity": entity,
                    "entity_id": entity_id,
                    "field": conflict.field,
                    "needs_resolution": conflict.critical,
                    "versions": len(conflict.versions),
                }
            )
            summary.needs_resolution += int(conflict.critical)
    summary.last_sync = datetime.now(UTC).isoformat(timespec="seconds")
    with store.transaction():
        store.set_meta("last_sync", summary.last_sync)
        store.set_meta(outcome.WAITING_KEYS_META, json.dumps(summary.waiting_keys))
        if keys.devices_as_of is not None:
            # Where the next `/v1/keys` may start its device list (`pull_merge._add_devices`
            # keeps it earlier only with the devices it adds).
            store.set_meta(DEVICES_AS_OF, str(keys.devices_as_of))
    return summary


def _besides(store: Store, cursor: int, page_size: int) -> str:
    """The query of a push that asks for the keys (`fetch_keys`'s) and the main pull's page
    from `cursor` besides."""
    since = store.meta(DEVICES_AS_OF)
    devices = f"&devices_since={int(since)}" if since else ""
    return f"?keys=true{devices}&pull_cursor={cursor}&pull_limit={page_size}"


def _report(client: SyncClient, summary: SyncSummary) -> None:
    """Tell the agency how this sync went (counts only); a server that cannot take the
    report does not make the sync fail."""
    report = {
        "outcome": outcome.OUTCOMES[summary.exit_code],
        "pushed": summary.pushed,
        "pulled": summary.pulled,
        "refused": summary.quarantined_total,
        "waiting": summary.waiting,
        "waiting_keys": len(summary.waiting_keys),
        "duration_ms": summary.duration_ms,
        "app_version": __version__,
    }
    with contextlib.suppress(SyncRefused, OfflineError):
        client._send("POST", "/v1/sync-report", json.dumps(report).encode(), True, quiet=True)


TEAM_HEALTH = "sync_team_health"
"""Sealed profile secret: the team's sync health as the server last gave it (JSON of
`protocol.TeamHealthResponse`); counts and times only."""


def _keep_team_health(store: Store, client: SyncClient) -> None:
    """A supervisor's laptop keeps the team's sync health (for the team screen), sealed like
    everything else; a server that cannot give it does not make the sync fail."""
    with contextlib.suppress(SyncRefused, OfflineError):
        reply = TeamHealthResponse.model_validate(client.get("/v1/team-health"))
        store.set_secret(TEAM_HEALTH, reply.model_dump_json().encode())


def _requeue_refused(
    store: Store, keys: KeysResponse, summary: SyncSummary, retry_all: bool
) -> bool:
    """Put refused ops whose cause has gone back in the outbox; True if any were."""
    later = outcome.retryable(store)
    if not later:
        return False
    mine = {team.case_id for team in keys.teams}
    ids = [
        op.op_id
        for op in store.ops(SYNC_QUARANTINED)
        if op.op_id in later and (retry_all or op.case_id in mine)
    ]
    if ids:
        store.requeue(ids)
        summary.retried += len(ids)
        # Counted again below, from what the server answers this time.
        summary.rejected = [r for r in summary.rejected if r["op_id"] not in set(ids)]
    return bool(ids)


def _waiting_keys(store: Store, keys: KeysResponse) -> list[str]:
    """Cases this user is on that this laptop cannot open yet (no key from a teammate)."""
    return sorted(
        team.case_id
        for team in keys.teams
        if keys.user in team.without_key and not has_key(store, team.case_id)
    )


# --- a printed record, asked of the server ------------------------------------------------


def verify_record_on_server(store: Store, request: VerifyRecordRequest) -> VerifyRecordResponse:
    """Ask the agency server whether a printed record still stands (auditor, supervisor of
    the case, admin); OfflineError when the server cannot be reached."""
    with SyncClient(store) as client:
        client.hello()
        try:
            reply = client._send(
                "POST",
                "/v1/verify-record",
                request.model_dump_json().encode(),
                True,
                quiet=True,
            )
        except SyncRefused as exc:
            raise SyncRefused(f"the server refused to verify the record: {exc}") from None
    return VerifyRecordResponse.model_validate(reply)
