"""Pull and merge on the laptop: open the case keys addressed to this user, then pull the
team's ops page by page, check each device's chain and signatures, and merge them.

A pulled page and its cursor are written in one transaction, so an interrupted pull
resumes with no loss and no duplicate; a case whose key has not arrived is pulled again
from its start once it does (the backfill).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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
    ed25519_public_from_bytes,
    unb64,
    unwrap_with_private,
)
from fieldkit.errors import StoreError
from fieldkit.store import Store

from .attachment_sync import ProgressFn
from .outcome import SyncSummary
from .protocol import (
    KeysResponse,
    PulledPage,
    ReceivedOp,
    envelope_context,
)
from .transport import (
    DEVICES_AS_OF,
    SyncClient,
    fetch_keys,
)
from .userkey import install_grant, waiting_note

PULL_PAGE = 5000
MAIN_CURSOR = "sync_cursor"
"""Profile meta: where the main pull (every case of this user) stands."""
AnyOp = TypeVar("AnyOp", bound=Op)
INT64_CURSOR = 2**63 - 1
# Profile meta: case id -> the key ids its pending backfill waits on (`_backfill_wants`).
BACKFILL_WANTS = "sync_backfill_wants"
# Decisions of a supervisor (entity "approval", field "decision"; fieldkit.services.review).
APPROVED = {"approved", "confirmed"}
RETURNED = {"returned", "rejected", "disputed"}


def install_keys(store: Store, keys: KeysResponse, summary: SyncSummary) -> set[str]:
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
    # One transaction for every key of the answer (a first sync opens one per case): one
    # commit, not one per case; an interrupted sync keeps none and opens them all again.
    with store.transaction():
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
    """Keep the device keys of this answer that are new here, and where the next answer
    may start, in one transaction.

    With no device new here (most syncs), nothing is written: where the next answer may
    start is kept in the sync's last transaction (`client._run`), one commit fewer. A
    sync that stops before then leaves the earlier mark, and the next answer lists the
    devices since then again, those already here skipped: none is missed."""
    known = store.device_keys()
    new = [
        (dev.device_id, dev.user, unb64(dev.sign_pub), unb64(dev.box_pub))
        for dev in keys.devices
        if dev.device_id not in known
    ]
    if not new:
        return
    with store.transaction():
        store.add_devices(new)
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


def has_key(store: Store, case_id: str) -> bool:
    """This laptop holds the case's key (opened once, then from the store's cache)."""
    try:
        store.case_sealer(case_id)
    except StoreError:
        return False
    return True


def _authentic(
    ops: list[AnyOp], device_keys: _DeviceKeys
) -> tuple[list[AnyOp], list[tuple[AnyOp, str]]]:
    """The ops of a page that are what their devices signed, and the others with why.

    Per device, every hash and link, and the signature of the newest op of each linked
    run (`changelog.check_chain`): the page often holds another device's chain only in
    part (the cases this user is on), so an op with no later op of its device here is
    its own run and has its own signature checked.
    """
    by_device: dict[str, list[AnyOp]] = {}
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
    page: PulledPage,
    device_keys: _DeviceKeys,
    cursor_key: str,
    summary: SyncSummary,
    touched: dict[tuple[str, str, str], dict[str, Any]],
    missing_keys: dict[str, set[str] | None],
) -> None:
    good, bad = _authentic(list(page.ops), device_keys)
    for op, problem in bad:
        summary.refused_from_server.append(
            {"op_id": op.op_id, "case_id": op.case_id, "reason": problem}
        )
    stamps: list[tuple[str, int]] = []
    by_case: dict[str, list[ReceivedOp]] = {}
    for op in good:
        by_case.setdefault(op.case_id, []).append(op)
    with store.transaction():
        for case_id, case_ops in by_case.items():
            lacking = {
                key_id
                for key_id in {op.key_id for op in case_ops}
                if not store.has_case_key(case_id, key_id)
            }
            if case_id in missing_keys or lacking:
                # Sealed with a key (generation) that has not reached this laptop yet:
                # pulled again from the case's start once one of the keys it lacked does.
                _note_missing(missing_keys, case_id, lacking)
                continue
            try:
                ingested = store.ingest_many(case_ops, folded=touched)
            except CryptoError:
                # This laptop's key for the case is not the team's: keep the ops on the
                # server, say so, and pull the case again once the team's key arrives
                # (which key that is cannot be told: the case waits on no named key).
                missing_keys[case_id] = None
                problem = f"case {case_id}: this laptop cannot open the team's changes yet"
                if problem not in summary.local_problems:
                    summary.local_problems.append(problem)
                continue
            stamps += [(op.op_id, op.received_ms or 0) for op in case_ops]
            for taken in ingested:
                summary.pulled += 1
                _count_decisions(store, taken, summary)
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


def pull(
    store: Store,
    client: SyncClient,
    keys: KeysResponse,
    summary: SyncSummary,
    progress: ProgressFn | None,
    page_size: int,
    first: list[tuple[int, PulledPage]] | None = None,
    first_done: Callable[[], None] | None = None,
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Pull every page after the cursors; each entity the pull changed, with its folded
    state as the pull left it. `first` holds a page of the main pull already in hand (the
    push's answer brought it) with the cursor it was read from: taken out and used as the
    first page when the main cursor still stands there, instead of asking for it again;
    `first_done` is called once it is freed (the collector the push paused for it can run
    again: each later page pauses it for itself, `cycles_paused`)."""
    device_keys = _DeviceKeys(store)
    touched: dict[tuple[str, str, str], dict[str, Any]] = {}
    missing: dict[str, set[str] | None] = {}
    backfill = _backfill(store)
    wants = _backfill_wants(store)
    kept = (store.meta("sync_backfill"), store.meta(BACKFILL_WANTS))

    def run(
        cursor_key: str,
        case_id: str | None,
        until: int | None = None,
        given: list[tuple[int, PulledPage]] | None = None,
    ) -> None:
        while True:
            cursor = int(store.meta(cursor_key) or 0)
            with cycles_paused():
                in_hand = given.pop() if given else None
                if in_hand is not None and in_hand[0] == cursor:
                    page = in_hand[1]
                else:
                    # The page is read from its bytes by pydantic at once, into the ops
                    # themselves (no dicts or models in between).
                    page = PulledPage.model_validate_json(
                        client.post_raw(
                            "/v1/pull", _page_request(cursor, page_size, case_id, until)
                        )
                    )
                del in_hand
                if not device_keys.complete and any(
                    op.device_id not in device_keys.raw for op in page.ops
                ):
                    # A device this laptop has not heard of (its list is fetched
                    # incrementally): ask for every device once before calling any op
                    # unverifiable.
                    _add_devices(store, fetch_keys(store, client, every_device=True))
                    device_keys.raw, device_keys.complete = store.device_keys(), True
                _ingest_page(store, page, device_keys, cursor_key, summary, touched, missing)
                more = page.more
                del page  # freed here, by its count, before the collector runs again
            if given is not None and first_done is not None:
                first_done()
                given = None
            if progress:
                progress("pull", summary.pulled, None)
            if not more:
                return

    if progress:
        progress("pull", 0, None)
    # A case whose key arrived after the main cursor passed its first ops is pulled from
    # its start up to where the main cursor stood then (the main pull brings the rest),
    # so no op is fetched and checked twice; on a first sync there is nothing below it.
    for case_id, until in sorted(backfill.items()):
        if until and has_key(store, case_id) and _arrived(store, case_id, wants):
            run(f"sync_backfill_cursor:{case_id}", case_id, until)
            del backfill[case_id]
            wants.pop(case_id, None)
        elif not until:
            del backfill[case_id]
            wants.pop(case_id, None)
    # A backfill above runs while a page the push brought waits (and the collector with
    # it): rare, only when a case's key arrived since its ops were skipped.
    run(MAIN_CURSOR, None, None, first)
    # A case skipped for want of its key, or of a newer key generation, waits for it and is
    # then pulled from its start up to where the main pull is now (a skipped op may lie
    # below an earlier backfill's cursor, so that cursor starts again from 0). It waits on
    # the keys its skipped ops named: until one of them is here, the backfill would fetch
    # and check the same ops only to skip them again (a laptop waiting for its user key
    # did so on every sync, its whole caseload each time).
    high = int(store.meta("sync_cursor") or 0)
    for case_id, lacking in missing.items():
        if case_id in backfill and case_id not in wants:
            lacking = None  # already waiting on no named key: it stays so
        elif case_id in backfill and lacking is not None:
            lacking = lacking | wants[case_id]
        backfill[case_id] = max(backfill.get(case_id, 0), high)
        if lacking is None:
            wants.pop(case_id, None)
        else:
            wants[case_id] = lacking
    now_kept = (
        json.dumps(backfill, sort_keys=True),
        _wants_json({c: w for c, w in wants.items() if c in backfill}),
    )
    # Written only when it changed (most syncs: nothing skipped, nothing backfilled), and
    # then in one transaction with the backfill cursors it restarts.
    if missing or now_kept != kept:
        with store.transaction():
            for case_id in missing:
                store.set_meta(f"sync_backfill_cursor:{case_id}", "0")
            store.set_meta("sync_backfill", now_kept[0])
            store.set_meta(BACKFILL_WANTS, now_kept[1])
    return touched


def _page_request(
    cursor: int, page_size: int, case_id: str | None, until: int | None
) -> dict[str, Any]:
    request: dict[str, Any] = {"cursor": cursor, "limit": page_size}
    if case_id is not None:
        request["case_id"] = case_id
    if until is not None:
        request["until"] = until
    return request


def _note_missing(missing: dict[str, set[str] | None], case_id: str, lacking: set[str]) -> None:
    """The case was skipped on this page for want of the keys `lacking` names."""
    if case_id not in missing:
        missing[case_id] = set(lacking)
    elif (known := missing[case_id]) is not None:
        known |= lacking


def _backfill_wants(store: Store) -> dict[str, set[str]]:
    """Cases to backfill that wait on named keys: the key ids their skipped ops were
    sealed with and this laptop lacked. A case not named here waits on no named key (its
    backfill runs whenever the laptop holds a key of the case, as before)."""
    raw = json.loads(store.meta(BACKFILL_WANTS) or "{}")
    return {str(k): {str(x) for x in v} for k, v in raw.items()}


def _wants_json(wants: dict[str, set[str]]) -> str:
    return json.dumps({c: sorted(w) for c, w in wants.items()}, sort_keys=True)


def _arrived(store: Store, case_id: str, wants: dict[str, set[str]]) -> bool:
    """The backfill of a case can bring something new: it waits on no named key, or one
    of the keys it waits on is here now."""
    named = wants.get(case_id)
    return not named or any(store.has_case_key(case_id, key_id) for key_id in named)


@contextmanager
def cycles_paused() -> Iterator[None]:
    """Python's cycle collector paused while a page is read, checked and folded.

    A page of 5,000 ops makes some 100,000 short-lived containers (models, ops, bodies),
    all freed by their reference counts; promoted by the collector while they live, they
    set off a full collection of the whole heap, which cost more than the fold itself
    (docs/decisions.md "No cycle collection while a pulled page is folded"). A collector
    someone else turned off stays off.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _backfill(store: Store) -> dict[str, int]:
    """Cases to pull from their start, each up to the main cursor when it was noted."""
    raw = json.loads(store.meta("sync_backfill") or "{}")
    if isinstance(raw, list):  # kept by an earlier fieldkit: up to wherever the server is
        return {case_id: INT64_CURSOR for case_id in raw}
    return {str(k): int(v) for k, v in raw.items()}


def note_backfill(store: Store, cases: set[str]) -> None:
    """Cases whose key just arrived: their ops below the main cursor are pulled next,
    whatever keys they waited on before."""
    backfill = _backfill(store)
    wants = _backfill_wants(store)
    high = int(store.meta("sync_cursor") or 0)
    for case_id in cases:
        backfill[case_id] = max(backfill.get(case_id, 0), high)
        wants.pop(case_id, None)
    with store.transaction():
        store.set_meta("sync_backfill", json.dumps(backfill, sort_keys=True))
        store.set_meta(BACKFILL_WANTS, _wants_json(wants))
