"""The laptop's push: its outbox sent to the server in batches, in chain order, and each
answer recorded (acknowledged ops leave the outbox, refused ones are quarantined).

The server works on one batch while this laptop records the answer to the batch before and
encodes the batch after; the next batch leaves only once the answer to the one before has
come and its receipt verified (docs/decisions.md "The laptop's push works while the server
does").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError

from fieldkit.changelog import Op
from fieldkit.crypto import ed25519_public_from_bytes, unb64, verify_signature
from fieldkit.i18n import _
from fieldkit.store import SYNC_LOCAL, Store

from . import outcome
from .attachment_sync import ProgressFn
from .outcome import SyncSummary
from .protocol import PushAnswer, PushResponse, Receipt, push_body, receipt_message
from .transport import SyncClient, SyncRefused

PUSH_BATCH = 1000


def _chunks(items: list[Op], size: int) -> list[list[Op]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _verify_receipt(store: Store, receipt: Receipt) -> None:
    pinned = store.meta("server_sign_pub")
    if not pinned:
        return
    message = receipt_message(receipt.device_id, receipt.seq, receipt.head, receipt.issued_ms)
    if not verify_signature(ed25519_public_from_bytes(unb64(pinned)), unb64(receipt.sig), message):
        raise SyncRefused(_("the server's receipt does not verify; nothing was marked as sent"))


def _check_answer(store: Store, batch: list[Op], reply: PushResponse) -> None:
    """The answer may mark as sent only what its signed receipt proves the server holds.

    The receipt must verify and be for this device; the answer may name only ops of this
    batch (a refusal of another op would quarantine it unsent), and every op it
    acknowledges must be at or below the receipt's head. When the answer calls any op newly
    accepted, the head must be this laptop's own op there: the chain's hash links then
    reach from the signed head back to each op marked. An answer of duplicates alone may
    name a head this laptop does not hold (restored from a backup, it is behind the server
    or forked from it): the server found each of those ops stored with the same hash.
    Anything else (an answer replayed from another push, or one naming ops never sent)
    marks nothing."""
    receipt = reply.receipt
    _verify_receipt(store, receipt)
    seq_of = {op.op_id: op.seq for op in batch}
    covered = (
        receipt.device_id == store.device_id
        and all(r.op_id in seq_of for r in reply.results)
        and all(
            seq_of[r.op_id] <= receipt.seq
            for r in reply.results
            if r.status in ("accepted", "duplicate")
        )
    )
    if covered and any(r.status == "accepted" for r in reply.results):
        head = next((op.hash for op in batch if op.seq == receipt.seq), None)
        covered = (head or store.own_hash_at(receipt.seq)) == receipt.head
    if not covered:
        raise SyncRefused(
            _(
                "the server's receipt does not cover the changes it acknowledged; "
                "nothing was marked as sent"
            )
        )


def _outbox(store: Store, checked: outcome.CheckedChain | None) -> list[Op]:
    """This device's ops waiting for the server, in chain order. With `checked` (what
    `outcome.checked_own_chain` has just read and checked), those ops are sent as they were
    checked, not read and parsed again: only which of them still wait is asked again, and
    any op written since the check (a save during the sync) is read after them."""
    if checked is None:
        return store.own_ops(sync_state=SYNC_LOCAL)
    waiting = store.op_ids(SYNC_LOCAL)
    outbox = [op for op in checked.outbox if op.op_id in waiting]
    return outbox + store.own_ops(checked.head_seq, SYNC_LOCAL)


def push(
    store: Store,
    client: SyncClient,
    summary: SyncSummary,
    progress: ProgressFn | None,
    batch_size: int,
    checked: outcome.CheckedChain | None = None,
    besides: str = "",
) -> PushAnswer | None:
    """Send the outbox; with `besides` (a query of `/v1/push`: `keys`, `pull_cursor`…) the
    last batch of each round asks to be answered with those reads too, and the answer that
    carried them (the latest) is returned. None when nothing was sent."""
    outbox = _outbox(store, checked)
    total = len(outbox)
    done = [0]
    if progress:
        progress("push", 0, total)
    resend: list[Op] = []
    answered: PushAnswer | None = None
    for _round in range(3):
        batch_source = resend or outbox
        if not batch_source:
            break
        deferred_from, last = _send_batches(
            store,
            client,
            summary,
            progress,
            _chunks(batch_source, batch_size),
            done,
            total,
            besides,
        )
        answered = last or answered
        if deferred_from is None:
            break
        # The server is missing an earlier op of this chain (it came back from a backup,
        # or batches arrived out of order): send the chain again from where it stands.
        resend = store.own_ops(deferred_from - 1)
    return answered


def _send_batches(
    store: Store,
    client: SyncClient,
    summary: SyncSummary,
    progress: ProgressFn | None,
    batches: list[list[Op]],
    done: list[int],
    total: int,
    besides: str = "",
) -> tuple[int | None, PushAnswer | None]:
    """Send the batches in order, one at a time on one connection; the seq the server
    asks to resend from when it deferred ops, else None; and the last batch's answer when
    it was asked for `besides` (its query, on the last batch only).

    The server works on one batch while this laptop records the answer to the batch before
    and encodes the batch after (a thread waits for the answer; the wait releases the
    GIL). The next batch leaves only once the answer to the one before has come and its
    receipt verified, so the server never sees them out of order; an op leaves the outbox
    only in the transaction that records the server's answer naming it."""
    if not batches:
        return None, None
    last = len(batches) - 1

    def path(n: int) -> str:
        return "/v1/push" + (besides if n == last else "")

    with ThreadPoolExecutor(1, thread_name_prefix="fieldkit-push") as sender:
        answer = client.send_ahead(sender, path(0), push_body(batches[0]))
        for n, batch in enumerate(batches):
            following = push_body(batches[n + 1]) if n + 1 < len(batches) else None
            reply = _push_answer(answer())
            _check_answer(store, batch, reply)
            deferred = any(r.status == "deferred" for r in reply.results)
            if following is not None and not deferred:
                answer = client.send_ahead(sender, path(n + 1), following)
            _record_answer(store, summary, batch, reply)
            done[0] += len(batch)
            if progress:
                progress("push", min(done[0], total), total)
            if deferred:
                # Every later batch of this round would be deferred as well.
                return reply.expected_seq, None
    return None, reply if besides else None


def _push_answer(raw: bytes) -> PushAnswer:
    """A batch's answer. What it brought besides (keys, a page) is dropped when it does
    not read, and asked for on its own routes, where it is refused as any bad answer is:
    the push itself, already committed, is recorded either way."""
    try:
        return PushAnswer.model_validate_json(raw)
    except ValidationError:
        plain = PushResponse.model_validate_json(raw)  # a bad push answer raises here
        return PushAnswer(
            results=plain.results, receipt=plain.receipt, expected_seq=plain.expected_seq
        )


def _record_answer(
    store: Store, summary: SyncSummary, batch: list[Op], reply: PushResponse
) -> None:
    """One batch's answer, in one transaction: acknowledged ops leave the outbox, refused
    ones are quarantined with the server's reason, the receipt is kept."""
    acked = [r.op_id for r in reply.results if r.status in ("accepted", "duplicate")]
    accepted = [r.op_id for r in reply.results if r.status == "accepted"]
    with store.transaction():
        store.mark_acked(acked)
        # Time evidence: the server's signed receipt time stands for these ops.
        store.record_receipts((op_id, reply.receipt.issued_ms) for op_id in accepted)
        later = outcome.retryable(store)
        for op_id in acked:
            later.pop(op_id, None)
        case_of: dict[str, str] = {}
        for r in reply.results:
            if r.status == "rejected":
                case_of = case_of or {op.op_id: op.case_id for op in batch}
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
    summary.pushed += len(accepted)
    summary.duplicates += len(acked) - len(accepted)
    summary.receipt_seq = reply.receipt.seq
