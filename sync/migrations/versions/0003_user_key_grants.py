"""User keys reach a user's other laptops as device grants; the passphrase-sealed copy goes.

A stolen server database held each user's X25519 private key sealed under Argon2id of
their passphrase: an offline guess opened every case of the weakest passphrase. From this
revision a laptop of the same user wraps the key to a new laptop's device key
(`user_key_grants`), and `users.box_sealed` is emptied.

Revision ID: 0003_grants
Revises: 0002_sync_truth
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_grants"
down_revision = "0002_sync_truth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_key_grants",
        sa.Column("device_id", sa.String(), primary_key=True),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("by_device", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_user_key_grants_user", "user_key_grants", ["user"])
    # Devices enrolled before this revision already hold their user's key.
    op.execute(
        'INSERT INTO user_key_grants (device_id, "user", wrapped, by_device, created_ms) '
        "SELECT device_id, \"user\", X'', device_id, enrolled_ms FROM devices"
        if op.get_bind().dialect.name == "sqlite"
        else 'INSERT INTO user_key_grants (device_id, "user", wrapped, by_device, created_ms) '
        "SELECT device_id, \"user\", ''::bytea, device_id, enrolled_ms FROM devices"
    )
    op.execute("UPDATE users SET box_sealed = NULL")


def downgrade() -> None:
    op.drop_table("user_key_grants")
