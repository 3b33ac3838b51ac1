"""Verification: every hash link, sequence number and signature of the log, and the folded
state rebuilt from the log to compare with what is stored."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from fieldkit import changelog
from fieldkit.changelog import OP_SELECT, Op, OpMeta
from fieldkit.crypto import CryptoError
from fieldkit.sigcheck import BackgroundCheck
from fieldkit.store.log import LogStore
from fieldkit.store.schema import hex_of, ops_from_rows

Row = tuple[Any, ...]
"""An op as read, in `OP_COLUMNS` order (its two hashes as raw bytes)."""
_DEVICE, _OP_ID, _ENTITY = itemgetter(1), itemgetter(0), itemgetter(5, 6, 7)


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
            chains: dict[str, list[Row]] = {}
            unmarked: dict[str, list[tuple[str, bytes]]] = {}
            with self._lock:
                cursor = self._conn.execute(
                    f"SELECT {OP_SELECT} FROM ops ORDER BY device_id, seq, rowid"
                )
                while rows := cursor.fetchmany(READ_STEP):
                    for device_id, group in groupby(rows, _DEVICE):
                        read = list(group)
                        chains.setdefault(device_id, []).extend(read)
                        below = mark.get(device_id)
                        if below is not None:
                            read = [row for row in read if row[2] > below[0]]
                        items = [
                            (h.hex() if type(h) is bytes else hex_of(h), row[13])
                            for row in read
                            for h in (row[12],)
                        ]
                        unmarked.setdefault(device_id, []).extend(items)
                        sign_pub = keys.get(device_id)
                        if items and sign_pub is not None and not self.plaintext:
                            signatures.start(sign_pub, items)
            present = set(map(_OP_ID, (row for chain in chains.values() for row in chain)))
            report.ops = len(present)
            report.devices = len(chains)
            counted = self._count_problems(chains, present)
            for device_id, chain in chains.items():
                sign_pub = keys.get(device_id)
                if (
                    sign_pub is not None
                    and not self.plaintext
                    and _holds_to_mark(chain, mark.get(device_id))
                    and changelog.stored_chain_holds(chain, gaps=device_id != self.device_id)
                    and not signatures.check(sign_pub, unmarked.get(device_id, []))
                ):
                    continue  # every hash, link and signature checks: nothing to name
                ops = ops_from_rows(chain)
                mark_here = mark.get(device_id)
                report.problems += self._verify_chain(
                    device_id,
                    ops,
                    sign_pub,
                    _cut(ops, mark_here),
                    mark_here,
                    signatures.check,
                )
        report.problems += counted
        if report.ok:
            self._seal_verify_mark(
                {dev: (chain[-1][2], hex_of(chain[-1][12])) for dev, chain in chains.items()}
            )
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
        self, chains: dict[str, list[Row]], present: set[str]
    ) -> list[VerifyProblem]:
        """Each entity whose sealed fold state was built from more ops than the log holds
        for it (or from an op it no longer holds): an op was deleted."""
        held = Counter(map(_ENTITY, (row for chain in chains.values() for row in chain)))
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

    def _seal_verify_mark(self, newest: dict[str, tuple[int, str]]) -> None:
        if self.plaintext:
            return
        mark = {dev: [seq, digest] for dev, (seq, digest) in newest.items()}
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


def _holds_to_mark(chain: list[Row], mark: tuple[int, str] | None) -> bool:
    """The stored chain reaches the sealed mark as it was sealed (no mark: nothing to
    hold to); what `_verify_chain` checks of the mark, without an `Op` per row."""
    if mark is None:
        return True
    below = [row for row in chain if row[2] <= mark[0]]
    return not below or (below[-1][2], hex_of(below[-1][12])) == mark


def _canonical(state: dict[str, Any] | None) -> Any:
    if state is None:
        return None
    return {
        "values": changelog.values(state),
        "heads": {k: sorted(h["op"] for h in v) for k, v in state["heads"].items()},
        "deleted": bool(state.get("deleted")),
        "signed": (state.get("signed") or {}).get("op"),
    }
