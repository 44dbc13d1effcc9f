"""The agent's commands for `access-probe` (interface.md section 1): run, tray, spool, report,
config. `cli.py` calls `register(subparsers)`; each handler returns an exit code. Heavy modules
are imported inside the handlers so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from access_probe.config import Config, LoadedConfig
    from access_probe.schema import CheckDocument

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _loaded(args: argparse.Namespace) -> LoadedConfig:
    from access_probe.config import load_config

    return load_config(Path(args.config) if args.config else None)


def _config(args: argparse.Namespace, *, log: bool = True) -> Config:
    config = _loaded(args).config
    if log:
        from access_probe.logsetup import setup_logging

        setup_logging(config.log_level)
    return config


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _summary(doc: CheckDocument | None) -> str:
    if doc is None:
        return "no check ran"
    counts: dict[str, int] = {}
    for r in doc.results:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return f"checked {len(doc.results)}: {parts}"


def cmd_run(args: argparse.Namespace) -> int:
    import threading

    from access_probe.agent.runtime import build_agent, install_stop_signals

    config = _config(args)
    agent = build_agent(config)
    try:
        if args.once:
            report = agent.run_cycle()
            if report.skipped:
                _out("another check is running; nothing done")
                return EXIT_OK
            flushed = report.flush
            sent = f"; delivered {flushed.delivered}" if flushed else "; no collector configured"
            _out(f"{_summary(report.document)}{sent}; pending {agent.spool.pending()}")
            return EXIT_OK
        stop = threading.Event()
        install_stop_signals(stop)
        agent.serve(stop)
        return EXIT_OK
    finally:
        agent.spool.close()


def cmd_tray(args: argparse.Namespace) -> int:
    from access_probe.agent.tray import main as tray_main

    return tray_main(_config(args))


def cmd_spool_status(args: argparse.Namespace) -> int:
    from access_probe.agent.runtime import open_spool

    with open_spool(_config(args, log=False)) as spool:
        status = spool.status().to_json()
    if args.json:
        _out(json.dumps(status))
    else:
        _out(f"pending: {status['pending']}\noldest: {status['oldest'] or '-'}\n"
             f"rejected: {status['rejected']}\nnext attempt: {status['next_attempt'] or 'now'}\n"
             f"spool: {status['path']}")
    return EXIT_OK


def cmd_spool_flush(args: argparse.Namespace) -> int:
    from access_probe.agent.runtime import make_submitter, open_spool

    config = _config(args)
    submitter = make_submitter(config)
    if submitter is None:
        from access_probe.errors import UsageError

        raise UsageError("collector.url is not set: there is nowhere to send the spool")
    from access_probe.agent.submit import flush

    with open_spool(config) as spool:
        if args.retry_rejected:
            spool.requeue_rejected()
        report = flush(spool, submitter, force=True)
        pending = spool.pending()
    submitter.close()
    _out(f"delivered {report.delivered} ({report.duplicates} already stored), "
         f"rejected {report.rejected}, pending {pending}"
         + (f"; stopped: {report.error}" if report.error else ""))
    return EXIT_OK if report.error is None else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    from access_probe.agent.runtime import catalogue_names, open_history
    from access_probe.errors import UsageError
    from access_probe.report import write_reports

    config = _config(args, log=False)
    history = open_history(config).load(limit=30)
    if not history:
        raise UsageError("no results yet: run `access-probe check` or `access-probe run --once`")
    out = Path(args.out) if args.out else Path("reports")
    files = write_reports(out, history[-1], history, names=catalogue_names(config))
    _out(f"wrote {files.html}")
    if args.open:
        import webbrowser

        webbrowser.open(files.html.resolve().as_uri())
    return EXIT_OK


def cmd_config_show(args: argparse.Namespace) -> int:
    from access_probe.config import describe

    rows = describe(_loaded(args))
    kw = max(len(k) for k, _, _ in rows)
    vw = max(len(v) for _, v, _ in rows)
    for key, value, source in rows:
        _out(f"{key:<{kw}}  {value:<{vw}}  # {source}")
    return EXIT_OK


def _with_config(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--config", metavar="FILE", help="configuration file (YAML)")
    return parser


def register(subparsers: Any) -> None:
    """Add run, tray, spool, report and config to the `access-probe` command."""
    run = _with_config(subparsers.add_parser(
        "run", help="the headless agent: probe on a schedule, submit, spool"))
    run.add_argument("--once", action="store_true",
                     help="one cycle (probe, submit or spool, flush), then exit")
    run.set_defaults(handler=cmd_run)

    tray = _with_config(subparsers.add_parser("tray", help="the agent with a system-tray icon"))
    tray.set_defaults(handler=cmd_tray)

    spool = subparsers.add_parser("spool", help="results waiting to be submitted")
    spool_sub = spool.add_subparsers(dest="spool_command", metavar="ACTION")
    spool_sub.required = True
    status = _with_config(spool_sub.add_parser("status", help="what is waiting"))
    status.add_argument("--json", action="store_true", help='{"pending": N, "oldest": ...}')
    status.set_defaults(handler=cmd_spool_status)
    flush = _with_config(spool_sub.add_parser("flush", help="try to submit it now"))
    flush.add_argument("--retry-rejected", action="store_true",
                       help="offer results the collector rejected once more")
    flush.set_defaults(handler=cmd_spool_flush)

    report = _with_config(subparsers.add_parser(
        "report", help="write the local report (HTML, JSON, CSV) of the latest results"))
    report.add_argument("--open", action="store_true", help="open it in the browser")
    report.add_argument("--out", metavar="DIR", help="directory (default: reports/)")
    report.set_defaults(handler=cmd_report)

    config = subparsers.add_parser("config", help="the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    config_sub.required = True
    show = _with_config(config_sub.add_parser(
        "show", help="print every key, its value and where it came from"))
    show.set_defaults(handler=cmd_config_show)
