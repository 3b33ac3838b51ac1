"""The first schema: users, devices, enroll codes, ops, rejections, teams, keys, nonces.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CURSOR = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("supervisor", sa.String(), nullable=True),
        sa.Column("box_pub", sa.LargeBinary(), nullable=True),
        sa.Column("box_sealed", sa.String(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(), primary_key=True),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("sign_pub", sa.LargeBinary(), nullable=False),
        sa.Column("box_pub", sa.LargeBinary(), nullable=False),
        sa.Column("enrolled_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_devices_user", "devices", ["user"])
    op.create_table(
        "enroll_codes",
        sa.Column("code_hash", sa.String(), primary_key=True),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=True),
        sa.Column("used_by", sa.String(), nullable=True),
    )
    op.create_table(
        "ops",
        sa.Column("cursor", CURSOR, primary_key=True, autoincrement=True),
        sa.Column("op_id", sa.String(), nullable=False, unique=True),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("sig", sa.LargeBinary(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("device_id", "seq", name="ops_device_seq"),
    )
    op.create_index("ops_case_cursor", "ops", ["case_id", "cursor"])
    op.create_table(
        "rejected_ops",
        sa.Column("op_id", sa.String(), primary_key=True),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_rejected_ops_device_id", "rejected_ops", ["device_id"])
    op.create_table(
        "case_team",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("user", sa.String(), primary_key=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("added_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_case_team_user", "case_team", ["user"])
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("recipient", sa.String(), primary_key=True),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("by_device", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "request_nonces",
        sa.Column("device_id", sa.String(), primary_key=True),
        sa.Column("nonce", sa.String(), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", CURSOR, primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "settings",
        "request_nonces",
        "case_keys",
        "case_team",
        "rejected_ops",
        "ops",
        "enroll_codes",
        "devices",
        "users",
    ):
        op.drop_table(table)
