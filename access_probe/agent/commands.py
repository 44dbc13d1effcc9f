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
    agent = build_agent(config, isolated=True)
    try:
        if args.once:
            report = agent.run_cycle()
            if report.skipped:
                _out("another check is running; nothing done")
                return EXIT_OK
            flushed = report.flush
            sent = f"; delivered {flushed.delivered}" if flushed else "; no collector configured"
            _out(f"{_summary(report.document)}{sent}; pending {agent.spool.pending()}")
            _warnings(report.document)
            if flushed is not None and flushed.error:
                _err(f"last delivery error: {flushed.error}")
            return EXIT_OK
        _out(_start_line(config, agent))
        stop = threading.Event()
        install_stop_signals(stop)
        agent.serve(stop)
        return EXIT_OK
    finally:
        agent.spool.close()


def _err(text: str) -> None:
    sys.stderr.write(f"access-probe: {text}\n")


def _warnings(doc: CheckDocument | None) -> None:
    for warning in doc.warnings if doc is not None else ():
        _err(f"warning: {warning}")


def _start_line(config: Config, agent: Any) -> str:
    """What `run` says once at start: a service that prints nothing looks hung."""
    from access_probe.logsetup import LOG_FILE, default_log_dir

    where = config.collector.url or "no collector (results stay in the local spool)"
    last = agent.spool.last_error()
    line = (f"access-probe agent started: a check every {config.schedule.every_minutes:g} min"
            f" (jitter up to {config.schedule.jitter_minutes:g} min), first within "
            f"{agent.plan.first_delay_text()}; sending to {where}; "
            f"{agent.spool.pending()} pending; log {default_log_dir() / LOG_FILE}")
    return line + (f"\nlast delivery error: {last}" if last else "")


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
             f"last delivery error: {status['last_error'] or '-'}\n"
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
    if report.rejected:
        _err(f"{report.rejected} results were rejected by the collector; `spool flush "
             "--retry-rejected` offers them again, the log names the reason")
    return EXIT_OK if report.error is None else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    from access_probe.agent.runtime import catalogue_names, open_history
    from access_probe.errors import UsageError
    from access_probe.report import write_reports

    config = _config(args, log=False)
    out = _report_dir(args.out)
    history = open_history(config).load(limit=30)
    if not history:
        raise UsageError("no results yet: run `access-probe check` or `access-probe run --once`")
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = write_reports(out, history[-1], history, names=catalogue_names(config))
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the report there "
                         f"({exc.strerror or type(exc).__name__})") from exc
    written = [files.html, files.json, files.csv] + ([files.unblock] if files.unblock else [])
    _out("wrote " + ", ".join(str(p) for p in written))
    if args.open:
        import webbrowser

        if not webbrowser.open(files.html.resolve().as_uri()):
            _err(f"no web browser could be started here; open {files.html.resolve()} yourself")
            return EXIT_FAILED
    return EXIT_OK


def _report_dir(given: str | None) -> Path:
    """The report directory, refused early when it cannot be one (a file is in the way, a
    parent that cannot be created or written)."""
    import os

    from access_probe.errors import UsageError

    out = Path(given) if given else Path("reports")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a directory")
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):  # root passes this; mkdir tells later
        raise UsageError(f"--out {out}: {existing} is not writable")
    return out


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
