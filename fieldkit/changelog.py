"""The change log: signed ops in a per-device hash chain, and the fold that turns them into state.

Every change of state is an `Op`. Its `hash` covers every other field (the body is the
case-key ciphertext), its `sig` is the device's Ed25519 signature of that hash, and its
`prev_hash` links it to the device's previous op. State is a fold of the ops: each field
of an entity is a multi-value register, so the same ops in any order, with duplicates,
fold to the same state (DESIGN.md "Merge").

Why one module: one format that synced laptops must compute identically: the op and the
bytes its hash covers, the hybrid clock, the fold's order (hlc, then device) and the chain
check. A change to any of them changes what every laptop and the server agree is the state;
they change together.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from dataclasses import field as dc_field
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from fieldkit.crypto import b64, b64_bytes, ed25519_public_from_bytes, unb64, verify_signature

GENESIS = "0" * 64


# Fields no merge may settle on its own: both versions stay until a person chooses
# (DESIGN.md "Merge"; rules SA-1..4, CT-1).
SAFETY_CRITICAL_FIELDS: dict[str, frozenset[str]] = {
    "case": frozenset({"kind"}),
    "person": frozenset({"placement"}),
    "threat": frozenset({"text", "active"}),
    "safety_plan": frozenset({"interventions", "approval", "kind", "active"}),
}


def uuid7() -> str:
    """A time-ordered UUIDv7 (RFC 9562) as text: 48 bits of Unix milliseconds, the version,
    12 random bits, the variant and 62 random bits."""
    raw = bytearray(((time.time_ns() // 1_000_000) & _MS_48).to_bytes(6, "big") + _random(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)  # version 7
    raw[8] = 0x80 | (raw[8] & 0x3F)  # variant 0b10
    text = raw.hex()  # the text of uuid.UUID(bytes=raw), without building one
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_MS_48 = (1 << 48) - 1
_random = os.urandom


class HybridClock:
    """Hybrid logical clock: wall milliseconds plus a counter; never goes backwards.

    A laptop whose clock is days wrong still orders its own ops correctly, and after it
    sees a later op from another device its next op sorts after that one.
    """

    def __init__(self, last: str | None = None) -> None:
        self._lock = threading.Lock()
        self._wall, self._count = parse_hlc(last) if last else (0, 0)

    def now(self) -> str:
        """A timestamp greater than every one this clock has issued or observed."""
        with self._lock:
            wall = time.time_ns() // 1_000_000
            if wall > self._wall:
                self._wall, self._count = wall, 0
            else:
                self._count += 1
            return format_hlc(self._wall, self._count)

    def observe(self, remote: str) -> None:
        """Move past a timestamp seen on another device's op."""
        with self._lock:
            wall, count = parse_hlc(remote)
            if (wall, count) > (self._wall, self._count):
                self._wall, self._count = wall, count


def format_hlc(wall_ms: int, counter: int) -> str:
    """Sortable text form: 13-digit milliseconds, 6-digit counter."""
    return f"{wall_ms:013d}.{counter:06d}"


def parse_hlc(text: str) -> tuple[int, int]:
    """Inverse of `format_hlc`."""
    wall, _, count = text.partition(".")
    return int(wall), int(count or 0)


@dataclass(frozen=True)
class Op:
    """One signed change: who changed what, when, in which case, and how it chains."""

    op_id: str
    device_id: str
    seq: int
    hlc: str
    author: str
    case_id: str
    entity: str
    entity_id: str
    action: str
    key_id: str
    body: bytes
    prev_hash: str
    hash: str = ""
    sig: bytes = b""

    def digest_input(self) -> bytes:
        """The canonical bytes the hash covers: every field but `hash` and `sig`."""
        return _digest_input(
            self.op_id,
            self.device_id,
            self.seq,
            self.hlc,
            self.author,
            self.case_id,
            self.entity,
            self.entity_id,
            self.action,
            self.key_id,
            self.body,
            self.prev_hash,
        )

    def compute_hash(self) -> str:
        """SHA-256 over `digest_input`, hex."""
        return hashlib.sha256(self.digest_input()).hexdigest()

    def signed_as(self, digest: str, sig: bytes) -> Op:
        """The same op with its hash and signature (without `replace`'s introspection)."""
        return Op(
            self.op_id,
            self.device_id,
            self.seq,
            self.hlc,
            self.author,
            self.case_id,
            self.entity,
            self.entity_id,
            self.action,
            self.key_id,
            self.body,
            self.prev_hash,
            digest,
            sig,
        )

    def row(self) -> tuple[Any, ...]:
        """The op's fields in `OP_COLUMNS` order, for an INSERT."""
        return (
            self.op_id,
            self.device_id,
            self.seq,
            self.hlc,
            self.author,
            self.case_id,
            self.entity,
            self.entity_id,
            self.action,
            self.key_id,
            self.body,
            self.prev_hash,
            self.hash,
            self.sig,
        )

    def with_hash(self) -> Op:
        """The same op with its hash filled in."""
        return replace(self, hash=self.compute_hash())

    def to_wire(self) -> dict[str, Any]:
        """JSON form for sync and export."""
        return {
            "op_id": self.op_id,
            "device_id": self.device_id,
            "seq": self.seq,
            "hlc": self.hlc,
            "author": self.author,
            "case_id": self.case_id,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "action": self.action,
            "key_id": self.key_id,
            "body": b64(self.body),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "sig": b64(self.sig),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Op:
        """Inverse of `to_wire`."""
        return cls(
            op_id=str(data["op_id"]),
            device_id=str(data["device_id"]),
            seq=int(data["seq"]),
            hlc=str(data["hlc"]),
            author=str(data["author"]),
            case_id=str(data["case_id"]),
            entity=str(data["entity"]),
            entity_id=str(data["entity_id"]),
            action=str(data["action"]),
            key_id=str(data["key_id"]),
            body=unb64(str(data["body"])),
            prev_hash=str(data["prev_hash"]),
            hash=str(data["hash"]),
            sig=unb64(str(data["sig"])),
        )

    @property
    def short(self) -> str:
        """How an op is named to a person: device, seq and id."""
        return f"op {self.op_id} (device {self.device_id[:8]}, seq {self.seq})"


_text = encode_basestring_ascii  # what `json.dumps` writes for a str


def compact_encoder(default: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """`json.dumps(value, separators=(",", ":"), default=default)` as one function, its
    encoder built once (the C one where Python has it; `json.dumps` builds one per call).
    Circular values are not looked for: what is encoded is JSON from a form, a file or the
    wire."""
    encoder = json.JSONEncoder(separators=(",", ":"), default=default, check_circular=False)
    if c_make_encoder is None:  # pragma: no cover - a Python without the accelerator
        return encoder.encode
    make = c_make_encoder(
        None, encoder.default, encode_basestring_ascii, None, ":", ",", False, False, True
    )

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return str(encode_basestring_ascii(value))
        return "".join(make(value, 0))

    return encode


_COMPACT = compact_encoder()


def _digest_input(*unsigned: Any) -> bytes:
    """`Op.digest_input` of an op's fields but `hash` and `sig`, in `OP_COLUMNS` order:
    `json.dumps(["fieldkit.op/1", *fields, b64(body), prev_hash], separators=(",", ":"))`.

    The body's base64 is spliced in rather than scanned by the encoder (most of the
    bytes, and URL-safe base64 holds no character JSON escapes), the same bytes. Text
    fields and an int `seq` are written by `json`'s own string escaper, without building
    the encoder's list (a pull hashes 5,000 ops); anything else goes through the encoder."""
    (op_id, device_id, seq, hlc, author, case_id, entity, entity_id, action, key_id) = unsigned[:10]
    body, prev_hash = unsigned[10], unsigned[11]
    if type(seq) is int:
        try:
            head = (
                f'["fieldkit.op/1",{_text(op_id)},{_text(device_id)},{seq},{_text(hlc)},'
                f"{_text(author)},{_text(case_id)},{_text(entity)},{_text(entity_id)},"
                f'{_text(action)},{_text(key_id)},"'
            )
            # ASCII text (the escaper writes \uXXXX), the base64 as bytes: no text copy
            return head.encode() + b64_bytes(body) + f'",{_text(prev_hash)}]'.encode()
        except TypeError:
            pass  # a field that is not text: the encoder writes it as json.dumps would
    head = _COMPACT(["fieldkit.op/1", *unsigned[:10]])
    return f'{head[:-1]},"{b64(body)}",{_COMPACT(prev_hash)}]'.encode()


def signed_op(
    op_id: str,
    device_id: str,
    seq: int,
    hlc: str,
    author: str,
    case_id: str,
    entity: str,
    entity_id: str,
    action: str,
    key_id: str,
    body: bytes,
    prev_hash: str,
    sign_key: Any | None,
) -> Op:
    """A new op, hashed and signed by `sign_key` (unsigned when None: the benchmark's
    plaintext profile), built once: a save makes no unsigned copy first."""
    digest = hashlib.sha256(
        _digest_input(
            op_id,
            device_id,
            seq,
            hlc,
            author,
            case_id,
            entity,
            entity_id,
            action,
            key_id,
            body,
            prev_hash,
        )
    ).hexdigest()
    sig = b"" if sign_key is None else sign_key.sign(digest.encode())
    op: Op = _new(Op)  # `Op(...)` without the frozen class's fourteen `__setattr__` calls
    op.__dict__.update(
        op_id=op_id,
        device_id=device_id,
        seq=seq,
        hlc=hlc,
        author=author,
        case_id=case_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        key_id=key_id,
        body=body,
        prev_hash=prev_hash,
        hash=digest,
        sig=sig,
    )
    return op


_new = object.__new__


# --- the fold -------------------------------------------------------------------------


OP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Op))
"""The op's fields in order: its wire keys, and the columns of the laptop's and the
server's op tables (`Op(*row)` reads a row selected in this order)."""
OP_SELECT = ", ".join(OP_COLUMNS)
"""`OP_COLUMNS` as a SQL select list."""


@dataclass(frozen=True)
class OpMeta:
    """What the fold needs of an op besides its decrypted body."""

    op_id: str
    hlc: str
    device_id: str
    author: str
    action: str


def _version(meta: OpMeta, value: Any) -> dict[str, Any]:
    return {"v": value, "op": meta.op_id, "hlc": meta.hlc, "dev": meta.device_id, "by": meta.author}


def _order(version: dict[str, Any]) -> tuple[str, str, str]:
    return (version["hlc"], version["dev"], version["op"])


def empty_state() -> dict[str, Any]:
    """An entity before any op."""
    return {"heads": {}, "pending": {}, "n": 0, "last": "", "deleted": None, "signed": None}


def _already_applied(st: dict[str, Any], op_id: str) -> bool:
    for heads in st["heads"].values():
        for head in heads:
            if head["op"] == op_id:
                return True
    return any((st.get(mark) or {}).get("op") == op_id for mark in ("deleted", "signed"))


def apply(state: dict[str, Any] | None, meta: OpMeta, body: dict[str, Any]) -> dict[str, Any]:
    """Fold one op into an entity's state; the result does not depend on arrival order.

    Each field keeps its *heads*: versions no other version has superseded. A put
    supersedes the versions named in its `base` (what the writer saw). One head is the
    value; several heads are concurrent edits, kept, never dropped. A base that has not
    arrived yet waits in `pending`, so a late op it superseded never becomes a head.
    The log (op ids are its primary key) is what keeps a duplicate op out; this fold
    also ignores an op it can still see in its heads.
    """
    st = state if state is not None else empty_state()
    if _already_applied(st, meta.op_id):
        return st
    st["n"] = st.get("n", 0) + 1
    st["last"] = max(st.get("last", ""), meta.op_id)
    if meta.action == "delete":
        current = st["deleted"]
        if current is None or _order(_version(meta, None)) > _order(current):
            st["deleted"] = _version(meta, True)
        return st
    if meta.action == "sign":
        current = st["signed"]
        mark = _version(meta, body.get("content_hash"))
        if current is None or _order(mark) < _order(current):
            st["signed"] = mark
        return st
    base: dict[str, list[str]] = body.get("base") or {}
    pending_all: dict[str, list[str]] = st.setdefault("pending", {})
    all_heads: dict[str, list[dict[str, Any]]] = st["heads"]
    op_id = meta.op_id
    for name, value in (body.get("set") or {}).items():
        heads = all_heads.get(name)
        if heads is None:
            heads = all_heads[name] = []
        pending = pending_all.get(name, [])
        for superseded in base.get(name) or ():
            kept = [h for h in heads if h["op"] != superseded]
            if len(kept) == len(heads) and superseded not in pending:
                bisect.insort(pending, superseded)
            heads[:] = kept
        if pending and op_id in pending:
            pending.remove(op_id)
        else:
            heads.append(
                {"v": value, "op": op_id, "hlc": meta.hlc, "dev": meta.device_id, "by": meta.author}
            )
            if len(heads) > 1:  # one version is in order already
                heads.sort(key=_order)
        if pending:
            pending_all[name] = pending
        elif name in pending_all:
            del pending_all[name]
    return st


def apply_fresh_put(
    state: dict[str, Any], meta: OpMeta, values: dict[str, Any]
) -> dict[str, Any] | None:
    """`apply` of a new put whose base names every current head of each field it sets
    (what a save on this device writes), without `apply`'s searches: each field's heads
    become its one new version, and its pending bases stay as they are. The op is new (the
    log's primary key refused it otherwise), so no head and no pending base names it. None
    where this would not give `apply`'s result (a head named twice): fold it with `apply`."""
    return fresh_put(state, meta.op_id, meta.hlc, meta.device_id, meta.author, values)


def fresh_put(
    state: dict[str, Any],
    op_id: str,
    hlc: str,
    dev: str,
    by: str,
    values: dict[str, Any],
    base: dict[str, list[str]] | None = None,
) -> dict[str, Any] | None:
    """`apply_fresh_put` of the op's fields as they are (a save builds no `OpMeta`);
    `base` is the put's (`fresh_base` of this state), when the caller has it."""
    all_heads: dict[str, list[dict[str, Any]]] = state["heads"]
    if base is None:
        base = {name: [h["op"] for h in all_heads.get(name) or ()] for name in values}
    for ops in base.values():
        if len(ops) > 1 and len(set(ops)) < len(ops):
            return None
    if "pending" not in state:
        state["pending"] = {}
    state["n"] = state.get("n", 0) + 1
    state["last"] = max(state.get("last", ""), op_id)
    for name, value in values.items():
        all_heads[name] = [{"v": value, "op": op_id, "hlc": hlc, "dev": dev, "by": by}]
    return state


_STATE_KEYS = ("heads", "pending", "n", "last", "deleted", "signed")
"""A fold state's keys in `empty_state`'s order (`unpack_state` keeps it)."""

_BASE_PIECES: dict[tuple[str, ...], tuple[str, ...]] = {}
"""`WholePut.body_json`'s text around a put's values and the op id its base names, by the
names of the fields in order (a few forms: a few entries)."""
_PIECES_MAX = 256


class WholePut:
    """The fold state of an entity whose every field holds one version, all set by one put
    and nothing else (no pending base, delete or sign mark): what saving a form whole
    leaves. A store keeps its own saves' states in this form (`LogStore.record`): the next
    save of the same fields needs its base, body and doc, never the state's version of each
    field, which `state()` builds when anything else is asked."""

    __slots__ = ("by", "dev", "hlc", "last", "n", "names", "op_id", "values")

    def __init__(
        self,
        names: tuple[str, ...],
        values: dict[str, Any],
        op_id: str,
        hlc: str,
        dev: str,
        by: str,
        n: int,
        last: str,
    ) -> None:
        self.names = names  # the fields in the state's order (the first put's)
        self.values = values  # a shallow copy, as the general state holds: keys not shared
        self.op_id, self.hlc, self.dev, self.by = op_id, hlc, dev, by
        self.n, self.last = n, last

    @classmethod
    def of(cls, state: dict[str, Any], values: dict[str, Any]) -> WholePut | None:
        """The state `fresh_put` just folded from a put of `values`, if the put set every
        field it holds and it holds nothing else; else None (keep the state itself)."""
        heads = state["heads"]
        count, last = state.get("n"), state.get("last")
        if (
            not heads
            or values.keys() != heads.keys()
            or tuple(state) != _STATE_KEYS
            or state["pending"]
            or state["deleted"] is not None
            or state["signed"] is not None
            or type(count) is not int
            or type(last) is not str
        ):
            return None
        head = next(iter(heads.values()))[0]
        op_id, hlc, dev, by = head["op"], head["hlc"], head["dev"], head["by"]
        if not all(type(x) is str for x in (op_id, hlc, dev, by, *heads)):
            return None
        for name, versions in heads.items():  # each field: the one version this put set
            if len(versions) != 1 or versions[0] != {
                "v": values[name],
                "op": op_id,
                "hlc": hlc,
                "dev": dev,
                "by": by,
            }:
                return None
        return cls(tuple(heads), dict(values), op_id, hlc, dev, by, count, last)

    def state(self) -> dict[str, Any]:
        """The fold state itself, as `apply` gives it."""
        op_id, hlc, dev, by, values = self.op_id, self.hlc, self.dev, self.by, self.values
        heads = {
            name: [{"v": values[name], "op": op_id, "hlc": hlc, "dev": dev, "by": by}]
            for name in self.names
        }
        return {
            "heads": heads,
            "pending": {},
            "n": self.n,
            "last": self.last,
            "deleted": None,
            "signed": None,
        }

    def sets_every_field(self, values: dict[str, Any]) -> bool:
        """A put of `values` sets every field this state holds and no other."""
        return values.keys() == self.values.keys()

    def body_json(self, values: dict[str, Any], encode: Callable[[Any], str]) -> str:
        """`encode({"set": values, "base": base})` of a put of `values` over this state
        (`sets_every_field`): each field's base is this state's one op (`fresh_base`)."""
        names = tuple(values)
        pieces = _BASE_PIECES.get(names)
        if pieces is None:  # the text between the op ids: `,"base":{"a":[`, `],"b":[`, `]}}`
            keys = [_text(name) for name in names]
            pieces = (
                f',"base":{{{keys[0]}:[',
                *(f"],{key}:[" for key in keys[1:]),
                "]}}",
            )
            if len(_BASE_PIECES) >= _PIECES_MAX:
                _BASE_PIECES.clear()
            _BASE_PIECES[names] = pieces
        return '{"set":' + encode(values) + _text(self.op_id).join(pieces)

    def then(self, values: dict[str, Any], op_id: str, hlc: str, dev: str, by: str) -> WholePut:
        """`fresh_put` of a put of `values` (`sets_every_field`) by a new op."""
        return WholePut(
            self.names, dict(values), op_id, hlc, dev, by, self.n + 1, max(self.last, op_id)
        )


def value_of(state: dict[str, Any], name: str, default: Any = None) -> Any:
    """The field's value: the last writer by (hlc, device) among its heads."""
    heads = state["heads"].get(name)
    if not heads:
        return default
    return heads[-1]["v"]


def values(state: dict[str, Any]) -> dict[str, Any]:
    """Every field's current value."""
    return {name: heads[-1]["v"] for name, heads in state["heads"].items() if heads}


def fresh_base(state: dict[str, Any], values: dict[str, Any]) -> dict[str, list[str]]:
    """The `base` of a put of `values` over `state`: `head_ops` of each field it sets."""
    all_heads: dict[str, list[dict[str, Any]]] = state["heads"]
    base: dict[str, list[str]] = {}
    for name in values:
        heads = all_heads.get(name)
        if not heads:
            base[name] = []
        elif len(heads) == 1:  # most fields: no list comprehension's frame
            base[name] = [heads[0]["op"]]
        else:
            base[name] = [h["op"] for h in heads]
    return base


def head_ops(state: dict[str, Any], name: str) -> list[str]:
    """The op ids a new write to `name` supersedes (its base)."""
    return [h["op"] for h in state["heads"].get(name, [])]


@dataclass(frozen=True)
class FieldConflict:
    """Concurrent versions of one field; `critical` ones wait for a person (DESIGN.md)."""

    entity: str
    entity_id: str
    field: str
    critical: bool
    versions: list[dict[str, Any]] = dc_field(default_factory=list)

    @property
    def winner(self) -> dict[str, Any]:
        """For ordinary fields: the last writer by (hlc, device)."""
        return self.versions[-1]


def conflicts(entity: str, entity_id: str, state: dict[str, Any]) -> list[FieldConflict]:
    """Fields with more than one head; safety-critical ones are never auto-resolved."""
    critical = SAFETY_CRITICAL_FIELDS.get(entity, frozenset())
    found = []
    for name, heads in sorted(state["heads"].items()):
        if len(heads) > 1:
            found.append(FieldConflict(entity, entity_id, name, name in critical, list(heads)))
    return found


def content_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of exactly this content, for signatures and approvals to bind to."""
    return hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


# --- the chain check -------------------------------------------------------------------
#
# One checker for every place a device's chain is trusted: `fieldkit verify`, the laptop's
# check of its own chain before a push, the server's push and the laptop's pull.
#
# A device's ops form a chain: each op's hash covers its `prev_hash`, the hash of the op
# before it. So the signature of the newest op of an unbroken run covers, through the
# hashes, the content of every earlier op of that run: checking every hash and link and
# that one signature proves what checking every signature proves (docs/decisions.md
# "One signature per linked run"). Where a run's newest signature fails, every op of the
# run is checked on its own, so the ops that are not what the device signed are named.

TAMPERED = "tampered"
BAD_SEQ = "bad_seq"
BROKEN_LINK = "broken_link"
FORGED = "forged"
UNKNOWN_DEVICE = "unknown_device"

HASH_PROBLEM = "its content does not match its hash: the op was altered or moved out of order"
LINK_PROBLEM = "it does not link to the op before it: an op was deleted, inserted or reordered"
SIGNATURE_PROBLEM = "its signature does not verify with its device's key: forged"
UNKNOWN_DEVICE_PROBLEM = "it was signed by a device this profile does not know"

SignatureCheck = Callable[[bytes, list[tuple[str, bytes]]], set[int]]
"""(device public key, [(hash, signature)]) → indexes whose signature does not verify."""


@dataclass(frozen=True)
class ChainProblem:
    """One op of a chain that fails its check: the op, the cause and why, in words."""

    op: Op
    cause: str
    message: str


_GENESIS_RAW = bytes.fromhex(GENESIS)


def stored_chain_holds(rows: Sequence[Sequence[Any]], gaps: bool = False) -> bool:
    """True when one device's stored ops (rows in `OP_COLUMNS` order, seq order, the two
    hashes as raw bytes as the laptop stores them) pass `check_chain`'s hash, sequence and
    link checks from the genesis (`signatures="none"`): the same digest as
    `Op.compute_hash`, compared as bytes, in one loop without an `Op` per row.

    The digest text is `_digest_input`'s, the one every hash is made from. False says only
    "not shown here": anything unusual (a hash stored as text, a sequence that is not an
    int) is False too, and `check_chain` on the ops then names the problem, or finds
    none."""
    sha256, digest_input, expected, prev = hashlib.sha256, _digest_input, 1, _GENESIS_RAW
    try:
        for row in rows:
            seq, prev_hash, digest = row[2], row[11], row[12]
            if type(seq) is not int or type(prev_hash) is not bytes:
                return False
            if not (gaps and seq > expected) and (seq != expected or prev_hash != prev):
                return False
            data = digest_input(*row[:11], prev_hash.hex())
            if type(digest) is not bytes or sha256(data).digest() != digest:
                return False
            expected, prev = seq + 1, digest
    except (TypeError, ValueError):
        return False
    return True


def signatures_failing(sign_pub: bytes, items: list[tuple[str, bytes]]) -> set[int]:
    """The indexes of `items` (hash, signature) whose Ed25519 signature does not verify."""
    key = ed25519_public_from_bytes(sign_pub)
    return {
        n
        for n, (digest, sig) in enumerate(items)
        if not verify_signature(key, sig, digest.encode())
    }


def check_chain(
    ops: Sequence[Op],
    sign_pub: bytes | None,
    *,
    head: str | None = GENESIS,
    next_seq: int | None = 1,
    gaps: bool = False,
    signatures: str = "runs",
    first_only: bool = False,
    check_signatures: SignatureCheck = signatures_failing,
) -> list[ChainProblem]:
    """Check one device's ops (in seq order): hashes, sequence, links and signatures.

    `head` and `next_seq` are where the chain stands before the first op (None: not known,
    as for a batch judged elsewhere against the server's head). With `gaps`, a skip in the
    sequence (another device's chain received only for some cases) starts a new run
    instead of breaking the chain. `signatures`: "runs" checks the newest op of every
    unbroken run (and, only where that fails, each op of the run); "every" checks each
    op's own signature; "none" none. `first_only` stops at the first problem, as an
    audit does: what follows a break cannot be placed.
    """
    problems: list[tuple[int, ChainProblem]] = []
    runs: list[list[int]] = []
    run: list[int] = []
    expected, prev = next_seq, head
    for n, op in enumerate(ops):
        problem: tuple[str, str] | None = None
        gap = gaps and expected is not None and op.seq > expected
        if op.compute_hash() != op.hash:
            problem = (TAMPERED, HASH_PROBLEM)
        elif expected is not None and op.seq != expected and not gap:
            problem = (
                BAD_SEQ,
                f"it has sequence number {op.seq} where {expected} was expected: "
                "an op before it was deleted or the ops were reordered",
            )
        elif prev is not None and op.prev_hash != prev and not gap:
            problem = (BROKEN_LINK, LINK_PROBLEM)
        if gap or problem:
            if run:
                runs.append(run)
            run = []
        if problem:
            problems.append((n, ChainProblem(op, *problem)))
            if first_only:
                break
        else:
            run.append(n)
        # A refused op keeps its place, so the ops behind it are judged on their own.
        expected, prev = op.seq + 1, op.hash
    if run:
        runs.append(run)
    if signatures != "none":
        problems += _signature_problems(ops, sign_pub, runs, signatures, check_signatures)
    problems.sort(key=lambda item: item[0])
    found = [p for _, p in problems]
    return found[:1] if first_only else found


def _signature_problems(
    ops: Sequence[Op],
    sign_pub: bytes | None,
    runs: list[list[int]],
    signatures: str,
    check: SignatureCheck,
) -> list[tuple[int, ChainProblem]]:
    if sign_pub is None:
        return [
            (n, ChainProblem(ops[n], UNKNOWN_DEVICE, UNKNOWN_DEVICE_PROBLEM))
            for r in runs
            for n in r
        ]
    if signatures == "every":
        suspect = [n for r in runs for n in r]
    else:
        newest = [r[-1] for r in runs]
        bad = check(sign_pub, [(ops[n].hash, ops[n].sig) for n in newest])
        # A run whose newest signature fails: each of its ops on its own.
        suspect = [n for i, r in enumerate(runs) if i in bad for n in r]
    if not suspect:
        return []
    failing = check(sign_pub, [(ops[n].hash, ops[n].sig) for n in suspect])
    return [
        (suspect[i], ChainProblem(ops[suspect[i]], FORGED, SIGNATURE_PROBLEM))
        for i in sorted(failing)
    ]


# --- a visit's chain, as a printed record and the server see it ----------------------

ADDENDUM_LINK = "@"
"""An addendum's entity id ends with `@<visit id>` (`add-<uuid7>@v1`): the one clear link
the server has from an addendum to the visit it amends."""


def addendum_visit(entity_id: str) -> str | None:
    """The visit an addendum's entity id names, if it names one."""
    head, sep, visit_id = entity_id.partition(ADDENDUM_LINK)
    return visit_id if sep and head.startswith("add-") and visit_id else None


def in_visit_chain(entity: str, entity_id: str, visit_id: str) -> bool:
    """The op belongs to the visit's chain: the visit itself, or an addendum linked to it."""
    if entity == "visit":
        return entity_id == visit_id
    return entity == "addendum" and addendum_visit(entity_id) == visit_id


def chain_hash(content_hash: str, op_hashes: list[str]) -> str:
    """What a printed record carries as `chain=`: the SHA-256 of its content hash and the
    (sorted) hashes of the ops of the visit's chain when it was printed. The server holds
    the op hashes, never the content; binding both means a paper whose content hash was
    changed no longer matches any state of the chain the server holds."""
    text = "fieldkit-chain/1\n" + content_hash + "\n" + "\n".join(sorted(op_hashes))
    return hashlib.sha256(text.encode()).hexdigest()
