"""A restored or replaced laptop loses nothing: it re-enrolls under a new device id and
carries its unsynced ops over, with their original authorship provable.

A laptop restored from a backup forks its own chain (the server holds other ops at the
same positions), so its later ops are refused as a fork. `fieldkit enroll URL CODE
--new-device` gives the profile a new device id and keys, then, for each op of the old
device the server never accepted (waiting, or refused for a fork or a cause that can go
away), writes the same change again on the new device's chain, and per case one signed
`carryover` record that holds each old op exactly as the old device signed it beside the
id of the op that carries it. Anyone on the case can check the old signature with the
old device's key (the server lists every device) and that the new op says the same
(`check_carryover`). Altered or forged ops are never carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldkit.changelog import Op, head_ops, uuid7
from fieldkit.crypto import ed25519_public_from_bytes, verify_signature
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.store import SYNC_LOCAL, SYNC_QUARANTINED, Store

from . import outcome
from .client import enroll
from .enroll_check import check_enrollment

CARRYOVER = "carryover"


@dataclass(frozen=True)
class Carried:
    """One old op and the op that carries it."""

    old_op_id: str
    new_op_id: str
    case_id: str


def carriable(store: Store, device_id: str) -> list[Op]:
    """The old device's ops the server never accepted and that may be carried."""
    later = outcome.retryable(store)
    notes = dict(store.quarantined())
    ops = [op for op in store.ops(SYNC_LOCAL) if op.device_id == device_id]
    for op in store.ops(SYNC_QUARANTINED):
        if op.device_id != device_id:
            continue
        if op.op_id in later or notes.get(op.op_id, "").startswith("fork"):
            ops.append(op)
    return sorted(ops, key=lambda o: o.seq)


def carry_over(store: Store, old_device: str) -> list[Carried]:
    """Write the old device's unaccepted ops again on this (new) device's chain."""
    if old_device == store.device_id:
        raise FieldkitError(_("the profile still has its old device id; nothing was carried"))
    ops = carriable(store, old_device)
    done: list[Carried] = []
    by_case: dict[str, list[dict[str, Any]]] = {}
    with store.transaction():
        for old in ops:
            body = store.open_body(old)
            ent = store.entity(old.case_id, old.entity, old.entity_id)
            current = ent.state if ent is not None else None
            carried = dict(body)
            if "set" in body:
                # Supersede what the old op superseded, and the old op itself (a teammate
                # never receives the old op; this laptop already folded it).
                old_base: dict[str, list[str]] = body.get("base") or {}
                carried["base"] = {
                    name: sorted(
                        set(old_base.get(name) or [])
                        | set(head_ops(current, name) if current else [])
                    )
                    for name in body["set"]
                }
            new = store.record(
                old.case_id, old.entity, old.entity_id, None, action=old.action, extra=carried
            )
            done.append(Carried(old.op_id, new.op_id, old.case_id))
            by_case.setdefault(old.case_id, []).append({"old": old.to_wire(), "new": new.op_id})
        for case_id, pairs in sorted(by_case.items()):
            store.record(
                case_id,
                CARRYOVER,
                uuid7(),
                {"from_device": old_device, "to_device": store.device_id, "ops": pairs},
            )
        store.mark_carried([c.old_op_id for c in done])
    return done


def check_carryover(store: Store, case_id: str) -> list[tuple[str, str, str | None]]:
    """Each carried op of a case: (old op id, new op id, problem or None).

    The old op must hash to its hash and carry its old device's signature, and the op
    that carries it must say the same (same entity, action and values)."""
    keys = store.device_keys()
    found: list[tuple[str, str, str | None]] = []
    by_id = {op.op_id: op for op in store.ops() if op.case_id == case_id}
    for ent in store.entities(case_id):
        if ent.entity != CARRYOVER:
            continue
        for pair in ent.fields.get("ops") or []:
            old = Op.from_wire(pair["old"])
            problem: str | None = None
            key = keys.get(old.device_id)
            new = by_id.get(pair["new"])
            if old.compute_hash() != old.hash:
                problem = "the old op does not match its hash"
            elif key is None:
                problem = "the old device is not known here"
            elif not verify_signature(ed25519_public_from_bytes(key), old.sig, old.hash.encode()):
                problem = "the old op's signature does not verify with its device's key"
            elif new is None:
                problem = "the op that carries it has not arrived"
            elif (new.entity, new.entity_id, new.action) != (old.entity, old.entity_id, old.action):
                problem = "the op that carries it is about another record"
            elif store.open_body(new).get("set") != store.open_body(old).get("set"):
                problem = "the op that carries it says something else"
            found.append((old.op_id, pair["new"], problem))
    return found


def reenroll(
    store: Store,
    url: str,
    code: str,
    passphrase: str,
    argon: dict[str, int] | None = None,
    insecure: bool = False,
) -> tuple[str, list[Carried]]:
    """New device id and keys, the unaccepted ops carried over, then enroll with a fresh
    code. Returns the old device id and what was carried. If the enrollment fails the
    carried ops wait in the outbox; `fieldkit enroll URL CODE` (a new code) finishes."""

    check_enrollment(store, url, code, insecure)
    outcome.check_own_chain(store)  # never carry a damaged chain
    old = store.new_device()
    carried = carry_over(store, old)
    enroll(store, url, code, passphrase, argon=argon, insecure=insecure)
    return old, carried
