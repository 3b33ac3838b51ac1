"""The wire protocol both ends share: request signing, JSON models, op results.

Requests are signed by the device's Ed25519 key over the method, path, a timestamp, a
nonce and the body's SHA-256, so a captured request cannot be replayed or altered.

Why one module: it is the wire contract both ends import: the bytes each request, enrollment
and receipt signs, and every request and response model. The server and the laptop must
agree on all of it at once; one module is what a protocol change edits and a reviewer reads.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import operator
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fieldkit.changelog import OP_COLUMNS, Op
from fieldkit.changelog import chain_hash as chain_hash
from fieldkit.changelog import in_visit_chain as in_visit_chain
from fieldkit.crypto import b64, unb64

PROTOCOL = "fieldkit.sync/1"
AUTH_SCHEME = "Fieldkit"
# A signed request is good for this long either side of the server's clock.
REQUEST_WINDOW_MS = 5 * 60 * 1000
RECOVERY_RECIPIENT = "@recovery"
# The refusal a laptop revoked with `--wipe` meets: it pushes its pending ops, says so on
# WIPED_ROUTE, then erases its keys and profile (sync/wipe.py).
WIPE_REQUESTED = (
    "this laptop was retired by the agency: it sends its pending work, then erases its "
    "keys and profile"
)
DRAIN_ROUTES = frozenset({"/v1/push", "/v1/wiped"})
ROLES = ("worker", "supervisor", "admin", "auditor")
# Who may ask the server whether a printed record still stands (POST /v1/verify-record):
# an auditor or an admin for any case, a supervisor for the cases of their team. An
# auditor holds no case key, is on no case team, pulls nothing and may push nothing.
VERIFY_ROLES = ("auditor", "supervisor", "admin")

OpStatus = Literal["accepted", "duplicate", "rejected", "deferred"]
# The largest integer the server's databases store (SQLite and PostgreSQL BIGINT).
INT64_MAX = 2**63 - 1
_B64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _base64(text: str) -> str:
    if not _B64.fullmatch(text):
        raise ValueError("not URL-safe base64")
    try:
        unb64(text)
    except (binascii.Error, ValueError):
        raise ValueError("not URL-safe base64") from None
    return text


B64 = Annotated[str, Field(max_length=16384), AfterValidator(_base64)]
"""Bytes on the wire: URL-safe base64, checked before the server decodes it."""
Cursor = Annotated[int, Field(ge=0, le=INT64_MAX)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


# Why an op was refused. A cause in RETRYABLE can go away (the case is assigned to the
# author, the author becomes its supervisor): the laptop sends the op again then, and the
# server accepts it at its original place in the chain. Any other cause is for good.
Cause = Literal[
    "not_on_case",
    "not_reviewer",
    "wrong_role",
    "tampered",
    "forged",
    "broken_link",
    "wrong_author",
    "fork",
    "id_reused",
    "foreign_device",
]
RETRYABLE: frozenset[str] = frozenset({"not_on_case", "not_reviewer"})


def now_ms() -> int:
    """Wall-clock milliseconds."""
    return time.time_ns() // 1_000_000


def new_nonce() -> str:
    """A random request nonce."""
    return os.urandom(16).hex()


def request_message(method: str, path: str, ts_ms: int, nonce: str, body: bytes) -> bytes:
    """The exact bytes a device signs for one request."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{PROTOCOL}\n{method.upper()}\n{path}\n{ts_ms}\n{nonce}\n{digest}".encode()


def auth_header(device_id: str, ts_ms: int, nonce: str, sig: bytes) -> str:
    """The Authorization header value of a signed request."""
    return f"{AUTH_SCHEME} device={device_id},ts={ts_ms},nonce={nonce},sig={b64(sig)}"


def parse_auth_header(value: str) -> dict[str, str]:
    """The parts of an Authorization header, or ValueError."""
    scheme, _, rest = value.partition(" ")
    if scheme != AUTH_SCHEME:
        raise ValueError("not a fieldkit signed request")
    parts = dict(item.split("=", 1) for item in rest.split(",") if "=" in item)
    if not {"device", "ts", "nonce", "sig"} <= parts.keys():
        raise ValueError("the signed request is missing a part")
    return parts


def normalize_code(code: str) -> str:
    """An enrollment code as typed, without spaces or dashes, upper case."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def enroll_message(code: str, device_id: str, sign_pub: str, box_pub: str) -> bytes:
    """What a laptop signs at enrollment to prove it holds the key it registers."""
    return f"{PROTOCOL}\nenroll\n{code}\n{device_id}\n{sign_pub}\n{box_pub}".encode()


def receipt_message(device_id: str, seq: int, head: str, issued_ms: int) -> bytes:
    """What the server signs to acknowledge a device's chain head."""
    return f"{PROTOCOL}\nreceipt\n{device_id}\n{seq}\n{head}\n{issued_ms}".encode()


class WireOp(BaseModel):
    """One signed op as it travels; `body` is case-key ciphertext the server cannot read."""

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
    body: str = Field(description="base64 of the case-key ciphertext")
    prev_hash: str
    hash: str
    sig: str = Field(description="base64 Ed25519 signature of `hash` by the device")

    def to_op(self) -> Op:
        """The change-log op."""
        return Op(
            op_id=self.op_id,
            device_id=self.device_id,
            seq=self.seq,
            hlc=self.hlc,
            author=self.author,
            case_id=self.case_id,
            entity=self.entity,
            entity_id=self.entity_id,
            action=self.action,
            key_id=self.key_id,
            body=unb64(self.body),
            prev_hash=self.prev_hash,
            hash=self.hash,
            sig=unb64(self.sig),
        )


class PulledOp(WireOp):
    """An op with the server cursor it was stored at."""

    cursor: int
    received_ms: int | None = Field(
        default=None, description="when the server received the op (time evidence)"
    )


class PushRequest(BaseModel):
    """A batch of the device's own ops, in any order; resending is harmless."""

    ops: list[WireOp]


class OpResult(BaseModel):
    """What the server did with one op: deferred ops wait for an earlier op of the chain."""

    op_id: str
    status: OpStatus
    reason: str | None = None
    cause: Cause | None = Field(default=None, description="why it was refused; see `retryable`")
    retryable: bool = Field(
        default=False,
        description="the cause can go away: send the op again once it has (it keeps its place)",
    )


class Receipt(BaseModel):
    """The server's signed acknowledgement of the device's chain head."""

    device_id: str
    seq: int
    head: str
    issued_ms: int
    sig: str


class PushResponse(BaseModel):
    """Per-op results and a receipt for the chain head."""

    results: list[OpResult]
    receipt: Receipt
    expected_seq: int = Field(description="the next seq the server expects of this device")


class PullRequest(BaseModel):
    """Ops after `cursor` of the caller's cases (or of one case, to backfill it)."""

    cursor: Cursor = 0
    limit: int = Field(default=2000, ge=1, le=5000)
    case_id: str | None = None
    until: Cursor | None = Field(
        default=None,
        description="only ops up to this cursor (a backfill stops where the main pull starts)",
    )


class PullResponse(BaseModel):
    """A page of ops; `next_cursor` is where the next page starts."""

    ops: list[PulledOp]
    next_cursor: int
    more: bool


@dataclass(frozen=True)
class ReceivedOp(Op):
    """A pulled op as the laptop reads it: the change-log op itself, with the server's
    cursor and receipt time."""

    cursor: int = 0
    received_ms: int | None = None


class PulledPage(BaseModel):
    """`PullResponse` as the laptop reads it: each op straight into the change-log op
    (`ReceivedOp`), its base64 `body` and `sig` decoded by pydantic's own code, with no
    model per op in between (a supervisor's page holds 5,000). A missing `hash` or `sig`
    reads as empty, which the chain check refuses."""

    model_config = ConfigDict(val_json_bytes="base64")

    ops: list[ReceivedOp]
    next_cursor: int
    more: bool


def envelope_context(case_id: str, key_id: str) -> str:
    """Binds a wrapped case key to its case and key id."""
    return f"case-key|{case_id}|{key_id}"


class Envelope(BaseModel):
    """A case key wrapped to one recipient's X25519 key (a user, or the agency recovery key)."""

    case_id: Name
    key_id: Name
    recipient: Name
    wrapped: B64
    generation: int = Field(
        default=0, ge=0, le=1_000_000, description="the key's generation; the newest is current"
    )


class DeviceInfo(BaseModel):
    """A device's public keys, so a client can check the signatures of pulled ops."""

    device_id: str
    user: str
    sign_pub: str
    box_pub: str
    revoked: bool = False


class TeamInfo(BaseModel):
    """Who is on a case."""

    case_id: str
    worker: str
    supervisor: str | None = None
    without_key: list[str] = Field(
        default_factory=list,
        description="members with no envelope of the current key yet (not enrolled then)",
    )
    key_id: str | None = Field(default=None, description="the case's current key")
    generation: int = Field(default=0, description="the current key's generation")


class KeysResponse(BaseModel):
    """The caller's case keys, case teams and the devices whose ops it may receive."""

    user: str
    role: str
    envelopes: list[Envelope]
    teams: list[TeamInfo]
    devices: list[DeviceInfo]
    user_key_grant: str | None = Field(
        default=None,
        description="the user's private key wrapped to the calling device, once granted",
    )
    waiting_for_grant: list[str] = Field(
        default_factory=list,
        description="the caller's user's other devices that do not hold the user key yet",
    )
    devices_as_of: int | None = Field(
        default=None,
        description="pass as `devices_since` next time to receive only devices enrolled "
        "since (with a safety margin); absent: every device was listed",
    )
    rotate: list[str] = Field(
        default_factory=list,
        description="cases of the caller whose key must be replaced (reassigned, or a "
        "device of the team revoked): the caller's laptop may make the next generation",
    )


class PushReply(PushResponse):
    """`PushResponse` with the reads the push asked to be answered with besides (`keys=true`:
    the caller's `KeysResponse`; `pull_cursor`: the first page of its pull), read once the
    batch has committed. Absent when not asked for, or when the server could not read them
    then: the laptop asks for them on their own routes (docs/decisions.md "A push answers
    the keys and the first pull page")."""

    keys: KeysResponse | None = None
    page: PullResponse | None = None


class PushAnswer(PushResponse):
    """`PushReply` as the laptop reads it (the page's ops straight into `ReceivedOp`)."""

    keys: KeysResponse | None = None
    page: PulledPage | None = None


class Hello(BaseModel):
    """Unauthenticated: the server's clock and keys, so a client can sign with the right time."""

    protocol: str = PROTOCOL
    server_time_ms: int
    server_sign_pub: str
    recovery_pub: str | None = None


class EnrollRequest(BaseModel):
    """A laptop registering its keys with a one-time code."""

    code: Name
    device_id: Name
    user: Name
    sign_pub: B64
    box_pub: B64
    user_box_pub: B64 = Field(description="the user's X25519 public key, if this is their first")
    user_box_sealed: str = Field(
        default="",
        max_length=4096,
        description="ignored: the server no longer keeps a passphrase-sealed user key",
    )
    proof: B64 = Field(description="Ed25519 signature of the enroll message by `sign_pub`")


class EnrollResponse(BaseModel):
    """The user's key pair (private half still sealed) and the server's keys."""

    user: str
    role: str
    supervisor: str | None
    user_box_pub: str
    user_box_sealed: str = Field(
        default="", description="always empty: the user key reaches a second laptop as a grant"
    )
    holds_user_key: bool = Field(
        default=False,
        description="true when this laptop's `user_box_pub` became the user's key; false: "
        "another laptop of the user must grant it (`fieldkit grant`)",
    )
    server_sign_pub: str
    recovery_pub: str | None


class UserKey(BaseModel):
    """A user's public key, to wrap a case key to them."""

    name: str
    role: str
    supervisor: str | None
    box_pub: str | None


class TeamRequest(BaseModel):
    """Set a case's team and the key envelopes for each member and the recovery key."""

    worker: Name
    supervisor: Name | None = None
    envelopes: list[Envelope] = Field(max_length=100)


class RotateRequest(BaseModel):
    """A case's next key generation, wrapped to each enrolled member and the recovery key."""

    key_id: Name
    generation: int = Field(ge=1, le=1_000_000)
    envelopes: list[Envelope] = Field(max_length=100)


class RotateResponse(BaseModel):
    """The case's key now current."""

    case_id: str
    key_id: str
    generation: int


class GrantRequest(BaseModel):
    """The user's private key wrapped to one of the same user's devices."""

    wrapped: B64


class GrantResponse(BaseModel):
    """The device that now holds its user's key."""

    device_id: str
    user: str


def grant_context(user: str, device_id: str) -> str:
    """What a user-key grant is bound to: the user and the receiving device."""
    return f"user-key|{user}|{device_id}"


class SyncReportRequest(BaseModel):
    """How a sync went, for the agency's sync-health view: counts and timing, no content."""

    outcome: str = Field(max_length=32)
    pushed: int = Field(ge=0)
    pulled: int = Field(ge=0)
    refused: int = Field(ge=0)
    waiting: int = Field(ge=0)
    waiting_keys: int = Field(ge=0)
    duration_ms: int = Field(ge=0)
    app_version: str = Field(max_length=32)


class LaptopHealth(BaseModel):
    """One laptop of a supervisor's team as its last sync report left it: counts, no content."""

    device: str = Field(description="the shortest unique prefix of the device id (8+)")
    user: str
    revoked: bool = False
    last_sync_ms: int | None = None
    last_seen_ms: int | None = None
    outcome: str | None = None
    waiting: int | None = None
    refused: int = 0
    waiting_keys: int | None = None


class TeamHealthResponse(BaseModel):
    """Sync health of the laptops of a supervisor's team (their workers' and their own)."""

    as_of_ms: int
    laptops: list[LaptopHealth]


class ErrorBody(BaseModel):
    """A refusal, in one line a person can act on."""

    detail: str


_TEXT_FIELDS = tuple(c for c in OP_COLUMNS if c != "seq")
_WIRE_VALUES = operator.itemgetter(*OP_COLUMNS)  # one C call for the 14 fields of an op
# The type of each field as `_WIRE_VALUES` gives them: one tuple comparison per op.
_WIRE_TYPES = tuple(int if c == "seq" else str for c in OP_COLUMNS)


def _wire_problem(n: int, item: object) -> ValueError:
    """What is wrong with op `n` of a push, in words (the slow path, for a refusal)."""
    if not isinstance(item, dict):
        return ValueError(f"op {n} is not an object")
    for name in _TEXT_FIELDS:
        if type(item.get(name)) is not str:
            return ValueError(f"op {n}: {name} is missing or not text")
    return ValueError(f"op {n}: seq is missing or not a positive 64-bit integer")


_text = encode_basestring_ascii  # what `json.dumps` writes for a str


def push_body(ops: Sequence[Op]) -> bytes:
    """A push request's body: `json.dumps({"ops": [op.to_wire() for op in ops]},
    separators=(",", ":"))`, the same bytes, written without the dicts (a push is
    thousands of ops). Base64 is spliced in as it is (URL-safe base64 holds no character
    JSON escapes); an op with a field of another type goes through `json.dumps`."""
    parts = []
    for op in ops:
        if type(op.seq) is int:
            try:
                parts.append(
                    f'{{"op_id":{_text(op.op_id)},"device_id":{_text(op.device_id)},'
                    f'"seq":{op.seq},"hlc":{_text(op.hlc)},"author":{_text(op.author)},'
                    f'"case_id":{_text(op.case_id)},"entity":{_text(op.entity)},'
                    f'"entity_id":{_text(op.entity_id)},"action":{_text(op.action)},'
                    f'"key_id":{_text(op.key_id)},"body":"{b64(op.body)}",'
                    f'"prev_hash":{_text(op.prev_hash)},"hash":{_text(op.hash)},'
                    f'"sig":"{b64(op.sig)}"}}'
                )
                continue
            except TypeError:
                pass
        parts.append(json.dumps(op.to_wire(), separators=(",", ":")))
    return ('{"ops":[' + ",".join(parts) + "]}").encode()


class _PushedOps(BaseModel):
    """A push body as `parse_push` reads it first: JSON straight into the change-log ops,
    every field of its exact JSON type (strict: no text for a number, no number for a
    text), the base64 `body` and `sig` decoded, by pydantic's own code with no dict per
    op in between."""

    model_config = ConfigDict(val_json_bytes="base64", strict=True)

    ops: list[Op]


def parse_push(body: bytes) -> list[Op]:
    """The ops of a push body (`PushRequest` JSON): a push carries thousands of ops and
    this is the server's hot path. ValueError names the problem.

    Read by pydantic (`_PushedOps`, a third of the CPU of the hand-written reading); a
    body it refuses, or one with an op whose `hash` or `sig` is empty (absent: the
    dataclass default) or whose `seq` is out of range, is read again by
    `_parse_push_by_hand`, which gives what it always gave: the ops, or the refusal in
    words. The one body read otherwise: base64 without its `=` padding, which pydantic
    decodes to the same bytes the padded text gives (docs/decisions.md). Either way
    every op's hash is computed again over its canonical encoding before it counts."""
    try:
        ops = _PushedOps.model_validate_json(body).ops
    except ValueError:
        return _parse_push_by_hand(body)
    for op in ops:
        if not (op.hash and op.sig and 1 <= op.seq <= INT64_MAX):
            return _parse_push_by_hand(body)
    return ops


def _parse_push_by_hand(body: bytes) -> list[Op]:
    """`parse_push` checked field by field: the refusal names the op and the field."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("the push body is not JSON") from None
    items = doc.get("ops") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ValueError("the push body has no list of ops")
    ops = []
    for n, item in enumerate(items):
        try:
            values = _WIRE_VALUES(item)
        except (KeyError, TypeError):
            raise _wire_problem(n, item) from None
        (
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
            body_text,
            prev_hash,
            digest,
            sig_text,
        ) = values
        if (
            not isinstance(item, dict)
            or tuple(map(type, values)) != _WIRE_TYPES
            or not 1 <= seq <= INT64_MAX
        ):
            raise _wire_problem(n, item)
        try:
            raw, sig = unb64(body_text), unb64(sig_text)
        except ValueError:
            raise ValueError(f"op {n}: body or sig is not base64") from None
        ops.append(
            Op(
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
                raw,
                prev_hash,
                digest,
                sig,
            )
        )
    return ops


__all__ = [
    "AUTH_SCHEME",
    "DeviceInfo",
    "EnrollRequest",
    "EnrollResponse",
    "Envelope",
    "Hello",
    "KeysResponse",
    "OpResult",
    "PROTOCOL",
    "PullRequest",
    "PullResponse",
    "PulledOp",
    "PulledPage",
    "PushRequest",
    "PushResponse",
    "PushReply",
    "PushAnswer",
    "RETRYABLE",
    "Receipt",
    "SyncReportRequest",
    "TeamInfo",
    "TeamRequest",
    "UserKey",
    "ReceivedOp",
    "WireOp",
    "auth_header",
    "b64",
    "enroll_message",
    "new_nonce",
    "now_ms",
    "parse_auth_header",
    "parse_push",
    "push_body",
    "receipt_message",
    "request_message",
    "unb64",
]


# --- a printed record, checked by the server (POST /v1/verify-record) -------------------

HexHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class VerifyRecordRequest(BaseModel):
    """What a printed visit record claims (its stamp)."""

    case_id: Name
    visit_id: Name
    content_hash: HexHash
    approval_hash: HexHash | None = None
    chain_hash: HexHash


class RecordChange(BaseModel):
    """An op of the visit's chain the server received after the printed state."""

    entity: str
    entity_id: str
    author: str
    received_ms: int


class VerifyRecordResponse(BaseModel):
    """What the server can say from the op hashes and metadata it holds."""

    status: Literal["unchanged", "amended", "unknown"]
    message: str
    approved_by: str | None = None
    approval_received_ms: int | None = None
    changes: list[RecordChange] = Field(default_factory=list)
