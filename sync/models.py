"""The server's tables: people, devices, the op log it forwards, case teams and key envelopes.

The server never holds a key that opens case content: op bodies are case-key ciphertext
and case keys are wrapped to users' X25519 keys and the agency recovery key.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from fieldkit.changelog import GENESIS

# BIGINT on PostgreSQL; plain INTEGER PRIMARY KEY (the rowid) on SQLite.
CursorType = BigInteger().with_variant(Integer(), "sqlite")


class User(SQLModel, table=True):
    """A person (worker, supervisor, admin or auditor) with their X25519 public key once
    enrolled."""

    __tablename__ = "users"

    name: str = Field(primary_key=True, description="the user name on every device")
    role: str = Field(description="worker, supervisor, admin or auditor")
    supervisor: str | None = Field(default=None, description="a worker's supervisor")
    box_pub: bytes | None = Field(default=None, description="X25519 public key case keys wrap to")
    box_sealed: str | None = Field(
        default=None,
        description="unused since revision 0003 (was the private half sealed under the "
        "passphrase, which a stolen database could guess); always NULL",
    )
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class Device(SQLModel, table=True):
    """An enrolled laptop: its public keys and where its hash chain stands on the server."""

    __tablename__ = "devices"

    device_id: str = Field(primary_key=True)
    user: str = Field(index=True)
    sign_pub: bytes = Field(description="Ed25519: signs its ops and its requests")
    box_pub: bytes = Field(description="X25519 public key of the device")
    enrolled_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    revoked_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_seq: int = Field(default=0, description="the last chain position the server has seen")
    head_hash: str = Field(default=GENESIS, description="the hash at that position")
    last_seen_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    wipe_ms: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True),
        description="revoked with --wipe: at next contact it sends its work, then erases itself",
    )
    wiped_ms: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True),
        description="when the laptop said it had sent its work and was erasing itself",
    )


class EnrollCode(SQLModel, table=True):
    """A one-time, expiring enrollment code; only its SHA-256 is kept."""

    __tablename__ = "enroll_codes"

    code_hash: str = Field(primary_key=True)
    user: str
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    used_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    used_by: str | None = Field(default=None, description="the device that used it")


class ServerOp(SQLModel, table=True):
    """An accepted op, stored as the device signed it; `cursor` orders pulls."""

    __tablename__ = "ops"
    __table_args__ = (
        UniqueConstraint("device_id", "seq", name="ops_device_seq"),
        Index("ops_case_cursor", "case_id", "cursor"),
    )

    cursor: int | None = Field(
        default=None, sa_column=Column(CursorType, primary_key=True, autoincrement=True)
    )
    op_id: str = Field(unique=True)
    device_id: str
    seq: int
    hlc: str
    author: str
    case_id: str
    entity: str
    entity_id: str
    action: str
    key_id: str
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    prev_hash: str
    hash: str
    sig: bytes
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class RejectedOp(SQLModel, table=True):
    """An op the server refused: kept by position and reason, never its body."""

    __tablename__ = "rejected_ops"

    op_id: str = Field(primary_key=True)
    device_id: str = Field(index=True)
    seq: int
    hash: str
    reason: str
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    cause: str | None = Field(
        default=None, description="a `protocol.Cause`: whether the refusal can go away"
    )


class CaseMember(SQLModel, table=True):
    """One person on a case team; pulls and pushes are checked against it."""

    __tablename__ = "case_team"

    case_id: str = Field(primary_key=True)
    user: str = Field(primary_key=True, index=True)
    role: str = Field(description="worker or supervisor")
    added_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class CaseKeyEnvelope(SQLModel, table=True):
    """A case key wrapped to one recipient; the server cannot open it.

    A case has key generations: the newest is current (what new work is sealed with);
    older ones stay so their holders read older work.
    """

    __tablename__ = "case_keys"
    # Every sync fetches the caller's envelopes by recipient (migration 0006).
    __table_args__ = (Index("ix_case_keys_recipient", "recipient"),)

    case_id: str = Field(primary_key=True)
    key_id: str = Field(primary_key=True)
    recipient: str = Field(primary_key=True, description="a user name, or @recovery")
    generation: int = Field(default=0, description="0 for a case's first key, then +1")
    wrapped: bytes
    by_device: str
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class CaseKeyRotation(SQLModel, table=True):
    """A case whose key must be replaced before more work is sealed: it was reassigned, or
    a device of its team was revoked. Gone once a team laptop sends the next generation."""

    __tablename__ = "case_key_rotations"

    case_id: str = Field(primary_key=True)
    reason: str
    asked_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class UserKeyGrant(SQLModel, table=True):
    """The user's X25519 private key wrapped to one of their devices by another of them.

    A device that created the user key holds it from the start (`wrapped` empty). The
    server cannot open a grant: only that device's X25519 private key does.
    """

    __tablename__ = "user_key_grants"

    device_id: str = Field(primary_key=True)
    user: str = Field(index=True)
    wrapped: bytes
    by_device: str
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class RequestNonce(SQLModel, table=True):
    """Nonces of recent signed requests: a replay within the time window is refused."""

    __tablename__ = "request_nonces"

    device_id: str = Field(primary_key=True)
    nonce: str = Field(primary_key=True)
    ts_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class Setting(SQLModel, table=True):
    """Server-wide settings every process shares (receipt key, recovery public key)."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: str


class AuditEvent(SQLModel, table=True):
    """Who did what on the server: enrollments, revocations, team changes, refusals."""

    __tablename__ = "audit_log"

    id: int | None = Field(
        default=None, sa_column=Column(CursorType, primary_key=True, autoincrement=True)
    )
    at_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    actor: str
    action: str
    detail: str


class SyncReport(SQLModel, table=True):
    """What one sync of a device did: counts and timing only, never content."""

    __tablename__ = "sync_reports"
    __table_args__ = (Index("sync_reports_device_at", "device_id", "at_ms"),)

    id: int | None = Field(
        default=None, sa_column=Column(CursorType, primary_key=True, autoincrement=True)
    )
    device_id: str
    at_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    outcome: str = Field(description="ok, refused, waiting (the sync's exit, in words)")
    pushed: int
    pulled: int
    refused: int = Field(description="changes of this laptop the server holds refused")
    waiting: int = Field(description="changes still in the laptop's outbox")
    waiting_keys: int = Field(description="cases the laptop cannot open yet")
    duration_ms: int
    app_version: str


metadata = SQLModel.metadata


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# Typed handles for SQLAlchemy Core queries (the server reads and writes in bulk).
USERS = _table(User)
DEVICES = _table(Device)
ENROLL_CODES = _table(EnrollCode)
OPS = _table(ServerOp)
REJECTED_OPS = _table(RejectedOp)
CASE_TEAM = _table(CaseMember)
CASE_KEYS = _table(CaseKeyEnvelope)
CASE_KEY_ROTATIONS = _table(CaseKeyRotation)
REQUEST_NONCES = _table(RequestNonce)
SETTINGS = _table(Setting)
AUDIT_LOG = _table(AuditEvent)
SYNC_REPORTS = _table(SyncReport)
USER_KEY_GRANTS = _table(UserKeyGrant)


class AttachmentChunk(SQLModel, table=True):
    """A sealed attachment chunk (case-key ciphertext), named by the SHA-256 of its bytes."""

    __tablename__ = "attachment_chunks"

    case_id: str = Field(primary_key=True, description="the case whose team may read it")
    chunk_hash: str = Field(primary_key=True, description="SHA-256 of `data`, checked on upload")
    size: int = Field(description="bytes in `data`")
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    device_id: str = Field(description="the device that uploaded it first")
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


ATTACHMENT_CHUNKS = _table(AttachmentChunk)
