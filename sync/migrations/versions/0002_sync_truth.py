"""Why an op was refused (and whether the cause can go away), and each sync's outcome.

Revision ids are names, not numbers, so migrations written on parallel branches do not
collide; each names the one it follows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_sync_truth"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejected_ops") as batch:
        batch.add_column(sa.Column("cause", sa.String(), nullable=True))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("wipe_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("wiped_ms", sa.BigInteger(), nullable=True))
    op.create_table(
        "sync_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("pushed", sa.Integer(), nullable=False),
        sa.Column("pulled", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("waiting_keys", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("app_version", sa.String(), nullable=False),
    )
    op.create_index("sync_reports_device_at", "sync_reports", ["device_id", "at_ms"])


def downgrade() -> None:
    op.drop_index("sync_reports_device_at", "sync_reports")
    op.drop_table("sync_reports")
    with op.batch_alter_table("rejected_ops") as batch:
        batch.drop_column("cause")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("wiped_ms")
        batch.drop_column("wipe_ms")
