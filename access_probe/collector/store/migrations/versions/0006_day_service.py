"""The day x service rollup on PostgreSQL: day_service (day, service, status, shard) with the
results and distinct organisations, day_service_orgs (day, service, status, org) the set of
organisations behind them, both kept by statement-level triggers on counts_day and backfilled
from it. Nothing on SQLite, which keeps reading counts_day.

Why triggers: the ingest upserts counts_day once per batch (INSERT ... ON CONFLICT DO UPDATE,
which fires the INSERT triggers for the rows it inserted and the UPDATE triggers for those it
updated), and so does the rebuild; the triggers see exactly those rows (transition tables)
and keep these tables in step in the same transaction, whoever wrote counts_day.

- counts: day_service.count takes each statement's count delta (new rows' counts; updated
  rows' new minus old counts: the key of a counts_day row never changes).
- organisations: a counts_day row newly inserted may bring an organisation new to its
  (day, service, status); INSERT ... ON CONFLICT DO NOTHING RETURNING into day_service_orgs
  returns exactly those, and each adds one to day_service.orgs. A concurrent transaction
  inserting the same key waits for this one and then does nothing, so the count stays exact.
  An updated counts_day row brings no organisation: its insert already counted it.
- status '*' stands for any status, maintained alongside each row's own status, because an
  organisation in two statuses on a day is one organisation by (day, service).
- shard: hashtext(org) & 15 spreads one (day, service, status) over 16 rows so concurrent
  ingests from different councils do not queue on one row. Exactness does not depend on it:
  the organisation is counted once per key by day_service_orgs, whatever shard it lands in.

Keys are written in key order so concurrent transactions lock rows in one order.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SHARD = "(hashtext(org) & 15)::int2"

# both statuses of a row: its own and '*' (any status)
_BOTH = ("SELECT day, service, status, org, {count} AS count FROM {source} "
         "UNION ALL SELECT day, service, '*', org, {count} FROM {source}")

_INSERTED = f"""
CREATE FUNCTION day_service_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH keyed AS ({_BOTH.format(count="count", source="inserted")}),
    new_orgs AS (
        INSERT INTO day_service_orgs (day, service, status, org)
        SELECT DISTINCT day, service, status, org FROM keyed
        ORDER BY day, service, status, org
        ON CONFLICT DO NOTHING
        RETURNING day, service, status, org),
    changes AS (
        SELECT day, service, status, {_SHARD} AS shard, count, 0 AS orgs FROM keyed
        UNION ALL
        SELECT day, service, status, {_SHARD}, 0, 1 FROM new_orgs)
    INSERT INTO day_service (day, service, status, shard, count, orgs)
    SELECT day, service, status, shard, sum(count), sum(orgs) FROM changes
    GROUP BY day, service, status, shard ORDER BY day, service, status, shard
    ON CONFLICT (day, service, status, shard) DO UPDATE
    SET count = day_service.count + excluded.count, orgs = day_service.orgs + excluded.orgs;
    RETURN NULL;
END $$"""

_UPDATED = f"""
CREATE FUNCTION day_service_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changes AS ({_BOTH.format(count="count", source="updated")}
                     UNION ALL {_BOTH.format(count="-count", source="replaced")})
    INSERT INTO day_service (day, service, status, shard, count, orgs)
    SELECT day, service, status, {_SHARD} AS shard, sum(count), 0 FROM changes
    GROUP BY day, service, status, shard ORDER BY day, service, status, shard
    ON CONFLICT (day, service, status, shard) DO UPDATE
    SET count = day_service.count + excluded.count;
    RETURN NULL;
END $$"""

_TRIGGERS = (
    _INSERTED, _UPDATED,
    "CREATE TRIGGER day_service_on_insert AFTER INSERT ON counts_day "
    "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
    "EXECUTE FUNCTION day_service_counts_inserted()",
    "CREATE TRIGGER day_service_on_update AFTER UPDATE ON counts_day "
    "REFERENCING OLD TABLE AS replaced NEW TABLE AS updated FOR EACH STATEMENT "
    "EXECUTE FUNCTION day_service_counts_updated()",
)

_COUNTS_DAY = _BOTH.format(count="count", source="counts_day")
_BACKFILL = (
    "INSERT INTO day_service_orgs (day, service, status, org) "
    f"SELECT DISTINCT day, service, status, org FROM ({_COUNTS_DAY}) AS k "
    "ORDER BY day, service, status, org",
    "INSERT INTO day_service (day, service, status, shard, count, orgs) "
    f"SELECT day, service, status, {_SHARD}, sum(count), count(DISTINCT org) "
    f"FROM ({_COUNTS_DAY}) AS k "
    f"GROUP BY day, service, status, {_SHARD} ORDER BY day, service, status, {_SHARD}",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE day_service_orgs (day date NOT NULL, service varchar(100) NOT NULL, "
               "status varchar(16) NOT NULL, org varchar(16) NOT NULL, "
               "CONSTRAINT pk_day_service_orgs PRIMARY KEY (day, service, status, org))")
    op.execute("CREATE TABLE day_service (day date NOT NULL, service varchar(100) NOT NULL, "
               "status varchar(16) NOT NULL, shard smallint NOT NULL, count bigint NOT NULL, "
               "orgs bigint NOT NULL, "
               "CONSTRAINT pk_day_service PRIMARY KEY (day, service, status, shard))")
    # the lock the triggers take holds ingests back until this commits: none is missed
    for statement in (*_TRIGGERS, *_BACKFILL):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in ("DROP TRIGGER day_service_on_update ON counts_day",
                      "DROP TRIGGER day_service_on_insert ON counts_day",
                      "DROP FUNCTION day_service_counts_updated()",
                      "DROP FUNCTION day_service_counts_inserted()",
                      "DROP TABLE day_service", "DROP TABLE day_service_orgs"):
        op.execute(statement)
