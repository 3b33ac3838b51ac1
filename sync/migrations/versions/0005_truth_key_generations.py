"""Case key generations: envelopes keyed by (case, key, recipient) with a generation, and
the cases whose key must be replaced (reassigned, or a team device revoked).

Every existing envelope becomes generation 0 of its case.

Revision ID: 0005_truth_key_generations
Revises: 0004_attachments
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_truth_key_generations"
down_revision = "0004_attachments"
branch_labels = None
depends_on = None

COPIED = "case_id, recipient, key_id, wrapped, by_device, created_ms"


def upgrade() -> None:
    op.create_table(
        "case_keys_gen",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("key_id", sa.String(), primary_key=True),
        sa.Column("recipient", sa.String(), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("by_device", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.execute(
        f"INSERT INTO case_keys_gen ({COPIED}, generation) SELECT {COPIED}, 0 FROM case_keys"
    )
    op.drop_table("case_keys")
    op.rename_table("case_keys_gen", "case_keys")
    op.create_table(
        "case_key_rotations",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("asked_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_key_rotations")
    op.create_table(
        "case_keys_old",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("recipient", sa.String(), primary_key=True),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("by_device", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    # Only the current generation survives a downgrade (the old schema holds one key).
    op.execute(
        f"INSERT INTO case_keys_old ({COPIED}) SELECT {COPIED} FROM case_keys k"
        " WHERE generation = (SELECT max(generation) FROM case_keys g"
        " WHERE g.case_id = k.case_id)"
    )
    op.drop_table("case_keys")
    op.rename_table("case_keys_old", "case_keys")
