"""The national-scale store: `results` partitioned by month on PostgreSQL with `result_ids` as
the one unique index over all partitions (idempotent ingest), and the rollups redesigned as
counts_day/counts_month (every key but the hour, by day and by month) and hours_day/hours_month
(hour of day by organisation and status), rebuilt from the stored results. The old
rollups result_counts and result_counts_daily are dropped.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_DIMENSIONS = ("network", "service", "category", "status", "layer", "method", "vendor",
               "blocking_category", "interception")
_HOUR_DIMENSIONS = ("status",)
_DERIVED = ("council_type", "nation", "region")
_ROLLUPS = {
    "counts_day": ("day", "org", *_DIMENSIONS),
    "counts_month": ("month", "org", *_DIMENSIONS),
    "hours_day": ("day", "hour", "org", *_HOUR_DIMENSIONS),
    "hours_month": ("month", "hour", "org", *_HOUR_DIMENSIONS),
}
_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "day": sa.Date(), "month": sa.Date(), "hour": sa.SmallInteger(), "org": sa.String(16),
    "blocking_category": sa.String(128), "interception": sa.String(3)}
_COLUMNS = ("id", "org", "council_type", "nation", "region", "network", "service", "category",
            "target", "url", "status", "layer", "method", "vendor", "blocking_category",
            "interception_issuer", "control_status", "timings", "evidence", "agent",
            "measured_at", "day", "hour", "submitted_at")


def _result_columns() -> list[sa.Column[Any]]:
    return [
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
    ]


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    cols = ", ".join(_COLUMNS)
    # results: a new table (partitioned on PostgreSQL), the rows copied, the old one dropped
    if postgres:
        op.create_table("results_new", *_result_columns(),
                        postgresql_partition_by="RANGE (measured_at)")
        months = {m for (m,) in bind.execute(sa.text(
            "SELECT DISTINCT date_trunc('month', day)::date FROM results"))}
        this = datetime.now(UTC).date().replace(day=1)
        for month in sorted(months | {this, _next_month(this)}):
            op.execute(f"CREATE TABLE results_p{month:%Y%m} PARTITION OF results_new FOR VALUES"
                       f" FROM ('{month.isoformat()} 00:00:00+00')"
                       f" TO ('{_next_month(month).isoformat()} 00:00:00+00')")
    else:
        op.create_table("results_new", *_result_columns())
    op.execute(f"INSERT INTO results_new ({cols}) SELECT {cols} FROM results")
    op.create_table(
        "result_ids",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_result_ids"),
    )
    op.execute("INSERT INTO result_ids (id, day) SELECT id, day FROM results")
    op.drop_index("ix_results_day", table_name="results")
    op.drop_table("results")
    op.rename_table("results_new", "results")
    op.create_index("ix_results_measured_at", "results", ["measured_at", "id"])
    # the rollups, rebuilt from the results
    op.drop_table("result_counts_daily")
    op.drop_table("result_counts")
    month = ("date_trunc('month', day)::date" if postgres else "strftime('%Y-%m-01', day)")
    value = {"day": "day", "hour": "hour", "org": "org", "month": month,
             "interception": "CASE WHEN interception_issuer IS NULL THEN 'no' ELSE 'yes' END"}
    for name, keys in _ROLLUPS.items():
        op.create_table(
            name,
            *(sa.Column(k, _TYPES.get(k, sa.String(100)), nullable=False) for k in keys),
            *(sa.Column(d, sa.String(100), nullable=False, server_default="")
              for d in _DERIVED),
            sa.Column("count", sa.BigInteger, nullable=False),
            sa.PrimaryKeyConstraint(*keys, name=f"pk_{name}"),
        )
        if name == "counts_day":
            op.create_index("ix_counts_day_service", name, ["day", "service", "org"],
                            postgresql_include=["count"])
        exprs = [value.get(k, f"coalesce({k}, '')") for k in keys]
        op.execute(
            f"INSERT INTO {name} ({', '.join(keys)}, {', '.join(_DERIVED)}, count) "
            f"SELECT {', '.join(exprs)}, "
            f"{', '.join(f'max(coalesce({d}, {chr(39) * 2}))' for d in _DERIVED)}, count(*) "
            f"FROM results GROUP BY {', '.join(exprs)}")


def downgrade() -> None:
    raise NotImplementedError("0003 cannot be undone: restore the database from a backup")
