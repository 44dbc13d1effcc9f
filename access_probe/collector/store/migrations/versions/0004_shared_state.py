"""State shared by collector replicas: rate-limit buckets, the control cache, and the key that
hashes client addresses for the authentication throttle.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("stamp", sa.Float, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_buckets"),
    )
    op.create_table(
        "control_cache",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_control_cache"),
    )
    op.create_index("ix_control_cache_expires", "control_cache", ["expires"])
    op.create_table(
        "collector_keys",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_collector_keys"),
    )


def downgrade() -> None:
    op.drop_table("collector_keys")
    op.drop_index("ix_control_cache_expires", table_name="control_cache")
    op.drop_table("control_cache")
    op.drop_table("rate_buckets")
