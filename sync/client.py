"""The laptop side of sync: enroll, then push the outbox, pull the team's ops and merge.

Nothing leaves the outbox until the server has acknowledged that exact op; a refused op
is quarantined with the server's reason; a pulled page and its cursor are written in one
transaction, so an interrupted sync resumes with no loss and no duplicate.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from fieldkit import __version__
from fieldkit.changelog import (
    BAD_SEQ,
    BROKEN_LINK,
    SIGNATURE_PROBLEM,
    UNKNOWN_DEVICE_PROBLEM,
    Op,
    check_chain,
    signatures_failing,
)
from fieldkit.crypto import (
    CryptoError,
    X25519PrivateKey,
    b64,
    ed25519_public_from_bytes,
    unb64,
    unwrap_with_private,
    verify_signature,
    wrap_to_public,
)
from fieldkit.errors import FieldkitError, OfflineError, StoreError
from fieldkit.i18n import _
from fieldkit.store import SYNC_LOCAL, SYNC_QUARANTINED, Store

from . import outcome
from .attachment_sync import sync_attachments
from .enroll_check import check_enrollment
from .outcome import SyncSummary
from .protocol import (
    EnrollResponse,
    KeysResponse,
    PullResponse,
    PushResponse,
    Receipt,
    TeamHealthResponse,
    VerifyRecordRequest,
    VerifyRecordResponse,
    enroll_message,
    envelope_context,
    grant_context,
    normalize_code,
    receipt_message,
)
from .rotation import recipients, rotate_keys, wrapped_keys
from .transport import (
    DEVICES_AS_OF,
    SyncClient,
    SyncRefused,
    WipeRequested,
    fetch_keys,
)
from .userkey import install_grant, waiting_note
from .wipe import wipe_after_drain

ProgressFn = Callable[[str, int, int | None], None]
PUSH_BATCH = 1000
PULL_PAGE = 2000
INT64_CURSOR = 2**63 - 1
# Decisions of a supervisor (entity "approval", field "decision"; fieldkit.services.review).
APPROVED = {"approved", "confirmed"}
RETURNED = {"returned", "rejected", "disputed"}


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


# --- case teams ------------------------------------------------------------------------


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


def _push_teams(
    store: Store, client: SyncClient, recovery: str | None, summary: SyncSummary
) -> None:
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


# --- push ------------------------------------------------------------------------------


def _chunks(items: list[Op], size: int) -> Iterator[list[Op]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _verify_receipt(store: Store, receipt: Receipt) -> None:
    pinned = store.meta("server_sign_pub")
    if not pinned:
        return
    message = receipt_message(receipt.device_id, receipt.seq, receipt.head, receipt.issued_ms)
    if not verify_signature(ed25519_public_from_bytes(unb64(pinned)), unb64(receipt.sig), message):
        raise SyncRefused(_("the server's receipt does not verify; nothing was marked as sent"))


def _push(
    store: Store,
    client: SyncClient,
    summary: SyncSummary,
    progress: ProgressFn | None,
    batch_size: int,
) -> None:
    own = store.device_id
    outbox = [op for op in store.ops(SYNC_LOCAL) if op.device_id == own]
    total, done = len(outbox), 0
    if progress:
        progress("push", 0, total)
    resend: list[Op] = []
    for _round in range(3):
        batch_source = resend or outbox
        if not batch_source:
            break
        deferred_from: int | None = None
        for batch in _chunks(batch_source, batch_size):
            reply = PushResponse.model_validate(
                client.post("/v1/push", {"ops": [op.to_wire() for op in batch]})
            )
            _verify_receipt(store, reply.receipt)
            acked = [r.op_id for r in reply.results if r.status in ("accepted", "duplicate")]
            accepted = [r.op_id for r in reply.results if r.status == "accepted"]
            with store.transaction():
                store.mark_acked(acked)
                # Time evidence: the server's signed receipt time stands for these ops.
                store.record_receipts((op_id, reply.receipt.issued_ms) for op_id in accepted)
                later = outcome.retryable(store)
                for op_id in acked:
                    later.pop(op_id, None)
                case_of = {op.op_id: op.case_id for op in batch}
                for r in reply.results:
                    if r.status == "rejected":
                        store.quarantine(r.op_id, r.reason or "refused by the server")
                        summary.rejected.append(
                            {
                                "op_id": r.op_id,
                                "case_id": case_of.get(r.op_id, ""),
                                "reason": r.reason or "",
                                "cause": r.cause or "",
                                "retryable": "yes" if r.retryable else "no",
                            }
                        )
                        if r.retryable:
                            later[r.op_id] = r.cause or ""
                        else:
                            later.pop(r.op_id, None)
                outcome.set_retryable(store, later)
                store.set_meta("sync_receipt", reply.receipt.model_dump_json())
            summary.pushed += sum(1 for r in reply.results if r.status == "accepted")
            summary.duplicates += sum(1 for r in reply.results if r.status == "duplicate")
            summary.receipt_seq = reply.receipt.seq
            if any(r.status == "deferred" for r in reply.results):
                deferred_from = reply.expected_seq
            done += len(batch)
            if progress:
                progress("push", min(done, total), total)
        if deferred_from is None:
            break
        # The server is missing an earlier op of this chain (it came back from a backup,
        # or batches arrived out of order): send the chain again from where it stands.
        resend = [op for op in store.ops() if op.device_id == own and op.seq >= deferred_from]


# --- pull ------------------------------------------------------------------------------


def _install_keys(store: Store, keys: KeysResponse, summary: SyncSummary) -> set[str]:
    """Open case-key envelopes addressed to this user; the cases that are new here."""
    for note in (install_grant(store, keys), waiting_note(store, keys)):
        if note:
            summary.team_problems.append(note)
    raw = store.secret("sync_user_box_key")
    if raw is None:  # waiting for a grant: the cases stay closed here until then
        _add_devices(store, keys)
        return set()
    private = X25519PrivateKey.from_private_bytes(raw)
    fresh = set()
    for env in keys.envelopes:
        if env.recipient != keys.user:
            continue
        if store.has_case_key(env.case_id, env.key_id):
            continue
        try:
            key = unwrap_with_private(
                unb64(env.wrapped), private, envelope_context(env.case_id, env.key_id)
            )
        except CryptoError:
            summary.team_problems.append(f"case {env.case_id}: its key envelope does not open")
            continue
        # Every generation is kept: older work stays sealed with the key it names.
        store.put_case_key(env.case_id, env.key_id, key, env.generation, shared=True)
        summary.keys_received += 1
        fresh.add(env.case_id)
    _add_devices(store, keys)
    return fresh


def _add_devices(store: Store, keys: KeysResponse) -> None:
    """Keep the device keys of this answer, and where the next one may start."""
    known = store.device_keys()
    with store.transaction():
        for dev in keys.devices:
            if dev.device_id not in known:
                store.add_device(dev.device_id, dev.user, unb64(dev.sign_pub), unb64(dev.box_pub))
        if keys.devices_as_of is not None:
            store.set_meta(DEVICES_AS_OF, str(keys.devices_as_of))


class _DeviceKeys:
    """Device id → Ed25519 public key, parsed on first use (not the whole agency's list)."""

    def __init__(self, store: Store) -> None:
        self.raw = store.device_keys()
        self.complete = False  # True once the server's whole list was fetched this sync
        self._parsed: dict[str, Any] = {}

    def get(self, device_id: str) -> Any:
        key = self._parsed.get(device_id)
        if key is None and device_id in self.raw:
            key = self._parsed[device_id] = ed25519_public_from_bytes(self.raw[device_id])
        return key


def _has_key(store: Store, case_id: str) -> bool:
    """This laptop holds the case's key (opened once, then from the store's cache)."""
    try:
        store.case_sealer(case_id)
    except StoreError:
        return False
    return True


def _authentic(ops: list[Op], device_keys: _DeviceKeys) -> tuple[list[Op], list[tuple[Op, str]]]:
    """The ops of a page that are what their devices signed, and the others with why.

    Per device, every hash and link, and the signature of the newest op of each linked
    run (`changelog.check_chain`): the page often holds another device's chain only in
    part (the cases this user is on), so an op with no later op of its device here is
    its own run and has its own signature checked.
    """
    by_device: dict[str, list[Op]] = {}
    for op in ops:
        by_device.setdefault(op.device_id, []).append(op)
    refused: dict[str, str] = {}
    for device_id, chain in by_device.items():
        chain.sort(key=lambda o: o.seq)
        raw = device_keys.raw.get(device_id)
        loose: list[Op] = []
        for problem in check_chain(chain, raw, head=None, next_seq=None, gaps=True):
            if problem.cause in (BAD_SEQ, BROKEN_LINK):
                loose.append(problem.op)  # not in a run: checked on its own below
            else:
                refused[problem.op.op_id] = problem.message
        if loose and raw is None:
            refused.update({op.op_id: UNKNOWN_DEVICE_PROBLEM for op in loose})
        elif loose and raw is not None:
            for n in signatures_failing(raw, [(op.hash, op.sig) for op in loose]):
                refused[loose[n].op_id] = SIGNATURE_PROBLEM
    good = [op for op in ops if op.op_id not in refused]
    bad = [(op, refused[op.op_id]) for op in ops if op.op_id in refused]
    return good, bad


def _ingest_page(
    store: Store,
    page: PullResponse,
    device_keys: _DeviceKeys,
    cursor_key: str,
    summary: SyncSummary,
    touched: set[tuple[str, str, str]],
    missing_keys: set[str],
) -> None:
    received = {wire.op_id: wire.received_ms for wire in page.ops}
    good, bad = _authentic([wire.to_op() for wire in page.ops], device_keys)
    for op, problem in bad:
        summary.refused_from_server.append(
            {"op_id": op.op_id, "case_id": op.case_id, "reason": problem}
        )
    stamps: list[tuple[str, int]] = []
    by_case: dict[str, list[Op]] = {}
    for op in good:
        by_case.setdefault(op.case_id, []).append(op)
    with store.transaction():
        for case_id, case_ops in by_case.items():
            if case_id in missing_keys or not all(
                store.has_case_key(case_id, key_id) for key_id in {op.key_id for op in case_ops}
            ):
                # Sealed with a key (generation) that has not reached this laptop yet:
                # pulled again from the case's start once it does.
                missing_keys.add(case_id)
                continue
            try:
                ingested = store.ingest_many(case_ops)
            except CryptoError:
                # This laptop's key for the case is not the team's: keep the ops on the
                # server, say so, and pull the case again once the team's key arrives.
                missing_keys.add(case_id)
                problem = f"case {case_id}: this laptop cannot open the team's changes yet"
                if problem not in summary.local_problems:
                    summary.local_problems.append(problem)
                continue
            stamps += [(op.op_id, received.get(op.op_id) or 0) for op in case_ops]
            for op in ingested:
                summary.pulled += 1
                touched.add((op.case_id, op.entity, op.entity_id))
                _count_decisions(store, op, summary)
        store.record_receipts(stamps)
        store.set_meta(cursor_key, str(page.next_cursor))


def _count_decisions(store: Store, op: Op, summary: SyncSummary) -> None:
    """Approvals, returns and supervision sessions received, read from the decrypted body."""
    if op.entity not in ("approval", "supervision") or op.action != "put":
        return
    values = store.open_body(op).get("set") or {}
    if op.entity == "supervision":
        summary.supervision_received += 1
        _add_case(summary.supervision_case_ids, op.case_id)
        return
    decision = str(values.get("decision", "")).lower()
    if decision in APPROVED:
        summary.approvals_received += 1
        _add_case(summary.approval_case_ids, op.case_id)
    elif decision in RETURNED:
        summary.returns_received += 1
        _add_case(summary.return_case_ids, op.case_id)
    else:
        return
    summary.decisions_received.append(
        {
            "case_id": op.case_id,
            "target": str(values.get("target", "")),
            "target_id": str(values.get("target_id", "")),
            "decision": decision,
            "comment": str(values.get("comment", "")),
            "by": str(values.get("by") or op.author),
        }
    )


def _add_case(found: list[str], case_id: str) -> None:
    if case_id not in found:
        found.append(case_id)


def _pull(
    store: Store,
    client: SyncClient,
    keys: KeysResponse,
    summary: SyncSummary,
    progress: ProgressFn | None,
    page_size: int,
) -> set[tuple[str, str, str]]:
    device_keys = _DeviceKeys(store)
    touched: set[tuple[str, str, str]] = set()
    missing: set[str] = set()
    backfill = _backfill(store)

    def run(cursor_key: str, case_id: str | None, until: int | None = None) -> None:
        while True:
            cursor = int(store.meta(cursor_key) or 0)
            request: dict[str, Any] = {"cursor": cursor, "limit": page_size}
            if case_id is not None:
                request["case_id"] = case_id
            if until is not None:
                request["until"] = until
            page = PullResponse.model_validate(client.post("/v1/pull", request))
            if not device_keys.complete and any(
                op.device_id not in device_keys.raw for op in page.ops
            ):
                # A device this laptop has not heard of (its list is fetched incrementally):
                # ask for every device once before calling any op unverifiable.
                _add_devices(store, fetch_keys(store, client, every_device=True))
                device_keys.raw, device_keys.complete = store.device_keys(), True
            _ingest_page(store, page, device_keys, cursor_key, summary, touched, missing)
            if progress:
                progress("pull", summary.pulled, None)
            if not page.more:
                return

    if progress:
        progress("pull", 0, None)
    # A case whose key arrived after the main cursor passed its first ops is pulled from
    # its start up to where the main cursor stood then (the main pull brings the rest),
    # so no op is fetched and checked twice; on a first sync there is nothing below it.
    for case_id, until in sorted(backfill.items()):
        if until and _has_key(store, case_id):
            run(f"sync_backfill_cursor:{case_id}", case_id, until)
            del backfill[case_id]
        elif not until:
            del backfill[case_id]
    run("sync_cursor", None)
    # A case skipped for want of its key, or of a newer key generation, waits for it and is
    # then pulled from its start up to where the main pull is now (a skipped op may lie
    # below an earlier backfill's cursor, so that cursor starts again from 0).
    high = int(store.meta("sync_cursor") or 0)
    for case_id in missing:
        backfill[case_id] = max(backfill.get(case_id, 0), high)
        store.set_meta(f"sync_backfill_cursor:{case_id}", "0")
    store.set_meta("sync_backfill", json.dumps(backfill, sort_keys=True))
    return touched


def _backfill(store: Store) -> dict[str, int]:
    """Cases to pull from their start, each up to the main cursor when it was noted."""
    raw = json.loads(store.meta("sync_backfill") or "{}")
    if isinstance(raw, list):  # kept by an earlier fieldkit: up to wherever the server is
        return {case_id: INT64_CURSOR for case_id in raw}
    return {str(k): int(v) for k, v in raw.items()}


def _note_backfill(store: Store, cases: set[str]) -> None:
    """Cases whose key just arrived: their ops below the main cursor are pulled next."""
    backfill = _backfill(store)
    high = int(store.meta("sync_cursor") or 0)
    for case_id in cases:
        backfill[case_id] = max(backfill.get(case_id, 0), high)
    store.set_meta("sync_backfill", json.dumps(backfill, sort_keys=True))


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
    summary.ops_checked = outcome.check_own_chain(store)
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
            )
        except WipeRequested:
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
) -> SyncSummary:
    """The sync proper, over an open client (see `run_sync`)."""
    hello = client.hello()
    summary.clock_offset_ms = client.offset_ms
    recovery = hello.recovery_pub or store.meta("recovery_pub")
    _push_teams(store, client, recovery, summary)
    _push(store, client, summary, progress, batch_size)
    keys = fetch_keys(store, client)
    if _requeue_refused(store, keys, summary, retry_all):
        _push(store, client, summary, progress, batch_size)
    fresh = _install_keys(store, keys, summary)
    if fresh:
        _note_backfill(store, fresh)
    _complete_envelopes(store, client, keys, recovery, summary)
    rotate_keys(store, client, keys, recovery, summary)
    touched = _pull(store, client, keys, summary, progress, page_size)
    # Attachments go after the text, so a slow or broken upload never holds it up.
    sync_attachments(store, client, summary, progress, pull_all_attachments)
    summary.waiting = store.outbox_count()
    summary.quarantined_total = len(store.quarantined())
    summary.waiting_keys = _waiting_keys(store, keys)
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    _report(client, summary)
    if keys.role in ("supervisor", "admin"):
        _keep_team_health(store, client)
    for case_id, entity, entity_id in sorted(touched):
        state = store.entity(case_id, entity, entity_id)
        if state is None:
            continue
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
    return summary


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
        if keys.user in team.without_key and not _has_key(store, team.case_id)
    )


def _complete_envelopes(
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
