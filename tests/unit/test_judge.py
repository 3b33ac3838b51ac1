"""The server's per-op decision of a push, without a database (sync/server/judge.py)."""

from __future__ import annotations

from fieldkit.sync.server.common import Caller
from fieldkit.sync.server.judge import Facts, Verdict, judge

from fieldkit.changelog import GENESIS, Op

WORKER = Caller(device_id="dev-w", user="wanda", role="worker", sign_pub=b"")
SUPERVISOR = Caller(device_id="dev-s", user="sam", role="supervisor", sign_pub=b"")


def chain(n: int, caller: Caller = WORKER, entity: str = "visit", case: str = "C-1") -> list[Op]:
    """n ops of one device, each linked to the one before (hashes are labels here)."""
    ops, prev = [], GENESIS
    for seq in range(1, n + 1):
        op = Op(
            op_id=f"{caller.device_id}-op{seq}",
            device_id=caller.device_id,
            seq=seq,
            hlc=f"hlc{seq}",
            author=caller.user,
            case_id=case,
            entity=entity,
            entity_id="v1",
            action="put",
            key_id="k",
            body=b"",
            prev_hash=prev,
            hash=f"h{seq}",
        )
        ops.append(op)
        prev = op.hash
    return ops


def statuses(verdict: Verdict, ops: list[Op]) -> list[str]:
    return [verdict.results[op.op_id].status for op in ops]


def test_a_linked_chain_on_the_callers_case_is_accepted_and_moves_the_head() -> None:
    ops = chain(3)
    verdict = judge(ops, WORKER, Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}))
    assert statuses(verdict, ops) == ["accepted"] * 3
    assert [op.op_id for op in verdict.accepted] == [op.op_id for op in ops]
    assert (verdict.last_seq, verdict.head) == (3, "h3")
    assert verdict.rejected == []


def test_a_gap_defers_the_ops_behind_it_and_keeps_the_head() -> None:
    ops = chain(3)
    verdict = judge(ops[1:], WORKER, Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}))
    assert statuses(verdict, ops[1:]) == ["deferred", "deferred"]
    assert (verdict.last_seq, verdict.head) == (0, GENESIS)
    assert "waiting for seq 1" in (verdict.results[ops[1].op_id].reason or "")


def test_a_stored_op_is_a_duplicate_and_a_changed_one_is_refused() -> None:
    ops = chain(2)
    facts = Facts(last_seq=2, head="h2", stored={ops[0].op_id: "h1", ops[1].op_id: "other"})
    verdict = judge(ops, WORKER, facts)
    assert statuses(verdict, ops) == ["duplicate", "rejected"]
    assert verdict.accepted == []


def test_a_second_op_at_a_taken_seq_is_a_fork() -> None:
    (op,) = chain(1)
    verdict = judge([op], WORKER, Facts(last_seq=1, head="h-other", on_cases={"C-1"}))
    assert statuses(verdict, [op]) == ["rejected"]
    assert "fork" in (verdict.results[op.op_id].reason or "")
    assert verdict.rejected == []  # the position was not taken: nothing remembered


def test_a_forged_op_takes_its_place_so_the_ops_behind_it_are_judged() -> None:
    ops = chain(2)
    facts = Facts(
        last_seq=0, head=GENESIS, on_cases={"C-1"}, content_problem={ops[0].op_id: "forged"}
    )
    verdict = judge(ops, WORKER, facts)
    assert statuses(verdict, ops) == ["rejected", "accepted"]
    assert verdict.rejected == [(ops[0], "forged")]
    assert (verdict.last_seq, verdict.head) == (2, "h2")


def test_not_on_the_case_and_broken_links_are_refused() -> None:
    ops = chain(1, case="C-9")
    verdict = judge(ops, WORKER, Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}))
    assert "wanda is not on case C-9" in (verdict.results[ops[0].op_id].reason or "")
    verdict = judge(ops, WORKER, Facts(last_seq=0, head="h-x", on_cases={"C-9"}))
    assert "does not link" in (verdict.results[ops[0].op_id].reason or "")


def test_another_devices_op_is_refused() -> None:
    ops = chain(1, caller=SUPERVISOR)
    verdict = judge(ops, WORKER, Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}))
    assert verdict.results[ops[0].op_id].reason == "a device may only push its own ops"


def test_only_the_cases_supervisor_writes_approvals() -> None:
    """A worker's approval is refused; a supervisor's on a case they review is accepted."""
    ops = chain(1, entity="approval")
    verdict = judge(ops, WORKER, Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}))
    assert "wanda is a worker" in (verdict.results[ops[0].op_id].reason or "")
    sup = chain(1, caller=SUPERVISOR, entity="approval")
    facts = Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}, reviewers=set())
    assert "sam does not supervise case C-1" in (
        judge(sup, SUPERVISOR, facts).results[sup[0].op_id].reason or ""
    )
    facts = Facts(last_seq=0, head=GENESIS, on_cases={"C-1"}, reviewers={"C-1"})
    assert statuses(judge(sup, SUPERVISOR, facts), sup) == ["accepted"]
