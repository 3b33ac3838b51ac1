"""The laptop's push sends the next batch while it records the answer to the one before:
the server still sees the batches one at a time and in order, and an op leaves the outbox
only with the server's signed answer naming it (sync/push_outbox.py `_send_batches`)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fieldkit.sync.client import SyncRefused, run_sync
from fieldkit.sync.protocol import push_body, receipt_message
from hypothesis import given, settings

from fieldkit.changelog import Op
from fieldkit.crypto import b64, unb64
from fieldkit.errors import OfflineError
from fieldkit.store import Store
from tests.sync.conftest import Agency, drawn_ops, own_ids, server_op_ids, synced_team


def _write(worker: Store, count: int) -> list[str]:
    return [
        worker.record("C-1", "visit", f"v{n % 7}", {"notes": f"note {n}"}).op_id
        for n in range(count)
    ]


def _answered(response: httpx.Response, content: bytes) -> httpx.Response:
    """The server's answer with another body (its length header left to httpx)."""
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    return httpx.Response(response.status_code, headers=headers, content=content)


class Pushes(httpx.HTTPTransport):
    """Counts pushes in flight (never more than one) and can spoil the Nth answer: lose it
    (the server stored the batch) or alter its receipt's signature."""

    def __init__(self, lose: int = 0, forge: int = 0) -> None:
        super().__init__()
        self.lose, self.forge = lose, forge
        self.pushes = self.in_flight = self.most_in_flight = 0
        self.sent: list[list[int]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/push":
            return super().handle_request(request)
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.pushes += 1
            number = self.pushes
        self.sent.append([op["seq"] for op in json.loads(request.read())["ops"]])
        try:
            response = super().handle_request(request)
            content = response.read()
        finally:
            with self._lock:
                self.in_flight -= 1
        if number == self.lose:
            raise httpx.ReadError("connection reset by peer")
        if number == self.forge:
            answer = json.loads(content)
            sig = answer["receipt"]["sig"]
            answer["receipt"]["sig"] = ("B" if sig[0] != "B" else "C") + sig[1:]
            content = json.dumps(answer).encode()
        return _answered(response, content)


def test_batches_go_one_at_a_time_in_chain_order(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _write(worker, 230)
    seen: list[tuple[int, int | None]] = []
    transport = Pushes()
    got = run_sync(
        worker,
        lambda phase, done, total: seen.append((done, total)) if phase == "push" else None,
        transport=transport,
        batch_size=50,
    )
    assert got.pushed == 230 and got.waiting == 0
    assert transport.most_in_flight == 1
    sent = [seq for batch in transport.sent for seq in batch]
    assert sent == sorted(sent) and len(sent) == len(set(sent)) == 230
    assert [len(batch) for batch in transport.sent] == [50, 50, 50, 50, 30]
    assert seen == [(0, 230), (50, 230), (100, 230), (150, 230), (200, 230), (230, 230)]
    assert set(server_op_ids(agency.engine)) >= own_ids(worker)


def test_a_lost_answer_mid_pipeline_leaves_its_ops_and_those_after_in_the_outbox(
    agency: Agency,
) -> None:
    sup, worker = synced_team(agency)
    written = _write(worker, 200)
    transport = Pushes(lose=3)
    with pytest.raises(OfflineError, match="100 changes waiting to sync; nothing lost"):
        run_sync(worker, transport=transport, batch_size=50)
    # Two answers recorded; the third batch is stored but unacknowledged; the fourth was
    # never sent, since the answer to the one before it never came.
    assert transport.pushes == 3
    assert worker.outbox_count() == 100
    waiting = {op.op_id for op in worker.ops("local")}
    assert waiting == set(written[100:])
    on_server = set(server_op_ids(agency.engine))
    assert set(written[:150]) <= on_server and not set(written[150:]) & on_server
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed, again.waiting) == (50, 50, 0)


def test_a_receipt_that_does_not_verify_mid_pipeline_marks_nothing_of_its_batch(
    agency: Agency,
) -> None:
    sup, worker = synced_team(agency)
    written = _write(worker, 200)
    transport = Pushes(forge=2)
    with pytest.raises(SyncRefused, match="receipt does not verify"):
        run_sync(worker, transport=transport, batch_size=50)
    assert transport.pushes == 2  # nothing more is sent after it
    assert {op.op_id for op in worker.ops("local")} == set(written[50:])
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed, again.waiting) == (50, 100, 0)


class Replays(httpx.HTTPTransport):
    """Answers one push with an earlier, genuine answer (its receipt verifies), or with its
    own answer naming one more op the laptop never sent (acknowledged, or refused)."""

    def __init__(
        self, replay: int = 0, stretch: int = 0, extra: str = "", status: str = "accepted"
    ) -> None:
        super().__init__()
        self.replay, self.stretch, self.extra, self.status = replay, stretch, extra, status
        self.answers: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/push":
            return super().handle_request(request)
        response = super().handle_request(request)
        content = response.read()
        self.answers.append(content)
        number = len(self.answers)
        if number == self.replay:
            content = self.answers[0]
        if number == self.stretch:
            answer = json.loads(content)
            answer["results"].append({"op_id": self.extra, "status": self.status})
            content = json.dumps(answer).encode()
        return _answered(response, content)


def test_an_earlier_answer_replayed_for_a_later_batch_marks_nothing_of_it(
    agency: Agency,
) -> None:
    # The first batch's answer is genuine and its receipt verifies, but it proves the server
    # holds ops 1-50, not the second batch's 51-100.
    sup, worker = synced_team(agency)
    written = _write(worker, 150)
    transport = Replays(replay=2)
    with pytest.raises(SyncRefused, match="does not cover the changes it acknowledged"):
        run_sync(worker, transport=transport, batch_size=50)
    assert len(transport.answers) == 2  # the third batch never left
    assert {op.op_id for op in worker.ops("local")} == set(written[50:])
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed, again.waiting) == (50, 50, 0)


def test_an_answer_acknowledging_an_op_it_was_not_sent_marks_nothing(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    written = _write(worker, 100)
    # The answer to the first batch also calls accepted an op of the second, not yet sent.
    transport = Replays(stretch=1, extra=written[70])
    with pytest.raises(SyncRefused, match="does not cover the changes it acknowledged"):
        run_sync(worker, transport=transport, batch_size=50)
    assert len(transport.answers) == 1
    assert {op.op_id for op in worker.ops("local")} == set(written)
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed, again.waiting) == (50, 50, 0)


def test_an_answer_refusing_an_op_it_was_not_sent_quarantines_nothing(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    written = _write(worker, 100)
    transport = Replays(stretch=1, extra=written[70], status="rejected")
    with pytest.raises(SyncRefused, match="does not cover the changes it acknowledged"):
        run_sync(worker, transport=transport, batch_size=50)
    assert {op.op_id for op in worker.ops("local")} == set(written)
    assert worker.quarantined() == []
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed, again.waiting) == (50, 50, 0)


class Misnamed(httpx.HTTPTransport):
    """Answers the first push with a receipt the server's own key signs, for a head that is
    not this laptop's op at that position (a server holding another chain there)."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        super().__init__()
        self.key = key

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/push":
            return super().handle_request(request)
        response = super().handle_request(request)
        answer = json.loads(response.read())
        receipt = answer["receipt"]
        receipt["head"] = "ab" * 32
        message = receipt_message(
            receipt["device_id"], receipt["seq"], receipt["head"], receipt["issued_ms"]
        )
        receipt["sig"] = b64(self.key.sign(message))
        return _answered(response, json.dumps(answer).encode())


def test_a_signed_receipt_naming_another_head_marks_nothing(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    written = _write(worker, 20)
    with agency.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT value FROM settings WHERE key='receipt_key'").scalar()
    key = Ed25519PrivateKey.from_private_bytes(unb64(raw))
    with pytest.raises(SyncRefused, match="does not cover the changes it acknowledged"):
        run_sync(worker, transport=Misnamed(key), batch_size=50)
    assert {op.op_id for op in worker.ops("local")} == set(written)
    again = run_sync(worker, batch_size=50)
    assert (again.duplicates, again.pushed, again.waiting) == (20, 0, 0)


class SaveDuringSync(httpx.HTTPTransport):
    """Writes an op on the laptop once the sync has checked the chain (at its hello)."""

    def __init__(self, worker: Store) -> None:
        super().__init__()
        self.worker = worker
        self.written: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/hello" and not self.written:
            self.written.append(self.worker.record("C-1", "visit", "late", {"n": 1}).op_id)
        return super().handle_request(request)


def test_an_op_saved_after_the_check_is_pushed_in_the_same_sync(agency: Agency) -> None:
    sup, worker = synced_team(agency)
    _write(worker, 60)
    transport = SaveDuringSync(worker)
    got = run_sync(worker, transport=transport, batch_size=50)
    assert transport.written and got.pushed == 61 and got.waiting == 0
    assert transport.written[0] in set(server_op_ids(agency.engine))


@settings(max_examples=150, deadline=None)
@given(drawn_ops(max_size=4))
def test_a_push_body_is_the_bytes_json_dumps_writes(ops: list[Op]) -> None:
    """Every text field drawn (quotes, control characters, any plane): each is escaped as
    `json.dumps` escapes it, the two binary fields base64 as the wire writes them."""
    expected = json.dumps({"ops": [op.to_wire() for op in ops]}, separators=(",", ":"))
    assert push_body(ops) == expected.encode()


def test_a_push_body_writes_a_field_of_another_type_as_json_dumps_does() -> None:
    odd = Op("o1", "dev", 3, "h", None, "C-1", "visit", "v1", "put", "k1", b"x", "0", "f", b"")  # type: ignore[arg-type]
    assert push_body([odd]) == json.dumps({"ops": [odd.to_wire()]}, separators=(",", ":")).encode()
