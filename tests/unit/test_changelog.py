"""The fold: order-independent, duplicate-proof, conflicts kept; HLC and UUIDv7."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit import changelog
from fieldkit.changelog import HybridClock, Op, OpMeta, apply, conflicts, uuid7
from fieldkit.crypto import b64


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


def test_hlc_never_goes_backwards_and_moves_past_a_fast_clock() -> None:
    clock = HybridClock()
    first = clock.now()
    three_days_ahead = changelog.format_hlc(changelog.parse_hlc(first)[0] + 3 * 86_400_000, 0)
    clock.observe(three_days_ahead)
    after = clock.now()
    assert after > three_days_ahead > first
    assert clock.now() > after


def _op(
    op_id: str,
    hlc: str,
    dev: str,
    values: dict[str, object],
    base: dict[str, list[str]] | None = None,
) -> tuple[OpMeta, dict[str, object]]:
    return OpMeta(op_id, hlc, dev, f"user-{dev}", "put"), {"set": values, "base": base or {}}


def test_sequential_edit_supersedes_and_concurrent_edit_is_kept() -> None:
    a = _op("a", "0000000000001.000000", "d1", {"notes": "one", "placement": "home"})
    b = _op("b", "0000000000002.000000", "d1", {"notes": "two"}, {"notes": ["a"]})
    c = _op("c", "0000000000003.000000", "d2", {"notes": "three"}, {"notes": ["a"]})
    state = None
    for meta, body in (a, b, c):
        state = apply(state, meta, body)
    assert state is not None
    assert changelog.value_of(state, "notes") == "three"  # last writer by (hlc, device)
    found = conflicts("visit", "v1", state)
    assert [(f.field, [v["v"] for v in f.versions]) for f in found] == [("notes", ["two", "three"])]
    assert not found[0].critical


def test_a_safety_critical_field_edited_concurrently_needs_resolution() -> None:
    a = _op("a", "0000000000001.000000", "d1", {"placement": {"setting": "kinship"}})
    b = _op(
        "b",
        "0000000000002.000000",
        "d1",
        {"placement": {"setting": "foster"}},
        {"placement": ["a"]},
    )
    c = _op("c", "0000000000002.000001", "d2", {"placement": None}, {"placement": ["a"]})
    state = None
    for meta, body in (a, c, b):
        state = apply(state, meta, body)
    assert state is not None
    (found,) = conflicts("person", "p2", state)
    assert found.critical and found.field == "placement"
    resolve = _op(
        "r",
        "0000000000009.000000",
        "d1",
        {"placement": {"setting": "foster"}},
        {"placement": ["b", "c"]},
    )
    state = apply(state, *resolve)
    assert conflicts("person", "p2", state) == []


OPS = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2", "d3"]),
        st.sampled_from(["notes", "placement", "date"]),
        st.integers(0, 5),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


def _causal_history(
    script: list[tuple[str, str, int, bool]],
) -> tuple[list[tuple[OpMeta, dict[str, object]]], dict[str, Any] | None]:
    """The ops of a script in the order written (each device's op based on the heads it saw
    when `sees_latest`) and the state they fold to in that order."""
    history: list[tuple[OpMeta, dict[str, object]]] = []
    state = None
    for n, (dev, name, value, sees_latest) in enumerate(script):
        base = changelog.head_ops(state, name) if (state and sees_latest) else []
        meta, body = _op(f"op{n:03d}", f"{n:013d}.000000", dev, {name: value}, {name: base})
        history.append((meta, body))
        state = apply(state, meta, body)
    return history, state


@settings(max_examples=60, deadline=None)
@given(OPS, st.randoms(use_true_random=False))
def test_fold_is_order_independent_with_duplicates_dropped_by_the_log(
    script: list[tuple[str, str, int, bool]], rnd: object
) -> None:
    """Build a causal history, then fold it in shuffled orders, duplicates delivered too.

    The log's primary key (op_id) drops a duplicate before the fold, as `Store.ingest` does.
    """
    import random

    assert isinstance(rnd, random.Random)
    history, reference = _causal_history(script)
    for _ in range(4):
        shuffled = history + rnd.sample(history, k=min(3, len(history)))
        rnd.shuffle(shuffled)
        folded = None
        logged: set[str] = set()
        for meta, body in shuffled:
            if meta.op_id in logged:
                continue
            logged.add(meta.op_id)
            folded = apply(folded, meta, body)
        assert folded is not None and reference is not None
        assert changelog.values(folded) == changelog.values(reference)
        assert {k: [h["op"] for h in v] for k, v in folded["heads"].items()} == {
            k: [h["op"] for h in v] for k, v in reference["heads"].items()
        }


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(), min_size=10, max_size=10),
    st.integers(min_value=1, max_value=2**63 - 1),
    st.binary(max_size=300),
)
def test_an_op_hashes_the_bytes_of_the_canonical_json_of_its_fields(
    texts: list[str], seq: int, body: bytes
) -> None:
    """The hash input is `json.dumps(fields, separators=(",", ":"))` byte for byte, for any
    text (quotes, control characters, non-ASCII), and base64 is the standard URL-safe kind:
    every laptop and the server must compute the same hash."""
    import base64
    import hashlib
    import json

    from fieldkit.crypto import b64, unb64

    op_id, device, hlc, author, case_id, entity, entity_id, action, key_id, prev = texts
    op = changelog.Op(
        op_id, device, seq, hlc, author, case_id, entity, entity_id, action, key_id, body, prev
    )
    wire_body = base64.urlsafe_b64encode(body).decode("ascii")
    fields = [
        "fieldkit.op/1",
        *(op_id, device, seq, hlc, author, case_id, entity, entity_id, action, key_id),
        wire_body,
        prev,
    ]
    expected = json.dumps(fields, separators=(",", ":")).encode()
    assert op.digest_input() == expected
    assert op.compute_hash() == hashlib.sha256(expected).hexdigest()
    assert b64(body) == wire_body
    assert unb64(wire_body) == body


def test_the_digest_input_is_the_json_of_the_op_fields() -> None:
    """The body's base64 is spliced into the digest's JSON: the same bytes as encoding it."""
    for author, entity_id, body in [
        ("jsmith", "v1", b"\x00" * 40),
        ('j"smith\\', "v\u00e9\n\u2028", bytes(range(256)) * 3),
        ("\ud7ff\U0001f600", "", b""),
    ]:
        op = Op("o1", "d1", 7, "1.0", author, "C-1", "visit", entity_id, "put", "k", body, "0" * 64)
        fields = [op.op_id, op.device_id, op.seq, op.hlc, op.author, op.case_id, op.entity]
        fields += [op.entity_id, op.action, op.key_id, b64(op.body), op.prev_hash]
        expected = json.dumps(["fieldkit.op/1", *fields], separators=(",", ":")).encode()
        assert op.digest_input() == expected


def test_a_field_of_another_type_is_hashed_as_json_writes_it() -> None:
    """A seq that is not an int, or a field that is not text (an altered op read back),
    is written as `json.dumps` writes it, not as Python formats it."""
    cases = [(True, "1.0", "k"), (7.0, "1.0", "k"), (7, 1.5, "k"), (7, None, "k")]
    for seq, hlc, key_id in [*cases, (7, "1.0", None), (7, "1.0", 5)]:
        op = Op("o1", "d1", seq, hlc, "a", "C-1", "visit", "v1", "put", key_id, b"x", "0" * 64)  # type: ignore[arg-type]
        fields = [op.op_id, op.device_id, op.seq, op.hlc, op.author, op.case_id, op.entity]
        fields += [op.entity_id, op.action, op.key_id, b64(op.body), op.prev_hash]
        expected = json.dumps(["fieldkit.op/1", *fields], separators=(",", ":")).encode()
        assert op.digest_input() == expected, (seq, hlc, key_id)


@settings(max_examples=150, deadline=None)
@given(
    OPS,
    st.randoms(use_true_random=False),
    st.sets(st.sampled_from(["notes", "placement", "date", "new"]), max_size=4),
)
def test_a_fresh_put_over_every_head_folds_as_apply_does(
    script: list[tuple[str, str, int, bool]], rnd: object, names: set[str]
) -> None:
    """`apply_fresh_put` (a save on this device) gives exactly `apply`'s state, dict order
    included, from states with concurrent heads, pending bases and fields new to it."""
    import copy
    import random

    assert isinstance(rnd, random.Random)
    history, _ = _causal_history(script)
    rnd.shuffle(history)
    folded = None
    for meta, body in history[: rnd.randint(1, len(history))]:  # some bases still pending
        folded = apply(folded, meta, body)
    assert folded is not None
    values = {name: f"new-{name}" for name in sorted(names)}
    base = {name: changelog.head_ops(folded, name) for name in values}
    meta, body = _op("op999", "9999999999999.000000", "own", values, base)
    fresh = changelog.apply_fresh_put(copy.deepcopy(folded), meta, values)
    expected = apply(copy.deepcopy(folded), meta, body)
    assert fresh is not None
    assert json.dumps(fresh) == json.dumps(expected)  # same values, same order
    assert list(fresh["heads"]) == list(expected["heads"])


def test_a_fresh_put_over_a_head_named_twice_is_left_to_apply() -> None:
    """A head listed twice (never written by fieldkit, but a state could hold it) would put
    its op in pending under `apply`: the shortcut declines it."""
    import copy

    meta, body = _op("op1", "0000000000001.000000", "d1", {"a": 1})
    state = apply(None, meta, body)
    state["heads"]["a"].append(dict(state["heads"]["a"][0]))
    meta2, _ = _op("op2", "0000000000002.000000", "own", {"a": 2}, {"a": ["op1", "op1"]})
    given = copy.deepcopy(state)
    assert changelog.apply_fresh_put(given, meta2, {"a": 2}) is None
    assert given == state  # declined before changing anything
    assert apply(state, meta2, {"set": {"a": 2}, "base": {"a": ["op1", "op1"]}})["pending"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text() | st.integers() | st.booleans(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_compact_encoder_writes_what_json_dumps_writes(value: object) -> None:
    """Op bodies, entity docs and the digest's input are encoded by an encoder built once:
    byte for byte `json.dumps(..., separators=(",", ":"))`, with `default=str` for the rest."""
    import datetime

    assert changelog.compact_encoder()(value) == json.dumps(value, separators=(",", ":"))
    wrapped = {"v": value, "day": datetime.date(2026, 11, 24)}
    assert changelog.compact_encoder(default=str)(wrapped) == json.dumps(
        wrapped, separators=(",", ":"), default=str
    )


def test_uuid7_holds_its_millisecond_and_random_bits_where_rfc_9562_puts_them() -> None:
    import time

    before = time.time_ns() // 1_000_000
    ids = [uuid.UUID(uuid7()) for _ in range(200)]
    after = time.time_ns() // 1_000_000
    assert all(u.variant == uuid.RFC_4122 and u.version == 7 for u in ids)
    assert all(before <= u.int >> 80 <= after for u in ids)
    assert len({u.int & ((1 << 62) - 1) for u in ids}) == len(ids)  # the random bits vary
    assert all(str(u) == str(u).lower() for u in ids)
