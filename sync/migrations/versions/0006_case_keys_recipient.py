"""An index on case-key envelopes by recipient: every sync asks for the caller's
envelopes, which the primary key (case, key, recipient) cannot find without reading the
whole table (78,000 rows in a 3,000-laptop agency; see docs/server.md).

Revision ID: 0006_case_keys_recipient
Revises: 0005_truth_key_generations
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006_case_keys_recipient"
down_revision = "0005_truth_key_generations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_keys_recipient", "case_keys", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_case_keys_recipient", table_name="case_keys")
