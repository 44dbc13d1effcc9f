"""The hour-of-day rollup by service: hours_service (month, org, hour, network, service,
status), filled from the stored results, for the dashboard's hour view and the council
report's opening hours, which read the raw results before.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_KEYS = ("month", "org", "hour", "network", "service", "status")
_DERIVED = ("council_type", "nation", "region")
_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "month": sa.Date(), "hour": sa.SmallInteger(), "org": sa.String(16)}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "hours_service",
        *(sa.Column(k, _TYPES.get(k, sa.String(100)), nullable=False) for k in _KEYS),
        *(sa.Column(d, sa.String(100), nullable=False, server_default="") for d in _DERIVED),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS, name="pk_hours_service"),
    )
    month = "date_trunc('month', day)::date" if postgres else "strftime('%Y-%m-01', day)"
    exprs = [{"month": month, "hour": "hour", "org": "org"}.get(k, f"coalesce({k}, '')")
             for k in _KEYS]
    derived = ", ".join(f"max(coalesce({d}, ''))" for d in _DERIVED)
    op.execute(
        f"INSERT INTO hours_service ({', '.join(_KEYS)}, {', '.join(_DERIVED)}, count) "
        f"SELECT {', '.join(exprs)}, {derived}, count(*) FROM results "
        f"GROUP BY {', '.join(exprs)} ORDER BY {', '.join(exprs)}")


def downgrade() -> None:
    op.drop_table("hours_service")
