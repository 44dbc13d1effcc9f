"""Table definitions. A naming convention on the MetaData keeps constraint and index names
identical on SQLite and PostgreSQL, so migrations can name them.

`results` holds one row per stored result. On PostgreSQL it is partitioned by month of
`measured_at` (declarative RANGE partitioning, partitions `results_pYYYYMM` made on demand by
the ingest and dropped whole by the retention), so it has no primary key of its own:
`result_ids` is the one unique index over all partitions that makes ingest idempotent (a result
id is stored once however often it is submitted, and counted once in the rollups).

The rollups the aggregate reads are maintained in the same transaction as each insert, one
set-based upsert per rollup per batch. Their key columns are never NULL (an absent value is
stored as '') because NULLs would defeat the unique key that the upsert relies on. Two families,
each at two grains:

- `counts_day` / `counts_month`: every aggregate key except the hour, by day and by month. The
  monthly table answers whole months (and questions with no period at all) from a table some
  30x smaller than the daily one; the aggregate adds the daily rows for the partial months at
  the edges of a period.
- `hours_day` / `hours_month`: the hour of day by organisation and status only, so questions
  by hour stay small too.
- `hours_service` (migration 0005): the hour of day by month, organisation, network, service and
  status, for the dashboard's hour-of-day view and the council report's opening hours. Monthly
  only (a daily grain would be as large as the results: an agent measures each service once an
  hour), so it answers periods of whole months; any other hour question naming a key beyond
  these reads the raw results.

council_type, nation and region are functions of the organisation: carried, not keyed.
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

RESULT_COLUMNS = ("id", "org", "council_type", "nation", "region", "network", "service",
                  "category", "target", "url", "status", "layer", "method", "vendor",
                  "blocking_category", "interception_issuer", "control_status", "timings",
                  "evidence", "agent", "measured_at", "day", "hour", "submitted_at")

results = sa.Table(
    "results", metadata,
    sa.Column("id", sa.Uuid, nullable=False),
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
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("hour", sa.SmallInteger, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    # the raw export's ORDER BY, and the partition key first: the export streams from it
    sa.Index("ix_results_measured_at", "measured_at", "id"),
    postgresql_partition_by="RANGE (measured_at)",
)

result_ids = sa.Table(
    "result_ids", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("day", sa.Date, nullable=False),  # for the retention, which forgets old ids too
)

DIMENSIONS = ("network", "service", "category", "status", "layer", "method", "vendor",
              "blocking_category", "interception")
HOUR_DIMENSIONS = ("status",)
DERIVED = ("council_type", "nation", "region")  # functions of org: carried, not keyed


def _rollup(name: str, keys: tuple[str, ...]) -> sa.Table:
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "day": sa.Date(), "month": sa.Date(), "hour": sa.SmallInteger(), "org": Code,
        "blocking_category": sa.String(128), "interception": sa.String(3)}
    return sa.Table(
        name, metadata,
        *(sa.Column(key, types.get(key, Label), primary_key=True) for key in keys),
        *(sa.Column(name, Label, nullable=False, server_default="") for name in DERIVED),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


DAY_KEYS = ("day", "org", *DIMENSIONS)
MONTH_KEYS = ("month", "org", *DIMENSIONS)
HOUR_DAY_KEYS = ("day", "hour", "org", *HOUR_DIMENSIONS)
HOUR_MONTH_KEYS = ("month", "hour", "org", *HOUR_DIMENSIONS)
# the organisation right after the month: a council's report reads its own rows as one range
HOUR_SERVICE_KEYS = ("month", "org", "hour", "network", "service", "status")

counts_day = _rollup("counts_day", DAY_KEYS)
# "day x service over a period" (the dashboard's trend): an index-only scan in (day, service,
# org) order feeds both aggregation levels already sorted, no hashing (3x faster at 10M)
sa.Index("ix_counts_day_service", counts_day.c.day, counts_day.c.service, counts_day.c.org,
         postgresql_include=["count"])
counts_month = _rollup("counts_month", MONTH_KEYS)
hours_day = _rollup("hours_day", HOUR_DAY_KEYS)
hours_month = _rollup("hours_month", HOUR_MONTH_KEYS)
hours_service = _rollup("hours_service", HOUR_SERVICE_KEYS)
ROLLUPS = ((counts_day, DAY_KEYS), (counts_month, MONTH_KEYS), (hours_day, HOUR_DAY_KEYS),
           (hours_month, HOUR_MONTH_KEYS), (hours_service, HOUR_SERVICE_KEYS))


# --- the day x service rollup (PostgreSQL only, migration 0006) ----------------------------
# The dashboard's trend (day x service over four weeks) read ~758k counts_day rows at national
# size. These two tables answer it from ~28 x 26 x 4 x 16 rows. They are maintained by triggers
# on counts_day (see the migration), not by the ingest, and exist on PostgreSQL only: SQLite,
# the small embedded store, keeps reading counts_day. Their own MetaData, so a schema
# comparison takes them on PostgreSQL only.
#
# `status` is a result's status or ANY_STATUS: an organisation measured in two statuses on a
# day counts once in (day, service) but once in each status, so "any status" is its own key.

postgres_metadata = sa.MetaData(naming_convention=NAMING)
ANY_STATUS = "*"
DAY_SERVICE_SHARDS = 16

# The organisations seen per (day, service, status): a row newly inserted is a new
# organisation for that key, which is how day_service.orgs stays an exact distinct count.
day_service_orgs = sa.Table(
    "day_service_orgs", postgres_metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("service", Label, primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("org", Code, primary_key=True),
)

# Results and distinct organisations per (day, service, status), split by a hash of the
# organisation into DAY_SERVICE_SHARDS rows: concurrent ingests from different councils update
# different rows of today instead of queueing on one row lock each until they commit. An
# organisation is counted once per key in day_service_orgs, in whichever shard its first
# insert went to, so the sum of `orgs` over the shards is exact.
day_service = sa.Table(
    "day_service", postgres_metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("service", Label, primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("shard", sa.SmallInteger, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("orgs", sa.BigInteger, nullable=False),
)
DAY_SERVICE_KEYS = ("day", "service", "status")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """For schema comparisons: the monthly partitions of `results` are made at run time and
    are not in this metadata (they are `results` itself)."""
    return not (type_ == "table" and name is not None and name.startswith("results_p"))

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
