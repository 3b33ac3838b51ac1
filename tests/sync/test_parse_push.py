"""Reading a push body (`protocol.parse_push`): pydantic reads it first, and whatever it
refuses or cannot tell apart from a missing field is read again by hand, so the server
answers exactly what it answered before: the same ops, or the same refusal in words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fieldkit.sync.protocol import _parse_push_by_hand, parse_push, push_body
from hypothesis import given, settings

from fieldkit.changelog import OP_COLUMNS, Op
from fieldkit.crypto import b64
from tests.sync.conftest import drawn_ops


def _wire(**changed: Any) -> dict[str, Any]:
    op = {
        "op_id": "o1",
        "device_id": "d1",
        "seq": 1,
        "hlc": "0001764000000000.000000",
        "author": "jsmith",
        "case_id": "C-1",
        "entity": "visit",
        "entity_id": "v1",
        "action": "upsert",
        "key_id": "k1",
        "body": b64(b"sealed body"),
        "prev_hash": "0" * 64,
        "hash": "a" * 64,
        "sig": b64(b"s" * 64),
    }
    op.update(changed)
    return {k: v for k, v in op.items() if v is not ...}


def _answer(body: bytes, read: Any) -> Any:
    try:
        return read(body)
    except ValueError as exc:
        return f"refused: {exc}"


@settings(max_examples=150, deadline=None)
@given(drawn_ops(max_size=5, signed=True))
def test_the_ops_read_are_those_the_hand_reading_gives(ops: list[Op]) -> None:
    """Any text (escapes, non-ASCII, lone surrogates), any seq in range, any bytes."""
    wire = push_body(ops)
    assert parse_push(wire) == _parse_push_by_hand(wire) == ops


BAD = {
    "seq as text": _wire(seq="1"),
    "seq true": _wire(seq=True),
    "seq 1.0": _wire(seq=1.0),
    "seq 0": _wire(seq=0),
    "seq 2**63": _wire(seq=2**63),
    "op_id a number": _wire(op_id=5),
    "author null": _wire(author=None),
    "no hash": _wire(hash=...),
    "no sig": _wire(sig=...),
    "no body": _wire(body=...),
    "sig not base64": _wire(sig="Q"),
    "body a list": _wire(body=[1]),
}


@pytest.mark.parametrize("op", BAD.values(), ids=BAD.keys())
def test_a_malformed_op_is_refused_in_the_hand_readings_words(op: dict[str, Any]) -> None:
    body = json.dumps({"ops": [_wire(op_id="o0"), op]}).encode()
    answer = _answer(body, parse_push)
    assert answer == _answer(body, _parse_push_by_hand)
    assert str(answer).startswith("refused: op 1")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"ops": 1}', b'{"ops": [1]}', b"[" * 100_000, b"\xff"],
    ids=["not json", "a list", "ops a number", "an op a number", "deep", "not utf-8"],
)
def test_a_body_that_is_no_push_is_refused_as_before(body: bytes) -> None:
    answer = _answer(body, parse_push)
    assert answer == _answer(body, _parse_push_by_hand)
    assert str(answer).startswith("refused: ")


def test_what_only_the_hand_reading_accepts_is_still_accepted() -> None:
    """An empty hash (present, so not a missing field), a lone surrogate in a text, and
    base64 with pad bits set: pydantic refuses or cannot tell them apart; the hand reading
    gives what it always gave (and the chain check refuses the op for its hash)."""
    for op in (_wire(hash=""), _wire(entity_id="\ud800"), _wire(body="QR==")):
        body = json.dumps({"ops": [op]}).encode()
        assert parse_push(body) == _parse_push_by_hand(body)
    assert parse_push(json.dumps({"ops": [_wire(body="QR==")]}).encode())[0].body == b"A"


def test_base64_without_padding_reads_as_the_same_bytes() -> None:
    """The one body read otherwise than by hand (which refused it): unpadded base64 is
    the same bytes as the padded text; the op's hash covers the canonical text of those
    bytes, so what is stored and checked is the same either way (docs/decisions.md)."""
    padded = _wire(body=b64(b"ab"), sig=b64(b"s" * 64))
    bare = _wire(body=b64(b"ab").rstrip("="), sig=b64(b"s" * 64).rstrip("="))
    read = parse_push(json.dumps({"ops": [bare]}).encode())
    assert read == parse_push(json.dumps({"ops": [padded]}).encode())
    assert [op.body for op in read] == [b"ab"] and read[0].sig == b"s" * 64
    assert dict(zip(OP_COLUMNS, read[0].row(), strict=True))["seq"] == 1
