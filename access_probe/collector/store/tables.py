"""Table definitions. A naming convention on the MetaData keeps constraint and index names
identical on SQLite and PostgreSQL, so migrations can name them.

`results` holds one row per result id. `result_counts` (hourly) and `result_counts_daily` are
the rollups the aggregate reads, maintained in the same transaction as each insert; their key
columns are never NULL (an absent value is stored as '') because NULLs would defeat the unique
key that the upsert relies on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

Code = sa.String(16)
Label = sa.String(100)

tokens = sa.Table(
    "tokens", metadata,
    sa.Column("id", sa.String(8), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("org", Code, nullable=True),  # None for an administrator token
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

results = sa.Table(
    "results", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("org", Code, nullable=False),
    sa.Column("council_type", Label),
    sa.Column("nation", sa.String(32)),
    sa.Column("region", Label),
    sa.Column("network", Label),
    sa.Column("service", Label),
    sa.Column("category", Label),
    sa.Column("target", sa.String(2048), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("layer", sa.String(8)),
    sa.Column("method", sa.String(40)),
    sa.Column("vendor", Label),
    sa.Column("blocking_category", sa.String(128)),
    sa.Column("interception_issuer", sa.String(256)),
    sa.Column("control_status", sa.String(32)),
    sa.Column("timings", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON),
    sa.Column("agent", Label),
    sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("hour", sa.SmallInteger, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
)

ROLLUP_KEYS = ("day", "hour", "org", "network", "service", "category", "status", "layer",
               "method", "vendor")
DAILY_KEYS = tuple(k for k in ROLLUP_KEYS if k != "hour")
DERIVED = ("council_type", "nation", "region")  # functions of org: carried, not keyed


def _rollup(name: str, keys: tuple[str, ...]) -> sa.Table:
    types: dict[str, sa.types.TypeEngine[Any]] = {"day": sa.Date(), "hour": sa.SmallInteger(),
                                                  "org": Code}
    return sa.Table(
        name, metadata,
        *(sa.Column(key, types.get(key, Label), primary_key=True) for key in keys),
        *(sa.Column(name, Label, nullable=False, server_default="") for name in DERIVED),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


# Hourly counts answer questions by hour of day; daily counts answer the rest and are the
# smaller table (an agent runs every hour, so a day folds about 24 cycles into one row).
result_counts = _rollup("result_counts", ROLLUP_KEYS)
result_counts_daily = _rollup("result_counts_daily", DAILY_KEYS)
ROLLUPS = ((result_counts, ROLLUP_KEYS), (result_counts_daily, DAILY_KEYS))

# --- state shared by every collector process (safety) --------------------------------------
# Rate-limit buckets and control answers live in the database, so N processes or machines on
# one database behave as one collector. Rows are transient: a bucket row is deleted once it is
# full again (nothing to remember), a cache row once it has expired.

rate_buckets = sa.Table(
    "rate_buckets", metadata,
    sa.Column("key", sa.String(80), primary_key=True),  # "<limit>:<token id or keyed hash>"
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("stamp", sa.Float, nullable=False),  # seconds since the epoch, last refill
    sa.Column("granted", sa.Boolean, nullable=False),  # the outcome of the last take
)

control_cache = sa.Table(
    "control_cache", metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # SHA-256 of the URL
    sa.Column("expires", sa.Float, nullable=False, index=True),  # seconds since the epoch
    sa.Column("answer", sa.Text, nullable=False),  # the JSON answer
)

collector_keys = sa.Table(
    "collector_keys", metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(64), nullable=False),  # hex; made once, shared by replicas
)
