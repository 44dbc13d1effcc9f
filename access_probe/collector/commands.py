"""`access-probe collector serve|migrate|token ...`: argparse wiring over the collector library.

`register(subparsers)` is called by the main CLI. FastAPI, SQLAlchemy and uvicorn are imported
inside the handlers, so `access-probe --version` stays fast. Handlers return an exit code and
raise `UsageError`/`ConfigError` for bad input (the CLI prints them and exits 2).

Schema policy: `serve` and `token` migrate an SQLite database themselves (the embedded store
manages itself); on PostgreSQL they refuse to start on an old schema and name `collector
migrate`, so that one deliberate step upgrades a shared production database.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from access_probe.errors import ServiceError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from access_probe.collector.councils import Councils

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,15}$")


def register(subparsers: Any) -> None:
    collector = subparsers.add_parser(
        "collector", help="the central collector (serve, migrate, tokens)",
        description="The central collector: receives results, measures controls, aggregates.")
    sub = collector.add_subparsers(dest="collector_command", metavar="COMMAND", required=True)
    _serve_parser(sub)
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    _db_option(migrate, creates=True)
    migrate.set_defaults(handler=_database_errors(cmd_migrate))
    maintain = sub.add_parser("maintain", help="make next month's partition, apply the retention")
    _db_option(maintain, creates=True)
    _retention_option(maintain)
    maintain.set_defaults(handler=_database_errors(cmd_maintain))
    _token_parsers(sub)
    _demo_parser(sub)


def _db_option(parser: argparse.ArgumentParser, *, creates: bool = False) -> None:
    parser.add_argument("--db", metavar="URL",
                        help="sqlite:///PATH or postgresql://... (default: SQLite in the user "
                             "data directory)")
    if not creates:
        parser.add_argument("--create-db", action="store_true",
                            help="create the SQLite file's folder when it does not exist "
                                 "(otherwise a mistyped path is an error)")


def _retention_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--retention-days", type=int, default=None, metavar="DAYS",
                        help="drop raw results measured longer ago than this (0: keep all; "
                             "default: ACCESS_PROBE_RETENTION_DAYS, else 0); counts are kept")


def _retention(args: argparse.Namespace) -> int:
    from access_probe.collector.settings import retention_from_env

    days = args.retention_days if args.retention_days is not None else retention_from_env()
    if days < 0:
        raise UsageError("--retention-days must not be negative")
    return int(days)


def _serve_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the collector's web service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080)
    _db_option(serve)
    serve.add_argument("--config", metavar="FILE", help="configuration for control measurements")
    serve.add_argument("--targets", metavar="FILE", help="the catalogue (default: packaged)")
    serve.add_argument("--control-allow", metavar="CIDR", action="append", default=[],
                       help="a network the control may measure although not globally "
                            "routable (test labs only; repeatable)")
    serve.add_argument("--catalogue-only", action="store_true",
                       help="the control measures catalogue hosts only")
    serve.add_argument("--k", type=int, default=3,
                       help="suppress aggregate rows from fewer organisations than this")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes (uvicorn workers); limits and the control "
                            "cache live in the database, so all workers and all replicas "
                            "on one database share them")
    serve.add_argument("--submit-per-minute", type=float, default=60.0,
                       help="submissions per token per minute (shared by all processes)")
    serve.add_argument("--submit-burst", type=int, default=30,
                       help="submissions a token may make at once before the rate applies")
    serve.add_argument("--control-per-minute", type=float, default=300.0,
                       help="control URLs measured per token per minute (shared)")
    serve.add_argument("--control-burst", type=int, default=200,
                       help="control URLs a token may have measured at once")
    serve.add_argument("--control-cache-seconds", type=float, default=60.0,
                       help="how long a control answer is served from the shared cache")
    serve.add_argument("--token-cache-seconds", type=float, default=5.0,
                       help="how long each process keeps a token's row: a revoked token is "
                            "refused by every process within this many seconds (0: at once)")
    serve.add_argument("--auth-failures-per-minute", type=float, default=10.0,
                       help="failed authentications per client address per minute before "
                            "the client is answered 429 (throttles token guessing)")
    serve.add_argument("--auth-failure-burst", type=int, default=20,
                       help="failed authentications a client may make at once")
    serve.add_argument("--warm-seconds", type=float, default=300.0,
                       help="seconds between rounds of the dashboard's cache warmer, which "
                            "asks the default views' questions ahead of visitors (0: off)")
    _retention_option(serve)
    serve.set_defaults(handler=_database_errors(cmd_serve))


def _demo_parser(sub: Any) -> None:
    demo = sub.add_parser(
        "demo-data", help="fill a database with a synthetic national picture (for trying "
                          "the dashboard and for benchmarks)",
        description="Fill a database with made-up results, marked as synthetic (agent "
                    "demo-data/1), through the same ingest path as submissions. Refuses a "
                    "database that holds results unless --append.")
    _db_option(demo)
    demo.add_argument("--councils", type=int, default=200, help="councils to sample")
    demo.add_argument("--days", type=int, default=14, help="days of hourly results, to now")
    demo.add_argument("--seed", type=int, default=1, help="same seed, same data")
    demo.add_argument("--append", action="store_true",
                      help="add to a database that already holds results")
    demo.set_defaults(handler=_database_errors(cmd_demo_data))


def _token_parsers(sub: Any) -> None:
    token = sub.add_parser("token", help="enrolment and administrator tokens")
    tsub = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create = tsub.add_parser("create", help="print a new token (shown once)")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--org", metavar="CODE", help="the organisation (GSS or 3-letter code)")
    who.add_argument("--admin", action="store_true", help="an administrator token")
    create.add_argument("--unlisted", action="store_true",
                        help="the code is knowingly not a council's (no note)")
    _db_option(create)
    create.set_defaults(handler=_database_errors(cmd_token_create))
    revoke = tsub.add_parser("revoke", help="revoke a token")
    revoke.add_argument("token", metavar="TOKEN_ID_OR_PREFIX",
                        help="the token's id (8 hex digits), or the token or its start")
    _db_option(revoke)
    revoke.set_defaults(handler=_database_errors(cmd_token_revoke))
    listing = tsub.add_parser("list", help="list tokens (ids and organisations, no secrets)")
    _db_option(listing)
    listing.set_defaults(handler=_database_errors(cmd_token_list))


# --- handlers ---------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from access_probe.collector.settings import ENV_VAR, Settings, parse_networks

    if args.workers < 1 or not 0 < args.port < 65536:
        raise UsageError("--workers must be at least 1 and --port between 1 and 65535")
    settings = Settings(
        db_url=_db_url(args), k=args.k,
        config=Path(args.config) if args.config else None,
        targets=Path(args.targets) if args.targets else None,
        control_allow=parse_networks(args.control_allow), catalogue_only=args.catalogue_only,
        submit_per_minute=args.submit_per_minute, submit_burst=args.submit_burst,
        control_per_minute=args.control_per_minute, control_burst=args.control_burst,
        control_cache_seconds=args.control_cache_seconds,
        token_cache_seconds=args.token_cache_seconds,
        auth_failures_per_minute=args.auth_failures_per_minute,
        auth_failure_burst=args.auth_failure_burst,
        dashboard_warm_seconds=args.warm_seconds, retention_days=_retention(args))
    _ready_engine(settings.db_url).dispose()
    # The caller's address is personal data: no access log, no proxy-header rewriting.
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": False,
                               "proxy_headers": False, "server_header": False}
    if args.workers == 1:
        from access_probe.collector.app import create_app

        uvicorn.run(create_app(settings), **options)
    else:
        os.environ[ENV_VAR] = settings.to_env()
        uvicorn.run("access_probe.collector.app:create_app_from_env", factory=True,
                    workers=args.workers, **options)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from access_probe.collector.store import migrate, partitions, repo
    from access_probe.schema import utc_now

    engine = repo.make_engine(_db_url(args))
    try:
        before = migrate.current(engine)
        migrate.upgrade(engine)
        partitions.create_ahead(engine, now=utc_now())
        _out(f"schema at {migrate.current(engine)} (was {before or 'empty'})")
    finally:
        engine.dispose()
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from access_probe.collector.store import partitions
    from access_probe.schema import utc_now

    engine = _ready_engine(_db_url(args))
    try:
        now = utc_now()
        partitions.create_ahead(engine, now=now)
        days = _retention(args)
        gone = partitions.retain(engine, days=days, now=now)
    finally:
        engine.dispose()
    what = ("partitions dropped" if engine.dialect.name == "postgresql" else "results deleted")
    _out(f"retention {days or 'off'}: {gone} {what}" if days else "retention off (0 days)")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from access_probe.collector import councils, tokens
    from access_probe.collector.store import repo
    from access_probe.collector.store.records import TokenRecord
    from access_probe.schema import utc_now

    org, label = (None, "administrator") if args.admin else _org(args.org, args.unlisted,
                                                                  councils.load())
    new = tokens.new_token()
    engine = _ready_engine(_db_url(args))
    try:
        repo.insert_token(engine, record=TokenRecord(
            id=new.id, secret_hash=new.secret_hash, org=org, admin=args.admin,
            created_at=utc_now(), revoked_at=None))
    finally:
        engine.dispose()
    _out(f"token {new.id} for {label}; it is shown once, store it now:")
    _out(new.token)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from access_probe.collector.store import repo
    from access_probe.schema import utc_now

    token_id = args.token[3:11] if args.token.startswith("ap_") else args.token
    engine = _ready_engine(_db_url(args))
    try:
        done = repo.revoke_token(engine, token_id=token_id, now=utc_now())
    finally:
        engine.dispose()
    if not done:
        raise UsageError(f"no live token with id {token_id!r}")
    _out(f"token {token_id} revoked")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from access_probe.collector.store import repo
    from access_probe.schema import iso

    engine = _ready_engine(_db_url(args))
    try:
        records = repo.list_tokens(engine)
    finally:
        engine.dispose()
    for r in records:
        state = f"revoked {iso(r.revoked_at)}" if r.revoked_at else "live"
        _out(f"{r.id}  {'admin' if r.admin else r.org}  created {iso(r.created_at)}  {state}")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    import time

    from access_probe.collector import councils, demo
    from access_probe.collector.store import repo

    if not 1 <= args.councils <= 1000 or not 1 <= args.days <= 400:
        raise UsageError("--councils must be 1 to 1000 and --days 1 to 400")
    engine = _ready_engine(_db_url(args))
    try:
        if not args.append and repo.count_results(engine):
            raise UsageError("the database already holds results; demo data goes into a "
                             "database of its own (or add --append)")
        started = time.monotonic()

        def progress(docs: int, accepted: int) -> None:
            rate = accepted / max(time.monotonic() - started, 1e-6)
            sys.stderr.write(f"\r{docs} checks, {accepted} results ({rate:.0f}/s)")

        counts = demo.load(engine, councils.load(), councils=args.councils, days=args.days,
                           seed=args.seed, progress=progress if sys.stderr.isatty() else None)
    finally:
        engine.dispose()
    _out(f"demo data ({demo.DEMO_AGENT}): {counts.councils} councils, {counts.sites} networks, "
         f"{counts.documents} checks, {counts.accepted} results stored "
         f"({counts.duplicates} already there) in {time.monotonic() - started:.0f} s")
    return 0


# --- helpers ----------------------------------------------------------------------------

def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _db_url(args: argparse.Namespace) -> str:
    """The database URL, validated. An SQLite file's folder is created for the default
    location, on `migrate` and with `--create-db`; for any other `--db` a missing folder is
    a typo, not a wish for a new empty database."""
    from access_probe.collector.settings import Settings, default_db_url

    given: str | None = args.db
    url = given or default_db_url()
    Settings(db_url=url)  # validates the URL, naming the option on error
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        creates = given is None or getattr(args, "create_db", True)
        if not folder.is_dir():
            if folder.exists():
                raise UsageError(f"--db {given}: {folder} is not a folder")
            if not creates:
                raise UsageError(f"--db {given}: the folder {folder} does not exist; check "
                                 "the path, or add --create-db (or run `access-probe collector "
                                 "migrate --db URL`) to create a new database there")
            folder.mkdir(parents=True, exist_ok=True)
    return url


def _database_errors(handler: Callable[[argparse.Namespace], int]
                     ) -> Callable[[argparse.Namespace], int]:
    """A database that cannot be reached is one clear line (exit 1), not a traceback."""
    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import DBAPIError

        try:
            return handler(args)
        except DBAPIError as exc:
            detail = str(exc.orig or exc).strip().splitlines()[0]
            raise ServiceError(f"database {_redacted(_shown_db(args))}: {detail}") from exc
    return run


def _shown_db(args: argparse.Namespace) -> str:
    from access_probe.collector.settings import default_db_url

    return str(args.db or default_db_url())


def _redacted(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as the scheme only
        return url.split(":", 1)[0] + ":..."


def _ready_engine(url: str) -> Engine:
    """An engine on a current schema: SQLite is migrated here, PostgreSQL must be already."""
    from access_probe.collector.store import migrate, repo

    engine = repo.make_engine(url)
    if migrate.is_current(engine):
        return engine
    if url.startswith("sqlite"):
        migrate.upgrade(engine)
        return engine
    engine.dispose()
    raise UsageError("the database schema is not current; run "
                     "`access-probe collector migrate --db URL` first")


def _org(code: str, unlisted: bool, known: Councils) -> tuple[str, str]:
    council = known.lookup(code)
    if council is not None:
        return council.code, f"{council.name} ({council.code})"
    given = code
    code = code.strip().upper()
    if not _CODE.match(code):
        hint = _named(known, given)
        raise UsageError(f"--org {given!r} is not an organisation code "
                         "(a GSS code such as E07000223, or 2-16 letters, digits and hyphens)"
                         + (f"; did you mean {hint}?" if hint else ""))
    if not unlisted:
        # A council's name typed for its code ("ADUR") looks like a code too: anything the
        # councils table does not know is refused unless the operator says it is meant.
        hint = _named(known, given)
        raise UsageError(f"--org {code} is not in the councils table"
                         + (f" (did you mean {hint}?)" if hint else "")
                         + "; add --unlisted to enrol an organisation that is not a council "
                         "(its results carry no council type, nation or region)")
    return code, code


def _named(known: Councils, text: str) -> str | None:
    """'Adur (E07000223)' when `text` is (the start of) exactly one council's name."""
    wanted = " ".join(text.lower().split())
    if len(wanted) < 3:
        return None
    matches = {c.code: c for c in known.by_code.values() if c.name.lower().startswith(wanted)}
    if len(matches) != 1:
        return None
    council = next(iter(matches.values()))
    return f"{council.name} ({council.code})"
