"""Verification: every hash link, sequence number and signature of the log, and the folded
state rebuilt from the log to compare with what is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import GENESIS, OP_SELECT, Op, OpMeta
from fieldkit.crypto import (
    ed25519_public_from_bytes,
    verify_signature,
)
from fieldkit.store.log import LogStore


@dataclass
class VerifyProblem:
    """The first thing wrong with one device's chain, named so a person can find it."""

    op_id: str
    device_id: str
    seq: int
    message: str


@dataclass
class VerifyReport:
    """What `fieldkit verify` found."""

    ops: int = 0
    devices: int = 0
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


class VerifyingStore(LogStore):
    """Checks of the log and the folded state."""

    def verify(self) -> VerifyReport:
        """Check every hash link, sequence number and signature; name the first bad op."""
        report = VerifyReport()
        if self.plaintext:
            report.problems.append(
                VerifyProblem(
                    "-", "-", 0, "this is a benchmark profile: nothing in it is sealed or signed"
                )
            )
        for line in self.settings_differences():
            report.problems.append(VerifyProblem("-", "-", 0, line))
        keys = {dev: ed25519_public_from_bytes(raw) for dev, raw in self.device_keys().items()}
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {OP_SELECT} FROM ops ORDER BY device_id, seq, rowid"
            ).fetchall()
        current_device = None
        expected_seq, prev, broken = 1, GENESIS, False
        present: set[str] = set()
        for row in rows:
            op = Op(*row)
            present.add(op.op_id)
            report.ops += 1
            if op.device_id != current_device:
                current_device, expected_seq, prev, broken = op.device_id, 1, GENESIS, False
                report.devices += 1
            if broken:
                continue
            problem = None
            # Sync brings another device's ops only for cases this user is on, so its
            # chain here may skip positions; a skip is not a break (links still checked).
            gap = op.device_id != self.device_id and op.seq > expected_seq
            if op.compute_hash() != op.hash:
                problem = (
                    "its content does not match its hash: the op was altered or moved out of order"
                )
            elif op.seq != expected_seq and not gap:
                problem = (
                    f"it has sequence number {op.seq} where {expected_seq} was expected: "
                    "an op before it was deleted or the ops were reordered"
                )
            elif op.prev_hash != prev and not gap:
                problem = (
                    "it does not link to the op before it: an op was deleted, inserted or reordered"
                )
            elif not self.plaintext:
                key = keys.get(op.device_id)
                if key is None:
                    problem = "it was signed by a device this profile does not know"
                elif not verify_signature(key, op.sig, op.hash.encode()):
                    problem = "its signature does not verify with its device's key: forged"
            if problem:
                report.problems.append(VerifyProblem(op.op_id, op.device_id, op.seq, problem))
                broken = True
                continue
            expected_seq, prev = op.seq + 1, op.hash
        with self._lock:
            counts = {
                (r[0], r[1], r[2]): r[3]
                for r in self._conn.execute(
                    "SELECT case_id, entity, entity_id, count(*) FROM ops"
                    " GROUP BY case_id, entity, entity_id"
                )
            }
        for ent in self.entities(include_deleted=True):
            held = counts.get((ent.case_id, ent.entity, ent.entity_id), 0)
            built = int(ent.state.get("n", 0))
            last = str(ent.state.get("last", ""))
            if held < built or (last and last not in present):
                named = last if last and last not in present else "?"
                report.problems.append(
                    VerifyProblem(
                        named,
                        "?",
                        0,
                        f"{ent.entity} {ent.entity_id} of case {ent.case_id} was built from "
                        f"{built} ops but the log holds {held}: an op was deleted",
                    )
                )
        return report

    def rebuild_differences(self) -> list[str]:
        """Fold the whole log afresh and list every entity whose stored state differs."""
        rebuilt: dict[tuple[str, str, str], dict[str, Any]] = {}
        for op in sorted(self.ops(), key=lambda o: (o.hlc, o.device_id, o.op_id)):
            body = self.open_body(op)
            key = (op.case_id, op.entity, op.entity_id)
            rebuilt[key] = changelog.apply(
                rebuilt.get(key),
                OpMeta(op.op_id, op.hlc, op.device_id, op.author, op.action),
                body,
            )
        stored = {
            (e.case_id, e.entity, e.entity_id): e.state for e in self.entities(include_deleted=True)
        }
        differences = []
        for key in sorted(set(rebuilt) | set(stored)):
            if _canonical(rebuilt.get(key)) != _canonical(stored.get(key)):
                differences.append(
                    f"{key[1]} {key[2]} of case {key[0]}: stored state differs from the log"
                )
        return differences


def _canonical(state: dict[str, Any] | None) -> Any:
    if state is None:
        return None
    return {
        "values": changelog.values(state),
        "heads": {k: sorted(h["op"] for h in v) for k, v in state["heads"].items()},
        "deleted": bool(state.get("deleted")),
        "signed": (state.get("signed") or {}).get("op"),
    }
