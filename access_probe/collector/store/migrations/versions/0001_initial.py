"""Initial schema: tokens, results, result_counts (the rollup).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_LABELS = ("network", "service", "category", "status", "layer", "method", "vendor")


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(8), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("org", sa.String(16), nullable=True),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("org", sa.String(16), nullable=False),
        sa.Column("council_type", sa.String(100)),
        sa.Column("nation", sa.String(32)),
        sa.Column("region", sa.String(100)),
        sa.Column("network", sa.String(100)),
        sa.Column("service", sa.String(100)),
        sa.Column("category", sa.String(100)),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("layer", sa.String(8)),
        sa.Column("method", sa.String(40)),
        sa.Column("vendor", sa.String(100)),
        sa.Column("blocking_category", sa.String(128)),
        sa.Column("interception_issuer", sa.String(256)),
        sa.Column("control_status", sa.String(32)),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON),
        sa.Column("agent", sa.String(100)),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_results"),
    )
    op.create_index("ix_results_day", "results", ["day"])
    op.create_table(
        "result_counts",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        sa.Column("org", sa.String(16), nullable=False),
        *(sa.Column(name, sa.String(100), nullable=False) for name in _LABELS),
        *(sa.Column(name, sa.String(100), nullable=False, server_default="")
          for name in ("council_type", "nation", "region")),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "hour", "org", *_LABELS, name="pk_result_counts"),
    )


def downgrade() -> None:
    op.drop_table("result_counts")
    op.drop_index("ix_results_day", table_name="results")
    op.drop_table("results")
    op.drop_table("tokens")
