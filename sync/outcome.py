"""What a sync may claim: the laptop's own chain checked before anything is sent, the
exit codes of `fieldkit sync`, and the outbox as a person reads it.

Exit codes (`fieldkit sync --help`, README):
  0  everything was sent and accepted; nothing waits on this laptop
  1  a usage or set-up error (no profile, wrong passphrase, not enrolled)
  2  offline: the server could not be reached; nothing lost
  3  some changes were refused by the server or still wait (`fieldkit outbox` lists them)
  4  local integrity failure: an op of this laptop fails its check; nothing was sent
  5  the server refused this laptop (revoked, unknown there, or not the server it enrolled with)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from fieldkit.changelog import SIGNATURE_PROBLEM, Op, check_chain, parse_hlc, signatures_failing
from fieldkit.crypto import ed25519_public_from_bytes, unb64, verify_signature
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, ngettext
from fieldkit.store import SYNC_LOCAL, SYNC_QUARANTINED, Store

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_OFFLINE = 2
EXIT_REFUSED = 3
EXIT_INTEGRITY = 4
EXIT_DEVICE_REFUSED = 5


OUTCOMES = {
    EXIT_OK: "ok",
    EXIT_ERROR: "error",
    EXIT_OFFLINE: "offline",
    EXIT_REFUSED: "refused",
    EXIT_INTEGRITY: "integrity",
    EXIT_DEVICE_REFUSED: "device_refused",
}

# Profile meta: op id → refusal cause, for refused ops whose cause can go away.
RETRYABLE_META = "sync_retryable"
# Profile meta: ids of cases this user is on whose key has not reached this laptop yet.
WAITING_KEYS_META = "sync_waiting_keys"


class LocalIntegrityError(FieldkitError):
    """An op of this laptop's own chain fails its check: nothing was sent."""

    exit_code = EXIT_INTEGRITY


def op_date(op: Op) -> str:
    """The UTC date an op was written, from its hybrid clock."""
    wall, _counter = parse_hlc(op.hlc)
    return datetime.fromtimestamp(wall / 1000, UTC).date().isoformat()


def op_label(op: Op) -> str:
    """How a person recognises an op without decrypting it: case, record kind, date."""
    return f"case {op.case_id} · {op.entity} · {op_date(op)}"


@dataclass
class CheckedChain:
    """This laptop's own chain as `check_own_chain` found it: every op checked."""

    count: int
    """How many ops the chain holds."""
    head_seq: int
    """The position of its newest op (0: none yet)."""
    outbox: list[Op]
    """Its ops waiting for the server, as they were read and checked (a push sends
    these, not a second reading of them)."""


def check_own_chain(store: Store) -> int:
    """Check this laptop's whole chain before any of it is relied on; how many ops."""
    return checked_own_chain(store).count


def checked_own_chain(store: Store) -> CheckedChain:
    """Check this laptop's whole chain before any of it is relied on.

    Every own op from the first: sequence, hash and link to the one before
    (`changelog.check_chain`). The newest op's signature then covers every op of the
    chain, the ops about to be sent included; the acknowledged prefix is also anchored by
    the server's signed receipt (its head must be the hash this laptop holds at that
    position), so an acknowledged op rewritten with a fresh hash is caught too. The first
    failure raises LocalIntegrityError naming the op.
    """
    own = store.own_ops()
    public = store.device_sign_key.public_key().public_bytes_raw()
    for problem in check_chain(own, public, signatures="none", first_only=True):
        raise LocalIntegrityError(_integrity_line(problem.op, problem.message))
    waiting = store.op_ids(SYNC_LOCAL)
    pending = waiting | store.op_ids(SYNC_QUARANTINED)
    by_seq = {op.seq: op.hash for op in own if op.op_id not in pending}
    _check_receipt_anchor(store, own, by_seq)
    # Every link holds, so the newest op's signature covers the whole chain (the same
    # run signature `check_chain` checks).
    if own and signatures_failing(public, [(own[-1].hash, own[-1].sig)]):
        raise LocalIntegrityError(_integrity_line(own[-1], SIGNATURE_PROBLEM))
    return CheckedChain(
        len(own), own[-1].seq if own else 0, [op for op in own if op.op_id in waiting]
    )


def _check_receipt_anchor(store: Store, own: list[Op], by_seq: dict[int, str]) -> None:
    # Local: pydantic (~0.2 s, -X importtime) would load with `fieldkit outbox` and the app's
    # status line, which only read this module's counts.
    from .protocol import receipt_message

    raw = store.meta("sync_receipt")
    pinned = store.meta("server_sign_pub")
    if not raw or not pinned:
        return
    try:
        receipt = json.loads(raw)
        seq, head = int(receipt["seq"]), str(receipt["head"])

        message = receipt_message(receipt["device_id"], seq, head, int(receipt["issued_ms"]))
        signed = verify_signature(
            ed25519_public_from_bytes(unb64(pinned)), unb64(receipt["sig"]), message
        )
    except (ValueError, KeyError, TypeError):
        signed = False
    if not signed:
        raise LocalIntegrityError(
            _(
                "the server's last receipt kept on this laptop does not verify: the "
                "profile was altered; nothing was sent; run `fieldkit verify` and "
                "call your IT lead"
            )
        )
    # A position this laptop holds only unacknowledged is a fork (a restored laptop), not
    # a rewrite: the server says so when it refuses those ops.
    if receipt["device_id"] != store.device_id or seq == 0 or seq not in by_seq:
        return
    if by_seq[seq] != head:
        named = next(op for op in own if op.seq == seq)
        raise LocalIntegrityError(
            _integrity_line(
                named,
                "the chain up to it differs from what the server acknowledged: "
                "an acknowledged op was rewritten",
            )
        )


def _integrity_line(op: Op, problem: str) -> str:
    return (
        f"op {op.op_id} ({op_label(op)}): {problem}; nothing was sent; "
        "run `fieldkit verify` and call your IT lead"
    )


# --- refused ops whose cause can go away ---------------------------------------------


def retryable(store: Store) -> dict[str, str]:
    """Refused op id → cause, for refusals that can go away."""

    raw = store.meta(RETRYABLE_META)
    found: dict[str, str] = json.loads(raw) if raw else {}
    return found


def set_retryable(store: Store, items: dict[str, str]) -> None:
    """Keep the retryable refusals (inside the caller's transaction)."""
    store.set_meta(RETRYABLE_META, json.dumps(items, sort_keys=True))


def waiting_key_cases(store: Store) -> list[str]:
    """Cases this user is on whose key has not reached this laptop yet."""
    raw = store.meta(WAITING_KEYS_META)
    found: list[str] = json.loads(raw) if raw else []
    return found


def waiting_keys_line(count: int) -> str:
    """The one line that names cases waiting for their keys."""
    return ngettext(
        "{n} case waiting for your supervisor's laptop to share their keys",
        "{n} cases waiting for your supervisor's laptop to share their keys",
        count,
    ).format(n=count)


# --- the outbox as a person reads it -------------------------------------------------


@dataclass(frozen=True)
class OutboxItem:
    """One change not (yet) accepted by the server."""

    op_id: str
    label: str
    case_id: str
    entity: str
    date: str
    state: str  # "waiting" or "refused"
    reason: str = ""
    retryable: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "op_id": self.op_id,
            "label": self.label,
            "case_id": self.case_id,
            "entity": self.entity,
            "date": self.date,
            "state": self.state,
            "reason": self.reason,
            "retryable": self.retryable,
        }


def outbox_items(store: Store) -> list[OutboxItem]:
    """Every own op waiting to sync, then every one the server refused, with its reason."""
    later = retryable(store)
    items = [
        OutboxItem(op.op_id, op_label(op), op.case_id, op.entity, op_date(op), "waiting")
        for op in store.ops(SYNC_LOCAL)
        if op.device_id == store.device_id
    ]
    refused = {op.op_id: op for op in store.ops(SYNC_QUARANTINED)}
    for op_id, reason in store.quarantined():
        op = refused[op_id]
        items.append(
            OutboxItem(
                op_id,
                op_label(op),
                op.case_id,
                op.entity,
                op_date(op),
                "refused",
                reason,
                op_id in later,
            )
        )
    return items


def status_counts(store: Store) -> tuple[int, int, int]:
    """(waiting, refused, cases waiting for keys): what the status line must not hide."""
    return store.outbox_count(), len(store.quarantined()), len(waiting_key_cases(store))


def status_line_head(store: Store) -> str:
    """The first part of the app's status line: "all changes synced" only when true."""
    waiting, refused, keys = status_counts(store)
    parts = []
    if waiting:
        parts.append(
            ngettext("{n} change waiting to sync", "{n} changes waiting to sync", waiting).format(
                n=waiting
            )
        )
    if refused:
        parts.append(_("✗ {n} refused by the server (fieldkit outbox)").format(n=refused))
    if keys:
        parts.append(waiting_keys_line(keys))
    return " · ".join(parts) if parts else _("all changes synced")


def import_refusal(store: Store, assign: str | None) -> str | None:
    """Why the server would refuse every change of a case this user imports, if it can
    be known now (None if not): only a supervisor or admin can give a case a team, and
    the server accepts changes only from the team's members."""
    role = store.meta("sync_role")
    if not store.meta("sync_url") or role in (None, "", "supervisor", "admin"):
        return None
    return (
        f"{store.user} is a {role}: the agency server accepts changes to a case only from "
        "its team, and only a supervisor can assign one, so these cases could never sync; "
        f"ask your supervisor to import the file with `--assign {assign or store.user}`; "
        "nothing was imported"
    )


@dataclass(frozen=True)
class RefusalGroup:
    """Refused changes that share a reason and a case: one line of a sync's summary."""

    reason: str
    case_id: str
    retryable: bool
    count: int


def refusal_groups(refused: list[dict[str, str]]) -> list[RefusalGroup]:
    """Refusals (`SyncSummary.rejected`) grouped by reason and case, the largest first:
    705 refusals of a seeded laptop are a handful of causes, not 705 lines."""
    counts: dict[tuple[str, str, bool], int] = {}
    for item in refused:
        key = (item.get("reason", ""), item.get("case_id", ""), item.get("retryable") == "yes")
        counts[key] = counts.get(key, 0) + 1
    groups = [RefusalGroup(reason, case, later, n) for (reason, case, later), n in counts.items()]
    return sorted(groups, key=lambda g: (-g.count, g.case_id, g.reason))


@dataclass
class SyncSummary:
    """What one sync did, for the summary table, `--json` and the app's status line."""

    pushed: int = 0
    duplicates: int = 0
    waiting: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    quarantined_total: int = 0
    pulled: int = 0
    refused_from_server: list[dict[str, str]] = field(default_factory=list)
    keys_received: int = 0
    teams_sent: list[str] = field(default_factory=list)
    team_problems: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    needs_resolution: int = 0
    approvals_received: int = 0
    returns_received: int = 0
    approval_case_ids: list[str] = field(default_factory=list)
    return_case_ids: list[str] = field(default_factory=list)
    decisions_received: list[dict[str, str]] = field(default_factory=list)
    supervision_received: int = 0
    supervision_case_ids: list[str] = field(default_factory=list)
    local_problems: list[str] = field(default_factory=list)
    clock_offset_ms: int = 0
    receipt_seq: int = 0
    last_sync: str = ""
    attachments_sent: int = 0
    attachments_received: int = 0
    attachment_chunks_waiting: int = 0
    attachment_problems: list[str] = field(default_factory=list)
    ops_checked: int = 0
    retried: int = 0
    waiting_keys: list[str] = field(default_factory=list)
    keys_shared: list[dict[str, str]] = field(default_factory=list)
    keys_not_shared: list[dict[str, str]] = field(default_factory=list)
    keys_rotated: list[str] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def exit_code(self) -> int:
        """0 only when everything was sent and accepted (`outcome`)."""
        if self.quarantined_total or self.waiting:
            return EXIT_REFUSED
        if self.attachment_chunks_waiting and self.attachment_problems:
            return EXIT_OFFLINE  # the text is synced; attachment chunks wait
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for scripts: the outcome and exit code first, then every figure."""
        code = self.exit_code
        return {"outcome": OUTCOMES[code], "exit_code": code, **asdict(self)}
