"""Verification: every hash link, sequence number and signature of the log, and the folded
state rebuilt from the log to compare with what is stored."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import OP_SELECT, Op, OpMeta
from fieldkit.crypto import CryptoError
from fieldkit.sigcheck import BackgroundCheck
from fieldkit.store.log import LogStore
from fieldkit.store.schema import ops_from_rows


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


# Ops read (and their signatures sent to the helpers) at a time.
READ_STEP = 10000

# Profile secret: per device, the (seq, hash) of the newest op a clean verify checked.
VERIFY_MARK = "verify_mark"


class VerifyingStore(LogStore):
    """Checks of the log and the folded state."""

    def verify(self, full: bool = False) -> VerifyReport:
        """Check every hash, sequence number and link, and every op's own signature; name
        the first bad op of each device.

        Signatures are checked on every core. Ops at or below the mark a clean verify
        sealed (`VERIFY_MARK`) have their hashes and links checked again but not their
        signatures: their content is pinned by the sealed hash of the marked op, which
        covers every earlier link. `full` checks every signature again.
        """
        report = VerifyReport()
        if self.plaintext:
            report.problems.append(
                VerifyProblem(
                    "-", "-", 0, "this is a benchmark profile: nothing in it is sealed or signed"
                )
            )
        for line in self.settings_differences():
            report.problems.append(VerifyProblem("-", "-", 0, line))
        keys = self.device_keys()
        mark = {} if full else self._verify_mark()
        with BackgroundCheck(self._unmarked_count(mark)) as signatures:
            # The signatures go to the helpers as the log is read; this process checks
            # the hashes, links and fold counts meanwhile.
            chains: dict[str, list[Op]] = {}
            with self._lock:
                cursor = self._conn.execute(
                    f"SELECT {OP_SELECT} FROM ops ORDER BY device_id, seq, rowid"
                )
                while rows := cursor.fetchmany(READ_STEP):
                    unmarked: dict[str, list[tuple[str, bytes]]] = {}
                    for op in ops_from_rows(rows):
                        chains.setdefault(op.device_id, []).append(op)
                        below = mark.get(op.device_id)
                        if below is None or op.seq > below[0]:
                            unmarked.setdefault(op.device_id, []).append((op.hash, op.sig))
                    for device_id, items in unmarked.items():
                        sign_pub = keys.get(device_id)
                        if sign_pub is not None and not self.plaintext:
                            signatures.start(sign_pub, items)
            cuts = {dev: _cut(chain, mark.get(dev)) for dev, chain in chains.items()}
            present = {op.op_id for chain in chains.values() for op in chain}
            report.ops = len(present)
            report.devices = len(chains)
            counted = self._count_problems(chains, present)
            for device_id, chain in chains.items():
                report.problems += self._verify_chain(
                    device_id,
                    chain,
                    keys.get(device_id),
                    cuts[device_id],
                    mark.get(device_id),
                    signatures.check,
                )
        report.problems += counted
        if report.ok:
            self._seal_verify_mark(chains)
        return report

    def _verify_chain(
        self,
        device_id: str,
        chain: list[Op],
        sign_pub: bytes | None,
        cut: int,
        mark: tuple[int, str] | None,
        check: changelog.SignatureCheck,
    ) -> list[VerifyProblem]:
        # Sync brings another device's ops only for cases this user is on, so its chain
        # here may skip positions; a skip is not a break (links still checked).
        gaps = device_id != self.device_id
        every = "none" if self.plaintext else "every"
        found = changelog.check_chain(
            chain[:cut], sign_pub, gaps=gaps, signatures="none", first_only=True
        )
        if (
            not found
            and cut
            and mark is not None
            and (chain[cut - 1].seq, chain[cut - 1].hash) != mark
        ):
            op = chain[cut - 1]
            return [
                VerifyProblem(
                    op.op_id,
                    op.device_id,
                    op.seq,
                    "the chain up to it differs from what the last verify sealed: "
                    "an op was rewritten, deleted or inserted",
                )
            ]
        if not found:
            last = chain[cut - 1] if cut else None
            found = changelog.check_chain(
                chain[cut:],
                sign_pub,
                head=last.hash if last else changelog.GENESIS,
                next_seq=last.seq + 1 if last else 1,
                gaps=gaps,
                signatures=every,
                first_only=True,
                check_signatures=check,
            )
        return [VerifyProblem(p.op.op_id, p.op.device_id, p.op.seq, p.message) for p in found]

    def _count_problems(
        self, chains: dict[str, list[Op]], present: set[str]
    ) -> list[VerifyProblem]:
        """Each entity whose sealed fold state was built from more ops than the log holds
        for it (or from an op it no longer holds): an op was deleted."""
        held = Counter((op.case_id, op.entity, op.entity_id) for c in chains.values() for op in c)
        problems = []
        for case_id, entity, entity_id, built, last in self.fold_counts():
            count = held.get((case_id, entity, entity_id), 0)
            if count < built or (last and last not in present):
                problems.append(
                    VerifyProblem(
                        last if last and last not in present else "?",
                        "?",
                        0,
                        f"{entity} {entity_id} of case {case_id} was built from "
                        f"{built} ops but the log holds {count}: an op was deleted",
                    )
                )
        return problems

    def _unmarked_count(self, mark: dict[str, tuple[int, str]]) -> int:
        """How many ops follow the sealed mark (every op when there is none)."""
        with self._lock:
            total: int = self._conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            for device_id, (seq, _) in mark.items():
                total -= self._conn.execute(
                    "SELECT count(*) FROM ops WHERE device_id=? AND seq<=?", (device_id, seq)
                ).fetchone()[0]
        return total

    def _verify_mark(self) -> dict[str, tuple[int, str]]:
        """Where the last clean verify stopped, per device (sealed, so it cannot be moved)."""
        try:
            raw = self.secret(VERIFY_MARK)
            found = json.loads(raw) if raw else {}
            return {dev: (int(seq), str(digest)) for dev, (seq, digest) in found.items()}
        except (CryptoError, ValueError, TypeError):
            return {}

    def _seal_verify_mark(self, chains: dict[str, list[Op]]) -> None:
        if self.plaintext:
            return
        mark = {dev: [chain[-1].seq, chain[-1].hash] for dev, chain in chains.items() if chain}
        self.set_secret(VERIFY_MARK, json.dumps(mark, sort_keys=True).encode())

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


def _cut(chain: list[Op], mark: tuple[int, str] | None) -> int:
    """How many of a device's ops lie at or below its sealed mark."""
    if mark is None:
        return 0
    return next((n for n, op in enumerate(chain) if op.seq > mark[0]), len(chain))


def _canonical(state: dict[str, Any] | None) -> Any:
    if state is None:
        return None
    return {
        "values": changelog.values(state),
        "heads": {k: sorted(h["op"] for h in v) for k, v in state["heads"].items()},
        "deleted": bool(state.get("deleted")),
        "signed": (state.get("signed") or {}).get("op"),
    }
