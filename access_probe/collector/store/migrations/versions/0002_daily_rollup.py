"""Daily rollup: result_counts_daily, filled from the hourly rollup.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KEYS = ("day", "org", "network", "service", "category", "status", "layer", "method", "vendor")
_DERIVED = ("council_type", "nation", "region")


def upgrade() -> None:
    types: dict[str, sa.types.TypeEngine[Any]] = {"day": sa.Date(), "org": sa.String(16)}
    op.create_table(
        "result_counts_daily",
        *(sa.Column(key, types.get(key, sa.String(100)), nullable=False) for key in _KEYS),
        *(sa.Column(name, sa.String(100), nullable=False, server_default="")
          for name in _DERIVED),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS, name="pk_result_counts_daily"),
    )
    hourly = sa.table("result_counts", *(sa.column(c) for c in (*_KEYS, *_DERIVED, "count")))
    daily = sa.table("result_counts_daily",
                     *(sa.column(c) for c in (*_KEYS, *_DERIVED, "count")))
    keys = [hourly.c[k] for k in _KEYS]
    op.execute(daily.insert().from_select(
        [*_KEYS, *_DERIVED, "count"],
        sa.select(*keys, *(sa.func.max(hourly.c[d]) for d in _DERIVED),
                  sa.func.sum(hourly.c["count"])).group_by(*keys)))


def downgrade() -> None:
    op.drop_table("result_counts_daily")
