"""The agency sync server: stores, checks and forwards signed ops it cannot read.

Stateless between requests (every fact lives in the database), so several processes can
share one PostgreSQL behind a load balancer. Every request is signed by an enrolled,
unrevoked device with a fresh timestamp and nonce; every op is checked for its hash, its
device signature, its place in the device's hash chain and its author's place on the case.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from fieldkit.changelog import GENESIS, Op
from fieldkit.crypto import Ed25519PrivateKey, b64, ed25519_public_from_bytes, unb64
from fieldkit.crypto import verify_signature as _verify

from . import admin
from .db import PG_CURSOR_LOCK, open_database, server_url
from .models import (
    CASE_KEYS,
    CASE_TEAM,
    DEVICES,
    ENROLL_CODES,
    OPS,
    REJECTED_OPS,
    REQUEST_NONCES,
    SETTINGS,
    USERS,
)
from .protocol import (
    RECOVERY_RECIPIENT,
    REQUEST_WINDOW_MS,
    DeviceInfo,
    EnrollRequest,
    EnrollResponse,
    Envelope,
    ErrorBody,
    Hello,
    KeysResponse,
    OpResult,
    PulledOp,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    Receipt,
    TeamInfo,
    TeamRequest,
    UserKey,
    enroll_message,
    normalize_code,
    now_ms,
    parse_auth_header,
    parse_push,
    receipt_message,
    request_message,
)
from .verify import bad_signatures, warm_up

T = TypeVar("T")

# Records only a supervisor (or an admin) may write: the server cannot read op bodies, so
# it decides on the op's clear `entity`, `author` and `case_id` (docs/decisions.md).
REVIEW_ENTITIES = frozenset({"approval", "supervision"})
REVIEW_ROLES = ("supervisor", "admin")
REVIEW_REFUSAL = "only the case's supervisor may approve or return records"
# `devices.last_seen_ms` (and the pruning of the device's old nonces) is refreshed at most
# this often: a write on every request was a third of a small sync's database work.
LAST_SEEN_EVERY_MS = 60_000
# From this many accepted ops a push appends with COPY (2-3x faster than the pipelined
# INSERT … unnest for 1,000 ops, but the cursor lock spans its round trips).
COPY_FROM = 100
# `KeysResponse.devices_as_of` lags the clock by this much, so a device whose enrollment
# was committing while the list was read is listed again next time (never missed).
DEVICES_MARGIN_MS = 10 * 60_000


class Refused(HTTPException):
    """A request the server will not do, with one line that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)


@dataclass(frozen=True)
class Caller:
    """The authenticated device and its user."""

    device_id: str
    user: str
    role: str
    sign_pub: bytes


class SyncServer:
    """The server's use cases over one engine; FastAPI routes are thin wrappers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self._sign_key = self._load_sign_key()

    # --- keys and settings -------------------------------------------------------------

    def _load_sign_key(self) -> Ed25519PrivateKey:
        """The receipt-signing key, created once and shared by every process via the DB."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(SETTINGS.c.value).where(SETTINGS.c.key == "receipt_key")
            ).first()
            if row is None:
                candidate = Ed25519PrivateKey.generate()
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(SETTINGS).values(
                                key="receipt_key", value=b64(candidate.private_bytes_raw())
                            )
                        )
                except IntegrityError:
                    pass
                row = conn.execute(
                    select(SETTINGS.c.value).where(SETTINGS.c.key == "receipt_key")
                ).first()
        assert row is not None
        return Ed25519PrivateKey.from_private_bytes(unb64(row[0]))

    @property
    def sign_pub(self) -> str:
        """The public key clients check receipts with."""
        return b64(self._sign_key.public_key().public_bytes_raw())

    def recovery_pub(self, conn: Connection) -> str | None:
        """The agency recovery public key, if the admin set one."""
        row = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == "recovery_pub")).first()
        return str(row[0]) if row else None

    def hello(self) -> Hello:
        """Server clock and keys."""
        with self._read() as conn:
            recovery = self.recovery_pub(conn)
        return Hello(server_time_ms=now_ms(), server_sign_pub=self.sign_pub, recovery_pub=recovery)

    def _read(self) -> Any:
        return self.engine.connect().execution_options(fieldkit_read=True)

    # --- authentication ----------------------------------------------------------------

    def authenticate(self, method: str, path: str, header: str | None, body: bytes) -> Caller:
        """The device that signed this request, or a refusal (unknown, revoked, replayed)."""
        if not header:
            raise Refused(401, "this request is not signed by an enrolled device")
        try:
            parts = parse_auth_header(header)
            ts = int(parts["ts"])
            sig = unb64(parts["sig"])
        except (ValueError, KeyError):
            raise Refused(401, "the request signature is malformed") from None
        now = now_ms()
        if abs(now - ts) > REQUEST_WINDOW_MS:
            raise Refused(
                401, "the request is too old or too new (replayed, or the clock is far off)"
            )
        device_id, nonce = parts["device"], parts["nonce"]
        if not 16 <= len(nonce) <= 64:
            raise Refused(401, "the request nonce is malformed")
        with self.engine.begin() as conn:
            row = conn.execute(
                select(DEVICES, USERS.c.role)
                .join(USERS, USERS.c.name == DEVICES.c.user)
                .where(DEVICES.c.device_id == device_id)
            ).first()
            if row is None:
                raise Refused(401, "this device is not enrolled on this server")
            device, role = row, row.role
            if device.revoked_ms is not None:
                raise Refused(403, "this device was revoked by the agency; ask your IT lead")
            message = request_message(method, path, ts, nonce, body)
            if not _verify(ed25519_public_from_bytes(device.sign_pub), sig, message):
                raise Refused(401, "the request signature does not verify with the device key")
            # One statement records the nonce and tells a replay apart (no savepoint).
            if not self._record_nonce(conn, device_id, nonce, ts):
                raise Refused(401, "this request was already received: replay refused")
            # Housekeeping at most once a minute per device, not on every request: the
            # nonce window check above never depends on it.
            seen = device.last_seen_ms
            if seen is None or now - seen > LAST_SEEN_EVERY_MS:
                conn.execute(
                    delete(REQUEST_NONCES).where(
                        REQUEST_NONCES.c.device_id == device_id,
                        REQUEST_NONCES.c.ts_ms < now - 2 * REQUEST_WINDOW_MS,
                    )
                )
                conn.execute(
                    update(DEVICES).where(DEVICES.c.device_id == device_id).values(last_seen_ms=now)
                )
        return Caller(device.device_id, device.user, role, device.sign_pub)

    def _record_nonce(self, conn: Connection, device_id: str, nonce: str, ts: int) -> bool:
        """Keep a request nonce; False when this device already used it (a replay)."""
        dialect_insert = pg_insert if self.pg else sqlite_insert
        stmt = (
            dialect_insert(REQUEST_NONCES)
            .values(device_id=device_id, nonce=nonce, ts_ms=ts)
            .on_conflict_do_nothing()
            .returning(REQUEST_NONCES.c.nonce)
        )
        return conn.execute(stmt).first() is not None

    # --- enrollment --------------------------------------------------------------------

    def enroll(self, req: EnrollRequest) -> EnrollResponse:
        """Register a laptop's keys with a one-time code; repeatable by the same laptop."""
        digest = admin.code_hash(req.code)
        now = now_ms()
        try:
            sign_pub, box_pub = unb64(req.sign_pub), unb64(req.box_pub)
            public = ed25519_public_from_bytes(sign_pub)
            proof = unb64(req.proof)
        except ValueError:
            raise Refused(400, "the device keys are malformed") from None
        message = enroll_message(normalize_code(req.code), req.device_id, req.sign_pub, req.box_pub)
        if not _verify(public, proof, message):
            raise Refused(401, "the enrollment proof does not verify with the device key")
        with self.engine.begin() as conn:
            code = conn.execute(
                select(ENROLL_CODES).where(ENROLL_CODES.c.code_hash == digest)
            ).first()
            if code is None:
                raise Refused(403, "this enrollment code is not valid; ask your admin for one")
            if code.user != req.user:
                raise Refused(
                    403,
                    f"this code is for {code.user}, but this profile is {req.user}; "
                    f"run `fieldkit init --user {code.user}` or ask for a code for {req.user}",
                )
            existing = conn.execute(
                select(DEVICES).where(DEVICES.c.device_id == req.device_id)
            ).first()
            if code.used_ms is not None:
                same = existing is not None and existing.sign_pub == sign_pub
                if not (same and code.used_by == req.device_id):
                    raise Refused(403, "this enrollment code was already used; ask for a new one")
            elif code.expires_ms < now:
                raise Refused(403, "this enrollment code has expired; ask for a new one")
            elif existing is not None:
                raise Refused(409, "a device with this id is already enrolled")
            user = conn.execute(select(USERS).where(USERS.c.name == code.user)).one()
            box_user_pub, box_sealed = user.box_pub, user.box_sealed
            if box_user_pub is None:
                box_user_pub, box_sealed = unb64(req.user_box_pub), req.user_box_sealed
                conn.execute(
                    update(USERS)
                    .where(USERS.c.name == user.name)
                    .values(box_pub=box_user_pub, box_sealed=box_sealed)
                )
            if existing is None:
                conn.execute(
                    insert(DEVICES).values(
                        device_id=req.device_id,
                        user=user.name,
                        sign_pub=sign_pub,
                        box_pub=box_pub,
                        enrolled_ms=now,
                        last_seq=0,
                        head_hash=GENESIS,
                    )
                )
                conn.execute(
                    update(ENROLL_CODES)
                    .where(ENROLL_CODES.c.code_hash == digest)
                    .values(used_ms=now, used_by=req.device_id)
                )
                admin.audit(conn, user.name, "enroll", f"device {req.device_id}")
            recovery = self.recovery_pub(conn)
        return EnrollResponse(
            user=user.name,
            role=user.role,
            supervisor=user.supervisor,
            user_box_pub=b64(box_user_pub),
            user_box_sealed=str(box_sealed),
            server_sign_pub=self.sign_pub,
            recovery_pub=recovery,
        )

    # --- push --------------------------------------------------------------------------

    def push(self, caller: Caller, wire_ops: list[Op]) -> PushResponse:
        """Check and store a batch; a per-op result, and a signed receipt for the chain head."""
        ops = sorted(wire_ops, key=lambda o: (o.seq, o.op_id))
        # The CPU-heavy checks happen before the write lock is taken.
        content_problem: dict[str, str] = {}
        hashed: list[Op] = []
        for op in ops:
            if op.compute_hash() != op.hash:
                content_problem[op.op_id] = (
                    "its content does not match its hash: altered after it was signed"
                )
            else:
                hashed.append(op)
        for n in bad_signatures(caller.sign_pub, [(op.hash, op.sig) for op in hashed]):
            content_problem[hashed[n].op_id] = (
                "its signature does not verify with its device's key: forged"
            )
        results: dict[str, OpResult] = {}
        now = now_ms()
        with self.engine.begin() as conn:
            device = conn.execute(
                select(DEVICES).where(DEVICES.c.device_id == caller.device_id).with_for_update()
            ).one()
            ids = [op.op_id for op in ops]
            stored = _lookup(conn, OPS.c.op_id, OPS.c.hash, ids)
            refused = _lookup(conn, REJECTED_OPS.c.op_id, REJECTED_OPS.c.reason, ids)
            case_ids = sorted({op.case_id for op in ops})
            on_cases = {
                r[0]
                for r in conn.execute(
                    select(CASE_TEAM.c.case_id).where(
                        CASE_TEAM.c.user == caller.user,
                        CASE_TEAM.c.case_id.in_(case_ids),
                    )
                ).all()
            }
            reviewers = self._reviewers(
                conn, caller, {op.case_id for op in ops if op.entity in REVIEW_ENTITIES}
            )
            last_seq, head = device.last_seq, device.head_hash
            accepted: list[dict[str, Any]] = []
            rejected: list[dict[str, Any]] = []
            for op in ops:
                if op.op_id in results:
                    continue
                if op.op_id in stored:
                    same = stored[op.op_id] == op.hash
                    results[op.op_id] = (
                        OpResult(op_id=op.op_id, status="duplicate")
                        if same
                        else OpResult(
                            op_id=op.op_id,
                            status="rejected",
                            reason="an op with this id but different content is already stored",
                        )
                    )
                    continue
                if op.op_id in refused:
                    results[op.op_id] = OpResult(
                        op_id=op.op_id, status="rejected", reason=refused[op.op_id]
                    )
                    continue
                if op.device_id != caller.device_id:
                    results[op.op_id] = OpResult(
                        op_id=op.op_id,
                        status="rejected",
                        reason="a device may only push its own ops",
                    )
                    continue
                reason: str | None
                if op.seq <= last_seq:
                    reason = (
                        f"fork: this device already sent a different op at seq {op.seq} "
                        "(was the laptop restored from a backup?); re-enroll it; the op is kept"
                    )
                elif op.seq > last_seq + 1:
                    results[op.op_id] = OpResult(
                        op_id=op.op_id,
                        status="deferred",
                        reason=f"waiting for seq {last_seq + 1} of this device",
                    )
                    continue
                else:
                    reason = content_problem.get(op.op_id) or self._placement_problem(
                        op, head, caller, on_cases, reviewers
                    )
                    # The chain position is taken whatever the outcome, so a refused op
                    # never blocks the ops behind it.
                    last_seq, head = op.seq, op.hash
                if reason:
                    results[op.op_id] = OpResult(op_id=op.op_id, status="rejected", reason=reason)
                    if op.seq == last_seq and head == op.hash:
                        rejected.append(
                            {
                                "op_id": op.op_id,
                                "device_id": op.device_id,
                                "seq": op.seq,
                                "hash": op.hash,
                                "reason": reason,
                                "received_ms": now,
                            }
                        )
                    continue
                results[op.op_id] = OpResult(op_id=op.op_id, status="accepted")
                accepted.append(_row(op, now))
            if rejected:
                conn.execute(insert(REJECTED_OPS), rejected)
            if (last_seq, head) != (device.last_seq, device.head_hash):
                conn.execute(
                    update(DEVICES)
                    .where(DEVICES.c.device_id == caller.device_id)
                    .values(last_seq=last_seq, head_hash=head)
                )
            if accepted:
                # Cursors are handed out in commit order, so a pull never skips an op that
                # commits late (DESIGN.md "Sync").
                if self.pg and len(accepted) < COPY_FROM:
                    # Lock, append and commit go to PostgreSQL in one pipeline: the lock
                    # is held for PostgreSQL's own work only, never while this thread
                    # waits for the GIL in a busy worker.
                    _append_and_commit(conn, accepted)
                elif self.pg:
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_CURSOR_LOCK})")
                    _copy_ops(conn, accepted)
                else:
                    conn.execute(insert(OPS), accepted)
        issued = now_ms()
        receipt = Receipt(
            device_id=caller.device_id,
            seq=last_seq,
            head=head,
            issued_ms=issued,
            sig=b64(self._sign_key.sign(receipt_message(caller.device_id, last_seq, head, issued))),
        )
        return PushResponse(
            results=[results[op.op_id] for op in wire_ops],
            receipt=receipt,
            expected_seq=last_seq + 1,
        )

    def _reviewers(self, conn: Connection, caller: Caller, case_ids: set[str]) -> set[str]:
        """Of these cases, those whose records the caller may review.

        An admin may; a supervisor may on a case they supervise (on its team as supervisor,
        or the supervisor of its worker); a worker never may.
        """
        if not case_ids or caller.role not in REVIEW_ROLES:
            return set()
        if caller.role == "admin":
            return set(case_ids)
        allowed: set[str] = set()
        for case_id, user, role, boss in conn.execute(
            select(CASE_TEAM.c.case_id, CASE_TEAM.c.user, CASE_TEAM.c.role, USERS.c.supervisor)
            .join(USERS, USERS.c.name == CASE_TEAM.c.user)
            .where(CASE_TEAM.c.case_id.in_(sorted(case_ids)))
        ).all():
            if (role == "supervisor" and user == caller.user) or (
                role == "worker" and boss == caller.user
            ):
                allowed.add(case_id)
        return allowed

    @staticmethod
    def _placement_problem(
        op: Op, head: str, caller: Caller, on_cases: set[str], reviewers: set[str]
    ) -> str | None:
        if op.prev_hash != head:
            return (
                "it does not link to the previous op of this device: "
                "an op was deleted, inserted or reordered"
            )
        if op.author != caller.user:
            return f"its author {op.author} is not this device's user {caller.user}"
        if op.case_id not in on_cases:
            return f"{caller.user} is not on case {op.case_id}"
        if op.entity in REVIEW_ENTITIES and op.case_id not in reviewers:
            who = (
                f"{caller.user} is a {caller.role}"
                if caller.role not in REVIEW_ROLES
                else f"{caller.user} does not supervise case {op.case_id}"
            )
            return f"{REVIEW_REFUSAL} ({op.entity}): {who}"
        return None

    # --- pull --------------------------------------------------------------------------

    def pull(self, caller: Caller, req: PullRequest) -> PullResponse:
        """The next page of ops of the caller's cases, from other devices, by cursor."""
        with self._read() as conn, conn.begin():
            if req.case_id is not None and not self._on_case(conn, caller.user, req.case_id):
                raise Refused(403, f"{caller.user} is not on case {req.case_id}")
            high = conn.execute(select(func.max(OPS.c.cursor))).scalar() or 0
            query = (
                select(OPS)
                .join(
                    CASE_TEAM,
                    (CASE_TEAM.c.case_id == OPS.c.case_id) & (CASE_TEAM.c.user == caller.user),
                )
                .where(
                    OPS.c.cursor > req.cursor,
                    OPS.c.cursor <= high,
                    OPS.c.device_id != caller.device_id,
                )
                .order_by(OPS.c.cursor)
                .limit(req.limit)
            )
            if req.case_id is not None:
                query = query.where(OPS.c.case_id == req.case_id)
            rows = conn.execute(query).mappings().all()
        ops = [
            PulledOp(
                cursor=r["cursor"],
                received_ms=r["received_ms"],
                op_id=r["op_id"],
                device_id=r["device_id"],
                seq=r["seq"],
                hlc=r["hlc"],
                author=r["author"],
                case_id=r["case_id"],
                entity=r["entity"],
                entity_id=r["entity_id"],
                action=r["action"],
                key_id=r["key_id"],
                body=b64(r["body"]),
                prev_hash=r["prev_hash"],
                hash=r["hash"],
                sig=b64(r["sig"]),
            )
            for r in rows
        ]
        full = len(ops) == req.limit
        next_cursor = ops[-1].cursor if full else max(high, req.cursor)
        return PullResponse(ops=ops, next_cursor=next_cursor, more=full)

    @staticmethod
    def _on_case(conn: Connection, user: str, case_id: str) -> bool:
        return (
            conn.execute(
                select(CASE_TEAM.c.user).where(
                    CASE_TEAM.c.case_id == case_id, CASE_TEAM.c.user == user
                )
            ).first()
            is not None
        )

    # --- keys, users and teams ---------------------------------------------------------

    def keys(self, caller: Caller, devices_since: int | None = None) -> KeysResponse:
        """The caller's case-key envelopes, teams, and device keys to check pulled ops.

        Every device of the agency, or with `devices_since` (the `devices_as_of` of the
        caller's previous answer) only those enrolled since: a laptop keeps the keys it
        has, so the whole list on every sync was work in proportion to the agency's size.
        """
        as_of = now_ms() - DEVICES_MARGIN_MS
        devices = select(DEVICES)
        if devices_since is not None:
            devices = devices.where(DEVICES.c.enrolled_ms >= devices_since)
        with self._read() as conn, conn.begin():
            mine = [
                r[0]
                for r in conn.execute(
                    select(CASE_TEAM.c.case_id).where(CASE_TEAM.c.user == caller.user)
                ).all()
            ]
            envelopes = conn.execute(
                select(CASE_KEYS).where(CASE_KEYS.c.recipient == caller.user)
            ).all()
            members = conn.execute(select(CASE_TEAM).where(CASE_TEAM.c.case_id.in_(mine))).all()
            device_rows = conn.execute(devices).all()
            wrapped = set(
                conn.execute(
                    select(CASE_KEYS.c.case_id, CASE_KEYS.c.recipient).where(
                        CASE_KEYS.c.case_id.in_(mine)
                    )
                ).all()
            )
        teams: dict[str, TeamInfo] = {}
        for m in members:
            team = teams.setdefault(m.case_id, TeamInfo(case_id=m.case_id, worker=""))
            if m.role == "worker":
                team.worker = m.user
            else:
                team.supervisor = m.user
            if (m.case_id, m.user) not in wrapped:
                team.without_key.append(m.user)
        return KeysResponse(
            user=caller.user,
            role=caller.role,
            envelopes=[
                Envelope(
                    case_id=e.case_id,
                    key_id=e.key_id,
                    recipient=e.recipient,
                    wrapped=b64(e.wrapped),
                )
                for e in envelopes
            ],
            teams=sorted(teams.values(), key=lambda t: t.case_id),
            devices=[
                DeviceInfo(
                    device_id=d.device_id,
                    user=d.user,
                    sign_pub=b64(d.sign_pub),
                    box_pub=b64(d.box_pub),
                    revoked=d.revoked_ms is not None,
                )
                for d in device_rows
            ],
            devices_as_of=as_of,
        )

    def user_key(self, caller: Caller, name: str) -> UserKey:
        """A user's public key, so a supervisor can wrap a case key to them."""
        with self._read() as conn, conn.begin():
            row = conn.execute(select(USERS).where(USERS.c.name == name)).first()
        if row is None:
            raise Refused(404, f"no user {name} on this server")
        return UserKey(
            name=row.name,
            role=row.role,
            supervisor=row.supervisor,
            box_pub=b64(row.box_pub) if row.box_pub else None,
        )

    def set_team(self, caller: Caller, case_id: str, req: TeamRequest) -> TeamInfo:
        """Put a case's team and its key envelopes; only a supervisor or admin on the case."""
        if caller.role not in ("supervisor", "admin"):
            raise Refused(403, f"{caller.user} is a {caller.role}: only a supervisor assigns cases")
        now = now_ms()
        with self.engine.begin() as conn:
            current = {
                m.user: m.role
                for m in conn.execute(select(CASE_TEAM).where(CASE_TEAM.c.case_id == case_id)).all()
            }
            if current and caller.user not in current and caller.role != "admin":
                raise Refused(403, f"{caller.user} is not on case {case_id}")
            team = {req.worker: "worker"}
            if req.supervisor:
                team[req.supervisor] = "supervisor"
            people = {
                u.name: u for u in conn.execute(select(USERS).where(USERS.c.name.in_(team))).all()
            }
            for name in team:
                if name not in people:
                    raise Refused(404, f"no user {name} on this server")
            # A member who has not enrolled yet has no key: their envelope follows on a
            # later sync of a teammate (KeysResponse.teams[].without_key).
            needed = {name for name in team if people[name].box_pub is not None}
            if self.recovery_pub(conn):
                needed.add(RECOVERY_RECIPIENT)
            given = {e.recipient: e for e in req.envelopes if e.case_id == case_id}
            missing = needed - given.keys()
            if missing:
                raise Refused(400, f"no case key envelope for {', '.join(sorted(missing))}")
            needed |= given.keys() & set(team)
            if len({e.key_id for e in given.values()}) != 1:
                raise Refused(400, "the envelopes wrap different case keys")
            conn.execute(delete(CASE_TEAM).where(CASE_TEAM.c.case_id == case_id))
            conn.execute(
                insert(CASE_TEAM),
                [
                    {"case_id": case_id, "user": name, "role": role, "added_ms": now}
                    for name, role in team.items()
                ],
            )
            conn.execute(delete(CASE_KEYS).where(CASE_KEYS.c.case_id == case_id))
            conn.execute(
                insert(CASE_KEYS),
                [
                    {
                        "case_id": case_id,
                        "recipient": r,
                        "key_id": given[r].key_id,
                        "wrapped": unb64(given[r].wrapped),
                        "by_device": caller.device_id,
                        "created_ms": now,
                    }
                    for r in sorted(needed)
                ],
            )
            admin.audit(
                conn,
                caller.user,
                "team",
                f"case {case_id}: worker {req.worker}, supervisor {req.supervisor or '-'}",
            )
        return TeamInfo(case_id=case_id, worker=req.worker, supervisor=req.supervisor)

    def healthy(self) -> bool:
        """The database answers."""
        with self._read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True


def _lookup(conn: Connection, key: Any, value: Any, ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(conn.execute(select(key, value).where(key.in_(chunk))).all())
    return found


_OP_COLUMNS = (
    "op_id",
    "device_id",
    "seq",
    "hlc",
    "author",
    "case_id",
    "entity",
    "entity_id",
    "action",
    "key_id",
    "body",
    "prev_hash",
    "hash",
    "sig",
    "received_ms",
)


def _copy_ops(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: one COPY for a big batch of accepted ops, in the push's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY ops ({', '.join(_OP_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in _OP_COLUMNS])


_OP_TYPES = {
    "seq": "bigint",
    "received_ms": "bigint",
    "body": "bytea",
    "sig": "bytea",
}
_APPEND_SQL = (
    f"INSERT INTO ops ({', '.join(_OP_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_OP_TYPES.get(c, 'text')}[]" for c in _OP_COLUMNS)
    + ")"
)


def _append_and_commit(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: take the cursor lock, append the batch and commit, in one pipeline.

    The three statements reach PostgreSQL together, so the transaction-scoped lock is
    released by the COMMIT right behind the insert; no other push waits while this
    request's thread is descheduled. The caller's transaction ends here (SQLAlchemy's
    own commit afterwards finds nothing to do).
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = [[row[c] for row in rows] for c in _OP_COLUMNS]
    with raw.pipeline(), raw.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (PG_CURSOR_LOCK,))
        cur.execute(_APPEND_SQL, columns)
        raw.commit()


def _row(op: Op, now: int) -> dict[str, Any]:
    return {
        "op_id": op.op_id,
        "device_id": op.device_id,
        "seq": op.seq,
        "hlc": op.hlc,
        "author": op.author,
        "case_id": op.case_id,
        "entity": op.entity,
        "entity_id": op.entity_id,
        "action": op.action,
        "key_id": op.key_id,
        "body": op.body,
        "prev_hash": op.prev_hash,
        "hash": op.hash,
        "sig": op.sig,
        "received_ms": now,
    }


# --- the FastAPI face -------------------------------------------------------------------

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "unsigned, unknown device, stale or replayed"},
    403: {"model": ErrorBody, "description": "revoked device, or not on the case"},
}


def _inline_schema(model: type[Any]) -> dict[str, Any]:
    """A model's JSON schema with its definitions inlined, for a hand-parsed request body."""
    text = json.dumps(model.model_json_schema())
    schema: dict[str, Any] = json.loads(text)
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


def _push_json(service: SyncServer, who: Caller, body: bytes) -> Response:
    # The hot path: parsed and answered without per-op pydantic models (`parse_push`).
    try:
        ops = parse_push(body)
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    reply = service.push(who, ops)
    return Response(reply.model_dump_json(), media_type="application/json")


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Blocking database work off the event loop; a lost database is a 503."""
    try:
        return await run_in_threadpool(fn, *args)
    except (OperationalError, PoolTimeout):
        raise Refused(503, "the server database is unavailable; try again later") from None


async def current_caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Fieldkit signed request")] = None,
) -> Caller:
    """The device that signed this request."""
    service: SyncServer = request.app.state.sync
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return await in_thread(service.authenticate, request.method, path, authorization, body)


Authed = Annotated[Caller, Depends(current_caller)]


def create_app(engine: Engine | str | None = None) -> FastAPI:
    """The HTTP API over one database (OpenAPI at /docs)."""
    eng = engine if isinstance(engine, Engine) else open_database(engine)
    service = SyncServer(eng)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(warm_up)  # the signature-check helpers (sync/verify.py)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="fieldkit sync server",
        version="1",
        description="Stores, checks and forwards signed, end-to-end encrypted change-log ops "
        "between caseworkers' laptops. It cannot read case content.",
    )
    app.state.sync = service

    @app.get("/v1/hello", response_model=Hello)
    async def hello() -> Hello:
        """Server clock and keys (unauthenticated)."""
        return await in_thread(service.hello)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """For a load balancer: the process is up and its database answers."""
        await in_thread(service.healthy)
        return {"status": "ok"}

    @app.post("/v1/enroll", response_model=EnrollResponse, responses=REFUSALS)
    async def enroll(req: EnrollRequest) -> EnrollResponse:
        """Register a laptop's public keys with a one-time code."""
        return await in_thread(service.enroll, req)

    @app.post(
        "/v1/push",
        response_model=PushResponse,
        responses=REFUSALS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _inline_schema(PushRequest)}},
            }
        },
    )
    async def push(request: Request, who: Authed) -> Response:
        """A batch of the device's ops (`PushRequest`); idempotent by op_id; per-op result."""
        body = await request.body()
        return await in_thread(_push_json, service, who, body)

    @app.post("/v1/pull", response_model=PullResponse, responses=REFUSALS)
    async def pull(req: PullRequest, who: Authed) -> PullResponse:
        """Ops of the caller's cases after a cursor."""
        return await in_thread(service.pull, who, req)

    @app.get("/v1/keys", response_model=KeysResponse, responses=REFUSALS)
    async def keys(who: Authed, devices_since: int | None = None) -> KeysResponse:
        """Case-key envelopes and teams of the caller; device public keys (all, or those
        enrolled since `devices_since`)."""
        return await in_thread(service.keys, who, devices_since)

    @app.get("/v1/users/{name}", response_model=UserKey, responses=REFUSALS)
    async def user_key(name: str, who: Authed) -> UserKey:
        """A user's public key, to wrap a case key to them."""
        return await in_thread(service.user_key, who, name)

    @app.put("/v1/cases/{case_id}/team", response_model=TeamInfo, responses=REFUSALS)
    async def set_team(case_id: str, req: TeamRequest, who: Authed) -> TeamInfo:
        """Assign or reassign a case, with its key wrapped to the new team."""
        return await in_thread(service.set_team, who, case_id, req)

    from fieldkit.sync.attachment_routes import add_attachment_routes

    add_attachment_routes(app, service)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and server workers: the DB from FIELDKIT_SERVER_DB."""
    return create_app(server_url(os.environ.get("FIELDKIT_SERVER_DB")))


def serve(db: str | None, host: str, port: int, workers: int = 1) -> None:
    """Run the server: migrate once, then serve with uvicorn (several workers if asked)."""
    import uvicorn

    url = server_url(db)
    open_database(url).dispose()
    os.environ["FIELDKIT_SERVER_DB"] = url
    uvicorn.run(
        "fieldkit.sync.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
